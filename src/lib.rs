//! The `vitrine` binary's library: the command line ([`cli`], [`config`], [`commands`]), the HTTP
//! API ([`http`]), search analytics ([`analytics`]), the interaction log's budgets and writer
//! ([`interactions`]) and the outbox relay to Kafka ([`outbox_relay`]) — the wiring between the engine crates (`vitrine-indexer`, `-query`,
//! `-recommender`, `-pipelines`, `-commerce`, `-eval`), which hold the logic.
//!
//! [`app`] builds the whole HTTP service; the end-to-end tests drive it without a socket.

pub mod access;
pub mod aliases;
pub mod analytics;
pub mod cli;
pub mod commands;
pub mod config;
pub mod experiments;
pub mod http;
pub mod interactions;
pub mod outbox_relay;
pub mod snapshots;

pub use http::{AppState, app};
