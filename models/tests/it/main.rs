//! The integration tests of `vitrine-models`, one test binary.

mod settings;
