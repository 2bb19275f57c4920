//! The `vitrine` binary's library: the command line, the HTTP API and the wiring between the
//! engine crates (`vitrine-indexer`, `vitrine-pipelines`, ...).
//!
//! [`app`] builds the whole HTTP service; the end-to-end tests drive it without a socket.

pub mod analytics;
pub mod commands;
pub mod config;
pub mod http;
pub mod outbox_relay;
pub mod recommendations;

pub use http::{AppState, app};
