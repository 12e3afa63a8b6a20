//! Request extractors: authentication and tenancy, JSON, path and query, all answering with
//! the API's own errors.

pub mod auth;
pub mod json;
pub mod path;

pub use auth::{AccountCtx, Caller, PlatformApp, Principal};
pub use json::Json;
pub use path::{Path, PeerAddr, Query};
