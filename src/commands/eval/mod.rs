//! `vitrine eval …`: offline evaluation from the command line, one module per subcommand.

pub(super) mod recs;
pub(super) mod search;
