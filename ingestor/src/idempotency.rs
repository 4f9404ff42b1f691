//! The `Idempotency-Key` request header (IETF draft `draft-ietf-httpapi-idempotency-key-header`,
//! as Stripe and others use it): a client that sends one may retry the request after any failure
//! (timeout, connection reset, 5xx, an ingestor killed mid-request), and its lines are scored
//! once. The ingestor does not remember keys; it tags every accepted line with `(key, seq)`
//! ([`cloudsage_schemas::IngestId`]) and the scorer skips the `seq`s of a request it has seen
//! (`scorer::dedup`), so the guarantee survives ingestor restarts and holds across replicas.

use cloudsage_schemas::{IngestId, RawLog};

/// Longest key accepted (Stripe's limit; a UUID is 36).
pub const MAX_KEY_BYTES: usize = 255;

/// The key of an `Idempotency-Key` header value: the draft's quoted string (`"8e03..."`) or the
/// bare value clients commonly send. `Err` says what is wrong with it.
pub fn parse_key(value: &[u8]) -> Result<String, String> {
    let value = std::str::from_utf8(value)
        .map_err(|_| "Idempotency-Key must be printable ASCII".to_string())?
        .trim();
    let key = match value.strip_prefix('"') {
        Some(rest) => rest
            .strip_suffix('"')
            .ok_or("Idempotency-Key: a quoted key must end with a quote")?,
        None => value,
    };
    if key.is_empty() {
        return Err("Idempotency-Key is empty: send a unique key per request, e.g. a UUID".into());
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "Idempotency-Key is {} bytes long; at most {MAX_KEY_BYTES}",
            key.len()
        ));
    }
    if !key
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        return Err("Idempotency-Key must be printable ASCII without quotes or backslashes".into());
    }
    Ok(key.to_string())
}

/// Tags `records`, in the order they will be produced, as lines of request `key`.
pub fn tag(records: &mut [RawLog], key: &str) {
    for (seq, r) in records.iter_mut().enumerate() {
        r.ingest_id = Some(IngestId {
            request: key.to_string(),
            seq: seq as i64,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_bare_or_quoted() {
        assert_eq!(parse_key(b"abc-123").unwrap(), "abc-123");
        assert_eq!(parse_key(b"\"8e03978e-40d5\"").unwrap(), "8e03978e-40d5");
        assert!(parse_key(b"").unwrap_err().contains("empty"));
        assert!(parse_key(b"\"\"").unwrap_err().contains("empty"));
        assert!(parse_key(b"\"open").unwrap_err().contains("quote"));
        assert!(parse_key(&[b'k'; 256]).unwrap_err().contains("256 bytes"));
        assert!(parse_key(b"a\\b").unwrap_err().contains("printable"));
        assert!(parse_key(&[0xff, b'a']).unwrap_err().contains("printable"));
    }

    #[test]
    fn lines_are_numbered_in_produce_order() {
        let log = RawLog {
            project: "p".into(),
            service: "s".into(),
            source: "http".into(),
            received_at_ms: 0,
            event_time_ms: None,
            line: Some("x".into()),
            fields: Default::default(),
            ingest_id: None,
        };
        let mut records = vec![log.clone(), log];
        tag(&mut records, "k");
        let ids: Vec<_> = records
            .iter()
            .map(|r| r.ingest_id.clone().unwrap())
            .collect();
        assert_eq!((ids[0].seq, ids[1].seq), (0, 1));
        assert!(ids.iter().all(|i| i.request == "k"));
    }
}
