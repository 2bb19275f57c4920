//! Helpers shared by the end-to-end tests: finding the real services the test command started.
//!
//! The policy for services: a test that needs one asks here. When the service is not configured,
//! the test is skipped **loudly** on a developer's machine and **fails** under `CI=true`, so CI
//! never passes by skipping.

/// The environment variable naming the Kafka-protocol broker the test command started.
pub const KAFKA_BROKERS_VAR: &str = "VITRINE_TEST_KAFKA_BROKERS";

/// True when running under CI (`CI=true`).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true" || value == "1")
}

/// The bootstrap servers of the real broker, or `None` (after printing why) when a local run
/// has none. Panics under CI when the broker is missing.
pub fn kafka_brokers(test: &str) -> Option<String> {
    match std::env::var(KAFKA_BROKERS_VAR) {
        Ok(brokers) if !brokers.trim().is_empty() => Some(brokers),
        _ if under_ci() => panic!(
            "{test}: {KAFKA_BROKERS_VAR} is not set under CI=true; run the tests with scripts/test, which starts tansu"
        ),
        _ => {
            eprintln!(
                "SKIPPED {test}: no Kafka broker ({KAFKA_BROKERS_VAR} unset); scripts/test starts one and runs this test"
            );
            None
        }
    }
}

/// The environment variable naming the `vitrine` binary the process tests run.
pub const VITRINE_BIN_VAR: &str = "VITRINE_BIN";

/// The `vitrine` binary to run: `VITRINE_BIN`, else `vitrine` beside the test's own `deps/`
/// folder (what `cargo build --bin vitrine` leaves in the same target directory), or `None`
/// (after printing why) when a local run has neither. Panics under CI when it is missing, and
/// whenever `VITRINE_BIN` names a file that does not exist.
pub fn vitrine_bin(test: &str) -> Option<std::path::PathBuf> {
    if let Ok(named) = std::env::var(VITRINE_BIN_VAR)
        && !named.trim().is_empty()
    {
        let path = std::path::PathBuf::from(named);
        assert!(path.is_file(), "{test}: {VITRINE_BIN_VAR}={} does not exist; build it first", path.display());
        return Some(path);
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|target| target.join("vitrine")))
        .filter(|path| path.is_file());
    match beside {
        Some(path) => Some(path),
        None if under_ci() => panic!(
            "{test}: {VITRINE_BIN_VAR} is not set under CI=true and no built binary was found; run the tests with \
             scripts/test, which builds it"
        ),
        None => {
            eprintln!(
                "SKIPPED {test}: no vitrine binary ({VITRINE_BIN_VAR} unset; run `cargo build --bin vitrine` or \
                 scripts/test)"
            );
            None
        }
    }
}

/// A topic name no other test run uses.
pub fn unique_topic(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos}", std::process::id())
}
