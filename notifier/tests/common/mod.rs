//! Shared helpers of the notifier's integration tests over Kafka and ClickHouse.

#![allow(dead_code)]

/// Kafka and ClickHouse addresses, or `None` (test skipped) when they are not configured and
/// not required. Panics when `CLOUDSAGE_REQUIRE_SERVICES=1` and they are missing.
pub fn services() -> Option<(String, String)> {
    let kafka = std::env::var("CLOUDSAGE_KAFKA__BROKERS").ok();
    let clickhouse = std::env::var("CLOUDSAGE_CLICKHOUSE__URL").ok();
    let required = std::env::var("CLOUDSAGE_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    match (kafka, clickhouse) {
        (Some(k), Some(c)) => Some((k, c)),
        _ => {
            assert!(
                !required,
                "CLOUDSAGE_REQUIRE_SERVICES=1 but CLOUDSAGE_KAFKA__BROKERS / CLOUDSAGE_CLICKHOUSE__URL are not set"
            );
            eprintln!("SKIPPED: no Kafka/ClickHouse configured");
            None
        }
    }
}

/// A name no other run uses: `prefix`, the process id and the clock's nanoseconds.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}{}_{}", std::process::id(), nanos % 1_000_000_000)
}
