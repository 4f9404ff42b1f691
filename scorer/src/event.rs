//! From a `RawLog` to the facts a window counts: series, event time, severity.

use cloudsage_schemas::RawLog;
use logparse::timestamp::{parse_prefix, TimeConfig};
use logparse::Severity;

/// One event as the windows see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub project: String,
    pub service: String,
    /// Event time, or the receive time when the record carries none (processing-time
    /// fallback: such events land in the window they arrived in).
    pub time_ms: i64,
    pub severity: Option<Severity>,
}

const LEVEL_KEYS: &[&str] = &["level", "severity", "lvl", "log.level", "levelname"];

impl Event {
    /// The event of a record. The event time is the record's own, else a timestamp leading
    /// the line, else the receive time.
    pub fn from_raw(raw: RawLog, time: &TimeConfig) -> Event {
        let from_fields = LEVEL_KEYS
            .iter()
            .find_map(|k| raw.fields.get(*k))
            .and_then(|v| logparse::map_level_name(v));
        let severity = from_fields.or_else(|| raw.line.as_deref().and_then(logparse::detect_level));
        let line_time = || {
            raw.line
                .as_deref()
                .and_then(|l| parse_prefix(l.trim_start(), time))
                .map(|(t, _)| t)
        };
        Event {
            time_ms: raw
                .event_time_ms
                .or_else(line_time)
                .unwrap_or(raw.received_at_ms),
            project: raw.project,
            service: raw.service,
            severity,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity.is_some_and(Severity::is_error)
    }

    pub fn is_warning(&self) -> bool {
        self.severity == Some(Severity::Warn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn raw(line: Option<&str>, fields: &[(&str, &str)], event_time: Option<i64>) -> RawLog {
        RawLog {
            project: "p".into(),
            service: "s".into(),
            source: "test".into(),
            received_at_ms: 5_000,
            event_time_ms: event_time,
            line: line.map(str::to_string),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    const TC: TimeConfig = TimeConfig {
        reference_year: 2026,
    };

    fn from(r: RawLog) -> Event {
        Event::from_raw(r, &TC)
    }

    #[test]
    fn level_from_line_or_structured_field() {
        let e = from(raw(Some("2024-01-01 10:00:00 ERROR boom"), &[], Some(1)));
        assert!(e.is_error());
        let e = from(raw(None, &[("level", "warning")], Some(1)));
        assert!(e.is_warning());
        let e = from(raw(Some("all good"), &[], Some(1)));
        assert!(!e.is_error() && !e.is_warning());
    }

    #[test]
    fn receive_time_is_the_fallback_event_time() {
        assert_eq!(from(raw(Some("x"), &[], None)).time_ms, 5_000);
        assert_eq!(from(raw(Some("x"), &[], Some(7))).time_ms, 7);
        let t = from(raw(Some("2026-01-01T00:01:00Z INFO x"), &[], None)).time_ms;
        assert_eq!(t, 1_767_225_660_000);
    }
}
