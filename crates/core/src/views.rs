//! Chatwoot-compatible JSON views (filled in with the HTTP layer).
