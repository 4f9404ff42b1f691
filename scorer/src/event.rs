//! From a `RawLog` to the facts a window counts: series, event time, severity, numeric
//! signals (latency, memory, CPU) and the message template.

use cloudsage_schemas::RawLog;
use logparse::features::apply_field;
use logparse::{
    extract_features_and_mask, parse_line, Features, ParseConfig, Severity, TemplateId,
};

/// Longest template kept; longer messages are cut (their id still covers the whole text).
const MAX_TEMPLATE_CHARS: usize = 200;

/// One event as the windows see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub project: String,
    pub service: String,
    /// Event time, or the receive time when the record carries none (processing-time
    /// fallback: such events land in the window they arrived in).
    pub time_ms: i64,
    pub severity: Option<Severity>,
    /// Latency, memory and CPU signals of the line and its structured fields.
    pub features: Features,
    /// The message with its variable parts masked (`<*>`), and its stable id.
    pub template: Option<(TemplateId, String)>,
    /// Matched an `ignore` pattern: counted, never scored (set by the scorer's rules).
    pub ignored: bool,
    /// `(hash of the request's Idempotency-Key, seq)` for lines of a retryable request.
    pub ingest_id: Option<(u64, i64)>,
}

const LEVEL_KEYS: &[&str] = &["level", "severity", "lvl", "log.level", "levelname"];
const MESSAGE_KEYS: &[&str] = &["message", "msg", "log", "text"];

/// The message of a record that came as structured fields only.
fn message_field(raw: &RawLog) -> Option<&str> {
    MESSAGE_KEYS
        .iter()
        .find_map(|k| raw.fields.get(*k).map(String::as_str))
}

/// The text a user's `ignore` regexes are matched against: the line, else the message field.
pub fn raw_text(raw: &RawLog) -> Option<&str> {
    raw.line.as_deref().or_else(|| message_field(raw))
}

impl Event {
    /// The event of a record. The event time is the record's own, else one found in the line
    /// (leading timestamp, JSON/logfmt time field, syslog header), else the receive time.
    pub fn from_raw(raw: RawLog, cfg: &ParseConfig) -> Event {
        let parsed = raw.line.as_deref().map(|l| parse_line(l, cfg));
        // Features and masked message from one split of the message into words.
        let (mut features, masked) = match &parsed {
            Some(p) => {
                let (f, t) = extract_features_and_mask(p);
                (f, Some(t))
            }
            None => (Features::default(), None),
        };
        for (k, v) in &raw.fields {
            apply_field(&mut features, k, v);
        }
        let from_fields = LEVEL_KEYS
            .iter()
            .find_map(|k| raw.fields.get(*k))
            .and_then(|v| logparse::map_level_name(v));
        let severity = from_fields.or(features.severity).or_else(|| {
            // No level anywhere: a 5xx status is an error.
            (features.status_class == Some(5)).then_some(Severity::Error)
        });
        features.severity = severity;
        let from_line = parsed
            .as_ref()
            .is_some_and(|p| !p.message.trim().is_empty());
        let masked = match masked {
            Some(t) if from_line => Some(t),
            _ => message_field(&raw).map(logparse::mask::mask_line),
        };
        let template = masked.map(|mut t| {
            let id = TemplateId::of(&t);
            if let Some((cut, _)) = t.char_indices().nth(MAX_TEMPLATE_CHARS) {
                t.truncate(cut);
            }
            (id, t)
        });
        Event {
            time_ms: raw
                .event_time_ms
                .or_else(|| parsed.as_ref().and_then(|p| p.timestamp_ms))
                .unwrap_or(raw.received_at_ms),
            ingest_id: raw
                .ingest_id
                .as_ref()
                .map(|i| (crate::dedup::key_hash(&i.request), i.seq)),
            project: raw.project,
            service: raw.service,
            severity,
            features,
            template,
            ignored: false,
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
            ingest_id: None,
        }
    }

    fn from(r: RawLog) -> Event {
        Event::from_raw(r, &ParseConfig::default())
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

    #[test]
    fn signals_come_from_the_line_and_from_fields() {
        let e = from(raw(
            Some("2026-01-01T00:01:00Z INFO GET /cart took 350ms"),
            &[("heap", "93%"), ("cpu", "0.97")],
            None,
        ));
        assert_eq!(e.features.latency_ms, Some(350.0));
        assert_eq!(e.features.memory_pressure, Some(0.93));
        assert_eq!(e.features.cpu_pressure, Some(0.97));
        let e = from(raw(
            Some(r#"{"status":503,"msg":"upstream failed"}"#),
            &[],
            None,
        ));
        assert!(e.is_error(), "5xx without a level is an error");
    }

    #[test]
    fn lines_differing_only_in_variables_share_a_template() {
        let a = from(raw(Some("INFO order 1234 placed in 70ms"), &[], None));
        let b = from(raw(Some("INFO order 98 placed in 12ms"), &[], None));
        let c = from(raw(Some("INFO order 98 cancelled"), &[], None));
        assert_eq!(a.template, b.template);
        assert_ne!(a.template.unwrap().0, c.template.unwrap().0);
        let j = from(raw(None, &[("msg", "charge 42 captured")], None));
        assert_eq!(j.template.unwrap().1, "charge <*> captured");
    }
}
