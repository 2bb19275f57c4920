//! End-to-end tests, in one binary (one link for all of them).

mod http;
mod kafka;
