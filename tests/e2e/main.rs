//! End-to-end tests, in one binary (one link for all of them).

mod analytics;
mod architecture;
mod cli;
mod commerce;
mod common;
mod experiments;
mod hardening;
mod http;
mod interactions;
mod kafka;
mod kafka_crash;
mod kafka_support;
mod languages;
mod openapi;
mod operations;
mod payments;
mod recommendations;
mod security;
mod settings;
