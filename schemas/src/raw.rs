//! Decoding `logs.raw` records from producers with or without Avro tooling:
//! Avro single-object encoding, else a JSON object, else newline-delimited JSON objects
//! (several events in one record), else a plain UTF-8 line.

use crate::{codec::MAGIC, error::DecodeError, Message, RawLog};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::collections::BTreeMap;

/// What a record does not say itself: who sent it, how, and when it arrived.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawDefaults {
    pub project: String,
    pub service: String,
    pub source: String,
    pub received_at_ms: i64,
}

// Well-known keys, in order of preference; the first one present (with a usable value) wins and
// is not repeated in `fields`.
const SERVICE_KEYS: &[&str] = &["service", "app", "service.name"];
const TIME_KEYS: &[&str] = &["timestamp", "time", "@timestamp", "ts"];
const LINE_KEYS: &[&str] = &["message", "msg", "log", "line"];

/// Decodes one `logs.raw` record. Avro records carry everything; JSON and text records take
/// what they lack from `defaults`. Invalid UTF-8 and empty records are errors (for the DLQ).
pub fn decode_raw_log(bytes: &[u8], defaults: &RawDefaults) -> Result<RawLog, DecodeError> {
    // `C3 01` is never valid UTF-8, so the three formats cannot be confused.
    if bytes.starts_with(&MAGIC) {
        return RawLog::decode(bytes);
    }
    let text = std::str::from_utf8(bytes)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(DecodeError::Empty);
    }
    if text.trim_start().starts_with('{') {
        if let Ok(object) = serde_json::from_str::<JsonObject>(text) {
            return from_json(object, defaults);
        }
    }
    Ok(RawLog {
        line: Some(text.trim_end_matches(['\r', '\n']).to_string()),
        ..empty(defaults)
    })
}

/// Decodes one `logs.raw` record into its events: a record of newline-delimited JSON
/// objects (one per line, as Vector's and Fluent Bit's `newline_delimited` framing write them)
/// holds one event per line; every other record holds one event ([`decode_raw_log`]). Many
/// events per record is how a producer reaches broker throughput beyond its per-record cost.
/// A record whose lines are not all JSON objects is one event, so a multi-line text record (a
/// stack trace) or a pretty-printed JSON object stays whole.
pub fn decode_raw_logs(bytes: &[u8], defaults: &RawDefaults) -> Result<Vec<RawLog>, DecodeError> {
    if !bytes.starts_with(&MAGIC) {
        if let Some(events) = newline_delimited_json(bytes, defaults) {
            return events;
        }
    }
    decode_raw_log(bytes, defaults).map(|log| vec![log])
}

/// `None` unless `bytes` are two or more lines that all parse as JSON objects.
fn newline_delimited_json(
    bytes: &[u8],
    defaults: &RawDefaults,
) -> Option<Result<Vec<RawLog>, DecodeError>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).trim();
    if !text.starts_with('{') || !text.contains('\n') {
        return None;
    }
    let mut objects = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if !line.starts_with('{') {
            return None;
        }
        objects.push((n + 1, serde_json::from_str::<JsonObject>(line).ok()?));
    }
    if objects.len() < 2 {
        return None;
    }
    Some(
        objects
            .into_iter()
            .map(|(line, object)| {
                from_json(object, defaults).map_err(|e| match e {
                    DecodeError::Empty => DecodeError::EmptyEventInBatch { line },
                    other => other,
                })
            })
            .collect(),
    )
}

fn empty(defaults: &RawDefaults) -> RawLog {
    RawLog {
        project: defaults.project.clone(),
        service: defaults.service.clone(),
        source: defaults.source.clone(),
        received_at_ms: defaults.received_at_ms,
        event_time_ms: None,
        line: None,
        fields: BTreeMap::new(),
        ingest_id: None,
    }
}

/// A JSON object's members as parsed, without building a map: a record's few keys are
/// looked at once each. A repeated key keeps its last value, as in a map.
struct JsonObject(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = JsonObject;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonObject, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(JsonObject(members))
            }
        }
        d.deserialize_map(ObjectVisitor)
    }
}

/// Which well-known key `key` is: (what it names, its preference, lower first).
fn well_known(key: &str) -> Option<(usize, usize)> {
    let lists: [&[&str]; 4] = [&["project"], SERVICE_KEYS, TIME_KEYS, LINE_KEYS];
    lists
        .iter()
        .enumerate()
        .find_map(|(what, keys)| keys.iter().position(|k| *k == key).map(|p| (what, p)))
}

fn from_json(object: JsonObject, defaults: &RawDefaults) -> Result<RawLog, DecodeError> {
    let mut members = object.0;
    // Sorted by key (stably), then the last of each repeated key kept: the map's view.
    members.sort_by(|a, b| a.0.cmp(&b.0));
    members.dedup_by(|later, earlier| {
        if later.0 == earlier.0 {
            std::mem::swap(later, earlier);
            true
        } else {
            false
        }
    });
    // Per well-known kind (project, service, time, line): the most preferred key whose value
    // is usable, as (preference, member index).
    let mut chosen: [Option<(usize, usize)>; 4] = [None; 4];
    for (i, (key, value)) in members.iter().enumerate() {
        let Some((what, preference)) = well_known(key) else {
            continue;
        };
        let usable = if what == 2 {
            as_epoch_ms(value).is_some()
        } else {
            is_text(value)
        };
        if usable && chosen[what].is_none_or(|(p, _)| preference < p) {
            chosen[what] = Some((preference, i));
        }
    }
    let mut log = empty(defaults);
    let mut taken: [Option<Value>; 4] = [None, None, None, None];
    let mut fields = Vec::with_capacity(members.len());
    for (i, (key, value)) in members.into_iter().enumerate() {
        match chosen.iter().position(|c| c.is_some_and(|(_, at)| at == i)) {
            Some(what) => taken[what] = Some(value),
            None => fields.push((
                key,
                match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                },
            )),
        }
    }
    let [project, service, time, line] = taken;
    if let Some(project) = project.and_then(into_text) {
        log.project = project;
    }
    if let Some(service) = service.and_then(into_text) {
        log.service = service;
    }
    log.event_time_ms = time.as_ref().and_then(as_epoch_ms);
    log.line = line.and_then(into_text);
    log.fields = fields.into_iter().collect();
    if log.line.is_none() && log.fields.is_empty() {
        return Err(DecodeError::Empty);
    }
    Ok(log)
}

/// Whether [`into_text`] takes `value`.
fn is_text(value: &Value) -> bool {
    match value {
        Value::String(s) => !s.is_empty(),
        Value::Number(_) => true,
        _ => false,
    }
}

fn into_text(value: Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An RFC 3339 string, or epoch seconds / millis (/ micros / nanos) as a number or numeric
/// string, told apart by magnitude.
fn as_epoch_ms(value: &Value) -> Option<i64> {
    let number = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(n) => n,
            Err(_) => return parse_rfc3339(s.trim()),
        },
        _ => return None,
    };
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    // 1e11 s is the year 5138, 1e11 ms is 1973: anything smaller is seconds, and so on up.
    let ms = match number {
        n if n < 1e11 => n * 1e3,
        n if n < 1e14 => n,
        n if n < 1e17 => n / 1e3,
        n => n / 1e6,
    };
    Some(ms.round() as i64)
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn defaults() -> RawDefaults {
        RawDefaults {
            project: "acme".into(),
            service: "unknown".into(),
            source: "kafka".into(),
            received_at_ms: 1_700_000_000_999,
        }
    }

    #[test]
    fn avro_records_are_decoded_as_is() {
        let log = RawLog {
            project: "other".into(),
            line: Some("hi".into()),
            ..empty(&defaults())
        };
        assert_eq!(decode_raw_log(&log.encode(), &defaults()).unwrap(), log);
    }

    #[test]
    fn json_objects_map_well_known_keys() {
        let json = br#"{"service.name":"checkout","@timestamp":"2023-11-14T22:13:20.5+01:00",
            "msg":"payment failed","level":"error","latency_ms":12.5,"ok":false,
            "ctx":{"user":1},"app":""}"#;
        let log = decode_raw_log(json, &defaults()).unwrap();
        assert_eq!(log.project, "acme");
        assert_eq!(log.service, "checkout");
        assert_eq!(log.source, "kafka");
        assert_eq!(log.received_at_ms, 1_700_000_000_999);
        assert_eq!(log.event_time_ms, Some(1_699_996_400_500));
        assert_eq!(log.line.as_deref(), Some("payment failed"));
        let fields: Vec<_> = log
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("app", ""),
                ("ctx", r#"{"user":1}"#),
                ("latency_ms", "12.5"),
                ("level", "error"),
                ("ok", "false"),
            ]
        );
    }

    #[test]
    fn json_project_and_service_override_defaults() {
        let log = decode_raw_log(
            br#"{"project":"p2","service":"s","app":"a","log":"x"}"#,
            &defaults(),
        )
        .unwrap();
        assert_eq!((log.project.as_str(), log.service.as_str()), ("p2", "s"));
        assert_eq!(log.fields["app"], "a");
    }

    #[test]
    fn timestamps_in_every_form() {
        let cases: &[(&str, Option<i64>)] = &[
            (r#""2023-11-14T22:13:20Z""#, Some(1_700_000_000_000)),
            (r#""2023-11-14T22:13:20.123456Z""#, Some(1_700_000_000_123)),
            ("1700000000", Some(1_700_000_000_000)),
            ("1700000000.25", Some(1_700_000_000_250)),
            ("1700000000123", Some(1_700_000_000_123)),
            (r#""1700000000123""#, Some(1_700_000_000_123)),
            ("1700000000123456", Some(1_700_000_000_123)),
            ("1700000000123456789", Some(1_700_000_000_123)),
            (r#""yesterday""#, None),
            ("-5", None),
            ("true", None),
        ];
        for (ts, expected) in cases {
            let json = format!(r#"{{"ts":{ts},"line":"x"}}"#);
            let log = decode_raw_log(json.as_bytes(), &defaults()).unwrap();
            assert_eq!(log.event_time_ms, *expected, "{ts}");
            // An unusable timestamp stays visible in the fields.
            assert_eq!(log.fields.contains_key("ts"), expected.is_none(), "{ts}");
        }
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let log = decode_raw_log(
            br#"{"msg":"a","ts":1700000000,"x":1,"msg":"b","x":"2","ts":"yesterday","log":"c"}"#,
            &defaults(),
        )
        .unwrap();
        assert_eq!(log.line.as_deref(), Some("b"));
        assert_eq!(log.event_time_ms, None);
        let fields: Vec<_> = log
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(fields, [("log", "c"), ("ts", "yesterday"), ("x", "2")]);
    }

    #[test]
    fn plain_text_and_non_objects_are_lines() {
        for (input, line) in [
            ("GET /health 200\r\n", "GET /health 200"),
            ("  indented\n", "  indented"),
            ("{not json", "{not json"),
            ("[1,2]", "[1,2]"),
            ("42", "42"),
            ("multi\nline\n", "multi\nline"),
        ] {
            let log = decode_raw_log(input.as_bytes(), &defaults()).unwrap();
            assert_eq!(log.line.as_deref(), Some(line));
            assert!(log.fields.is_empty() && log.event_time_ms.is_none());
            assert_eq!(log.service, "unknown");
        }
    }

    #[test]
    fn empty_and_binary_records_are_errors() {
        for input in [&b""[..], b"  \r\n\t", b"{}", b"{\"service\":\"s\"}"] {
            let err = decode_raw_log(input, &defaults()).unwrap_err();
            assert_eq!(err.to_string(), "empty record");
        }
        assert!(matches!(
            decode_raw_log(&[0xff, 0xfe, 0x00], &defaults()),
            Err(DecodeError::InvalidUtf8(_))
        ));
        assert!(matches!(
            decode_raw_log(&[0xc3, 0x01, 0x02], &defaults()),
            Err(DecodeError::Truncated { len: 3 })
        ));
    }

    #[test]
    fn newline_delimited_json_is_one_event_per_line() {
        let record =
            b"{\"msg\":\"a\",\"ts\":1700000000000}\n\n{\"msg\":\"b\",\"service\":\"s2\"}\r\n";
        let logs = decode_raw_logs(record, &defaults()).unwrap();
        let got: Vec<_> = logs
            .iter()
            .map(|l| (l.line.as_deref(), l.service.as_str(), l.event_time_ms))
            .collect();
        assert_eq!(
            got,
            [
                (Some("a"), "unknown", Some(1_700_000_000_000)),
                (Some("b"), "s2", None)
            ]
        );
    }

    #[test]
    fn other_records_stay_one_event() {
        for input in [
            "{\n  \"msg\": \"pretty\"\n}",
            "{\"msg\":\"a\"}\n  at Foo.bar(Foo.java:1)",
            "multi\nline",
            "{\"msg\":\"only one\"}\n",
        ] {
            let logs = decode_raw_logs(input.as_bytes(), &defaults()).unwrap();
            assert_eq!(
                logs,
                vec![decode_raw_log(input.as_bytes(), &defaults()).unwrap()]
            );
        }
        let avro = RawLog {
            line: Some("x\ny".into()),
            ..empty(&defaults())
        };
        assert_eq!(
            decode_raw_logs(&avro.encode(), &defaults()).unwrap(),
            vec![avro]
        );
    }

    #[test]
    fn an_empty_event_in_a_batch_names_its_line() {
        let err = decode_raw_logs(b"{\"msg\":\"a\"}\n{}", &defaults()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "newline-delimited JSON record, line 2: empty event"
        );
    }

    /// The decoding of a JSON object as it was first written, over a `serde_json::Map`.
    fn reference(text: &str, defaults: &RawDefaults) -> Option<Result<RawLog, String>> {
        use serde_json::Map;
        fn take<T>(
            object: &mut Map<String, Value>,
            keys: &[&str],
            convert: fn(&Value) -> Option<T>,
        ) -> Option<T> {
            let (key, value) = keys
                .iter()
                .find_map(|k| object.get(*k).and_then(convert).map(|v| (*k, v)))?;
            object.remove(key);
            Some(value)
        }
        fn as_text(value: &Value) -> Option<String> {
            into_text(value.clone())
        }
        let mut object = serde_json::from_str::<Map<String, Value>>(text).ok()?;
        let mut log = empty(defaults);
        if let Some(project) = take(&mut object, &["project"], as_text) {
            log.project = project;
        }
        if let Some(service) = take(&mut object, SERVICE_KEYS, as_text) {
            log.service = service;
        }
        log.event_time_ms = take(&mut object, TIME_KEYS, as_epoch_ms);
        log.line = take(&mut object, LINE_KEYS, as_text);
        log.fields = object
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect();
        if log.line.is_none() && log.fields.is_empty() {
            return Some(Err(DecodeError::Empty.to_string()));
        }
        Some(Ok(log))
    }

    proptest! {
        #[test]
        fn objects_decode_as_over_a_map(
            members in proptest::collection::vec((
                "(project|service|app|service\\.name|timestamp|time|@timestamp|ts|message|msg|log|line|level|x)",
                r#"("[a-z0-9 ]{0,6}"|"2023-11-14T22:13:20Z"|[1-9][0-9]{0,12}|0|-1|true|null|\{"a":\[1\]\})"#,
            ), 0..8)
        ) {
            let text = format!(
                "{{{}}}",
                members
                    .iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let expected = reference(&text, &defaults());
            prop_assert!(expected.is_some(), "{} is JSON", text);
            let expected = expected.unwrap();
            let got = serde_json::from_str::<JsonObject>(&text)
                .map_err(|e| e.to_string())
                .and_then(|o| from_json(o, &defaults()).map_err(|e| e.to_string()));
            prop_assert_eq!(got, expected, "{}", text);
        }

        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_raw_log(&bytes, &defaults());
            let _ = decode_raw_logs(&bytes, &defaults());
        }

        #[test]
        fn never_panics_on_json_like_text(text in r#"\{("[a-z@.]{1,10}":("[^"]{0,12}"|-?[0-9]{1,20}(\.[0-9]{1,4})?|true|null|\{\}),?){0,6}\}"#) {
            let _ = decode_raw_log(text.as_bytes(), &defaults());
        }
    }
}
