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

/// A topic name no other test run uses.
pub fn unique_topic(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos}", std::process::id())
}
