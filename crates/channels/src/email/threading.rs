//! Thread keys: what a received email offers to find its conversation.
//!
//! This module only *extracts* keys; the store does the lookups, in this order, and stops at the
//! first hit:
//!
//! 1. **Reply token** — we send every conversation's mail with `Reply-To:
//!    reply+<token>@<inbox domain>`, so a customer's reply carries the token in `To`/`Cc` (or
//!    `Delivered-To` after forwarding). It survives clients that drop threading headers and
//!    cannot be guessed across conversations.
//! 2. **`In-Reply-To`, then `References` (newest first)** — matched against the Message-IDs we
//!    sent or received. `In-Reply-To` names the direct parent, so it is the most precise;
//!    later references are closer relatives than the thread root.
//! 3. **Normalised subject** — only against a *recent open* conversation of the *same contact*:
//!    subjects like "Pedido" or "Help" repeat across customers, and merging two customers'
//!    mail is worse than opening a new conversation.
//! 4. Otherwise a new conversation.
//!
//! Whatever matched, the store must still check that the conversation belongs to the sender's
//! contact before attaching; a leaked Message-ID must not let one customer write into
//! another's conversation.

use crate::email::parse::InboundEmail;

/// The local-part prefix of per-conversation reply addresses.
pub use throughline_core::email::REPLY_PREFIX;

/// Everything the store needs to place an inbound email, in precedence order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThreadKeys {
    /// Tokens from `reply+<token>@<inbox domain>` recipients, in header order, deduplicated.
    pub reply_tokens: Vec<String>,
    /// `In-Reply-To` ids first, then `References` newest first; deduplicated and without the
    /// message's own id.
    pub referenced_ids: Vec<String>,
    /// [`normalize_subject`] of the subject (empty when there is none).
    pub normalized_subject: String,
}

/// The token of a per-conversation reply address, or `None` when `address` is not one.
///
/// Accepts a bare address or one in angle brackets. The domain must be the inbox's (case does
/// not matter), so a customer's own `reply+x@elsewhere` address is never taken for ours. The
/// token is returned as written; since [`crate::email::parse`] lower-cases addresses, tokens should be
/// generated lower-case (MTAs are allowed to fold local parts).
pub fn reply_token(address: &str, inbox_domain: &str) -> Option<String> {
    let address = crate::email::strip_angle_brackets(address);
    let (local, domain) = address.rsplit_once('@')?;
    let inbox_domain = inbox_domain.trim().trim_start_matches('@');
    if inbox_domain.is_empty() || !domain.trim().eq_ignore_ascii_case(inbox_domain) {
        return None;
    }
    let prefix = local.get(..REPLY_PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(REPLY_PREFIX) {
        return None;
    }
    let token = local.get(REPLY_PREFIX.len()..)?;
    let valid = !token.is_empty()
        && token.len() <= 128
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    valid.then(|| token.to_owned())
}

/// Reply and forward prefixes, compared case-insensitively. Besides English (`Re`, `Fwd`,
/// `Fw`): Portuguese (`Res`, `Enc`, `Rv`), Polish (`Odp`, `PD`), German (`AW`, `WG`),
/// Scandinavian (`SV`, `VS`), French (`TR`) and Dutch (`Antw`).
const SUBJECT_PREFIXES: &[&str] = &[
    "re", "fwd", "fw", "enc", "res", "odp", "pd", "wg", "aw", "sv", "vs", "tr", "rv", "antw",
];

/// The subject with reply/forward prefixes removed and whitespace collapsed, for comparing a
/// reply with the conversation it answers.
///
/// Prefixes are stripped repeatedly ("RE: Fwd: Res: x" → "x"), including counters such as
/// `Re[2]:` or `Re(3):` and a space before the colon ("Re : x", as French clients write).
/// Bracketed tags such as `[Ticket #12]` are kept: they are part of what people typed and
/// distinguish conversations. Case is kept too; the store may fold it when comparing.
pub fn normalize_subject(subject: &str) -> String {
    let mut rest = subject.trim_start();
    while let Some(stripped) = strip_prefix(rest) {
        rest = stripped.trim_start();
    }
    rest.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Removes one leading prefix (`Re:`, `Re[2]:`, `Fwd :` …) from `s`, if there is one.
fn strip_prefix(s: &str) -> Option<&str> {
    let word_len = s
        .char_indices()
        .find(|&(_, c)| !c.is_ascii_alphabetic())
        .map_or(s.len(), |(i, _)| i);
    let word = &s[..word_len];
    if !SUBJECT_PREFIXES
        .iter()
        .any(|p| p.eq_ignore_ascii_case(word))
    {
        return None;
    }
    let mut rest = &s[word_len..];
    if let Some(counter) = strip_counter(rest) {
        rest = counter;
    }
    let rest = rest.trim_start();
    rest.strip_prefix(':').or_else(|| rest.strip_prefix('：'))
}

/// Strips a reply counter such as `[2]` or `(3)` directly after a prefix word.
fn strip_counter(s: &str) -> Option<&str> {
    let close = match s.chars().next()? {
        '[' => ']',
        '(' => ')',
        _ => return None,
    };
    let inner = &s[1..];
    let end = inner.find(close)?;
    let digits = &inner[..end];
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
        .then(|| &inner[end + close.len_utf8()..])
}

/// Extracts the thread keys of `email` for an inbox whose reply addresses live at
/// `inbox_domain`. Envelope recipients the caller knows from SMTP can be checked with
/// [`reply_token`] too.
pub fn thread_keys(email: &InboundEmail, inbox_domain: &str) -> ThreadKeys {
    let mut reply_tokens: Vec<String> = Vec::new();
    let recipients = email
        .to
        .iter()
        .chain(&email.cc)
        .map(|m| m.address.as_str())
        .chain(email.delivered_to.iter().map(String::as_str));
    for address in recipients {
        if let Some(token) = reply_token(address, inbox_domain)
            && !reply_tokens.contains(&token)
        {
            reply_tokens.push(token);
        }
    }

    let own_id = email.message_id.as_deref();
    let mut referenced_ids: Vec<String> = Vec::new();
    for id in email
        .in_reply_to
        .iter()
        .chain(email.references.iter().rev())
    {
        if Some(id.as_str()) != own_id && !referenced_ids.contains(id) {
            referenced_ids.push(id.clone());
        }
    }

    ThreadKeys {
        reply_tokens,
        referenced_ids,
        normalized_subject: email
            .subject
            .as_deref()
            .map(normalize_subject)
            .unwrap_or_default(),
    }
}
