//! Request bodies → `RawLog` records. Plain text is one record per line; NDJSON one per
//! line; a JSON array one per element. Unusable lines are returned as rejects with a reason
//! (they go to `logs.raw.dlq`), never dropped. JSON objects that are metric samples become
//! metric records (see [`crate::metric`]).

use crate::metric::metric_sample;
use cloudsage_schemas::{decode_raw_log, RawDefaults, RawLog};
use serde_json::{Map, Value};

/// The body formats `POST /v1/logs` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Text,
    NdJson,
    Json,
}

impl BodyFormat {
    /// From a `Content-Type` header; `None` for unsupported types (415).
    pub fn from_content_type(ct: Option<&str>) -> Option<BodyFormat> {
        let mime = ct
            .unwrap_or("text/plain")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match mime.as_str() {
            "text/plain" | "" => Some(BodyFormat::Text),
            "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/x-jsonlines" => Some(BodyFormat::NdJson),
            "application/json" => Some(BodyFormat::Json),
            _ => None,
        }
    }
}

/// A line that could not be used.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// 1-based line (or array element) number.
    pub line: usize,
    pub reason: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Parsed {
    pub records: Vec<RawLog>,
    pub rejected: Vec<Rejected>,
}

/// Splits and decodes a body. Errors only when the body as a whole is malformed (400).
pub fn parse_body(
    format: BodyFormat,
    body: &[u8],
    defaults: &RawDefaults,
) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    match format {
        BodyFormat::Json if first_byte(body) == Some(b'[') => {
            let items: Vec<serde_json::Value> = serde_json::from_slice(body)
                .map_err(|e| format!("body is not a valid JSON array: {e}"))?;
            for (i, item) in items.iter().enumerate() {
                let bytes = match item {
                    serde_json::Value::String(s) => s.clone().into_bytes(),
                    other => other.to_string().into_bytes(),
                };
                push(&mut parsed, i + 1, &bytes, defaults, true);
            }
        }
        // One (possibly pretty-printed) JSON object.
        BodyFormat::Json if first_byte(body) == Some(b'{') && json_object(body).is_some() => {
            push(&mut parsed, 1, body, defaults, true);
        }
        BodyFormat::Text | BodyFormat::NdJson | BodyFormat::Json => {
            let json = format != BodyFormat::Text;
            for (i, line) in body.split(|b| *b == b'\n').enumerate() {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                push(&mut parsed, i + 1, line, defaults, json);
            }
        }
    }
    Ok(parsed)
}

fn first_byte(body: &[u8]) -> Option<u8> {
    body.iter().copied().find(|b| !b.is_ascii_whitespace())
}

fn json_object(bytes: &[u8]) -> Option<Map<String, Value>> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    if first_byte(bytes) != Some(b'{') {
        return None;
    }
    serde_json::from_slice(bytes).ok()
}

fn push(
    parsed: &mut Parsed,
    line: usize,
    bytes: &[u8],
    defaults: &RawDefaults,
    must_be_json: bool,
) {
    let object = json_object(bytes);
    let decoded = match &object {
        None if must_be_json => Err("not a JSON object".to_string()),
        Some(object) => metric_sample(object, defaults)
            .unwrap_or_else(|| decode_raw_log(bytes, defaults).map_err(|e| e.to_string())),
        None => decode_raw_log(bytes, defaults).map_err(|e| e.to_string()),
    };
    match decoded {
        Ok(mut r) => {
            // The token decides the project: a record cannot write into another project.
            r.project = defaults.project.clone();
            parsed.records.push(r);
        }
        Err(reason) => parsed.rejected.push(Rejected {
            line,
            reason,
            bytes: bytes.to_vec(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> RawDefaults {
        RawDefaults {
            project: "shop".into(),
            service: "api".into(),
            source: "http".into(),
            received_at_ms: 1,
        }
    }

    #[test]
    fn text_lines_become_records_and_blank_lines_are_skipped() {
        let p = parse_body(BodyFormat::Text, b"a ERROR x\r\n\nb ok\n", &d()).unwrap();
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.records[0].line.as_deref(), Some("a ERROR x"));
        assert!(p.rejected.is_empty());
    }

    #[test]
    fn ndjson_rejects_bad_lines_with_their_number() {
        let body = b"{\"msg\":\"hi\",\"service\":\"web\",\"project\":\"evil\"}\nnot json\n";
        let p = parse_body(BodyFormat::NdJson, body, &d()).unwrap();
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.records[0].service, "web");
        assert_eq!(p.records[0].project, "shop", "token's project wins");
        assert_eq!(p.rejected[0].line, 2);
        assert_eq!(p.rejected[0].bytes, b"not json");
    }

    #[test]
    fn json_array_and_invalid_utf8() {
        let p = parse_body(
            BodyFormat::Json,
            br#"[{"message":"a"}, "plain line"]"#,
            &d(),
        )
        .unwrap();
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.rejected.len(), 1);
        assert!(parse_body(BodyFormat::Json, b"[1,", &d()).is_err());
        let p = parse_body(BodyFormat::Text, b"ok\n\xff\xfe\n", &d()).unwrap();
        assert_eq!((p.records.len(), p.rejected.len()), (1, 1));
    }

    #[test]
    fn a_single_pretty_printed_object_is_one_record() {
        let body = b"{\n  \"message\": \"disk full\",\n  \"level\": \"error\"\n}\n";
        let p = parse_body(BodyFormat::Json, body, &d()).unwrap();
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.records[0].line.as_deref(), Some("disk full"));
    }

    #[test]
    fn metric_samples_in_every_format() {
        let line = br#"{"metric":"memory.used_bytes","value":1.5e9,"service":"db"}"#;
        for format in [BodyFormat::Text, BodyFormat::NdJson, BodyFormat::Json] {
            let p = parse_body(format, line, &d()).unwrap();
            assert_eq!(p.records.len(), 1, "{format:?}");
            let r = &p.records[0];
            assert_eq!(r.service, "db");
            assert_eq!(r.project, "shop");
            assert_eq!(r.fields["metric.name"], "memory.used_bytes");
            assert_eq!(r.fields["metric.value"], "1500000000.0");
        }
        let p = parse_body(
            BodyFormat::NdJson,
            br#"{"metric":"cpu","value":"high"}"#,
            &d(),
        )
        .unwrap();
        assert_eq!(p.rejected.len(), 1);
        assert!(p.rejected[0].reason.contains("not a finite number"));
    }

    proptest::proptest! {
        #[test]
        fn parse_body_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            for format in [BodyFormat::Text, BodyFormat::NdJson, BodyFormat::Json] {
                let _ = parse_body(format, &bytes, &d());
            }
        }

        #[test]
        fn parse_body_never_panics_on_jsonish_text(s in r#"[\[\]{}",:a-z0-9\n .eE+-]{0,200}"#) {
            for format in [BodyFormat::Text, BodyFormat::NdJson, BodyFormat::Json] {
                let _ = parse_body(format, s.as_bytes(), &d());
            }
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(
            BodyFormat::from_content_type(Some("text/plain; charset=utf-8")),
            Some(BodyFormat::Text)
        );
        assert_eq!(
            BodyFormat::from_content_type(Some("application/x-ndjson")),
            Some(BodyFormat::NdJson)
        );
        assert_eq!(BodyFormat::from_content_type(None), Some(BodyFormat::Text));
        assert_eq!(BodyFormat::from_content_type(Some("image/png")), None);
    }
}
