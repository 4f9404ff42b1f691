//! Every Kafka topic CloudSage uses, named in one place.

/// Raw log lines and metric samples, written by the ingestor or directly by producers.
pub const LOGS_RAW: &str = "logs.raw";
/// One record per closed (project, service, window), written by the scorer.
pub const WINDOWS_SCORED: &str = "windows.scored";
/// One record per scored window and horizon, written by the forecaster.
pub const FORECASTS: &str = "forecasts";
/// Alert state changes (firing / resolved), written by the notifier's rule evaluator and
/// consumed by its delivery loop. This topic is the record of truth for alerts.
pub const ALERTS: &str = "alerts";
/// Users' verdicts on proposed actions ([`crate::Feedback`]), keyed by project; written by
/// the ingestor's `POST /v1/feedback` or directly by producers, consumed by the forecaster.
pub const FEEDBACK: &str = "feedback";

/// The dead-letter topic of an input topic: `<topic>.dlq`. It carries the original bytes
/// and the reason the record was rejected (see [`crate::DeadLetter`]).
pub fn dead_letter_topic(input: &str) -> String {
    format!("{input}.dlq")
}

/// All topics, data and dead-letter, that the pipeline needs to exist.
pub fn all_topics() -> Vec<String> {
    let data = [LOGS_RAW, WINDOWS_SCORED, FORECASTS, ALERTS, FEEDBACK];
    data.iter()
        .map(|t| t.to_string())
        .chain(data.iter().map(|t| dead_letter_topic(t)))
        .collect()
}
