//! The integration tests of `vitrine-indexer`, one test binary.

mod decoders;
