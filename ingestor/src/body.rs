//! Request bodies → `RawLog` records. Plain text is one record per line; NDJSON one per
//! line; a JSON array one per element. Unusable lines are returned as rejects with a reason
//! (they go to `logs.raw.dlq`), never dropped.

use cloudsage_schemas::{decode_raw_log, RawDefaults, RawLog};

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
        BodyFormat::Json if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') => {
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

fn push(
    parsed: &mut Parsed,
    line: usize,
    bytes: &[u8],
    defaults: &RawDefaults,
    must_be_json: bool,
) {
    if must_be_json
        && serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(bytes).is_err()
    {
        parsed.rejected.push(Rejected {
            line,
            reason: "not a JSON object".into(),
            bytes: bytes.to_vec(),
        });
        return;
    }
    match decode_raw_log(bytes, defaults) {
        Ok(mut r) => {
            // The token decides the project: a record cannot write into another project.
            r.project = defaults.project.clone();
            parsed.records.push(r);
        }
        Err(e) => parsed.rejected.push(Rejected {
            line,
            reason: e.to_string(),
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
