//! The `throughline` binary as a library: configuration, wiring and subcommands, so tests can
//! start a real server in-process on port 0.

pub mod app;
pub mod backup;
pub mod bench;
pub mod cli;
pub mod config;
pub mod demo;
pub mod email;
pub mod profile;
pub mod serve;

pub use app::App;
pub use config::{Config, Settings};
