//! Avro single-object encoding, the wire format of every CloudSage topic:
//! `C3 01` + 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema + Avro binary datum.

use crate::{
    error::DecodeError,
    registry::{registry, Fingerprint, Registry, SchemaVersion, MAX_ALLOCATION_BYTES},
    Alert, DeadLetter, Feedback, Forecast, RawLog, ScoredWindow,
};
use apache_avro::{from_avro_datum, from_value, write_avro_datum_ref};
use serde::{de::DeserializeOwned, Serialize};

/// The two bytes every single-object encoded record starts with.
pub const MAGIC: [u8; 2] = [0xC3, 0x01];
/// Marker plus fingerprint.
pub const HEADER_LEN: usize = 10;

/// A record type with an Avro schema in `schemas/avro/`.
pub trait Message: Serialize + DeserializeOwned {
    /// Full Avro record name, e.g. `io.cloudsage.RawLog`.
    const NAME: &'static str;

    /// The latest built-in version of this record's schema: what we write and read into.
    fn schema() -> &'static SchemaVersion {
        registry()
            .latest(Self::NAME)
            .unwrap_or_else(|| panic!("no built-in schema for {}", Self::NAME))
    }

    /// Single-object encoded with the latest schema.
    ///
    /// Panics only if the Rust type and its schema disagree, a bug the round-trip tests catch.
    fn encode(&self) -> Vec<u8> {
        encode_with(Self::schema(), self)
            .unwrap_or_else(|e| panic!("{} does not match its schema: {e}", Self::NAME))
    }

    /// Decodes a record written with any known version of this record's schema.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode_with(registry(), Self::schema(), bytes)
    }
}

impl Message for RawLog {
    const NAME: &'static str = "io.cloudsage.RawLog";
}
impl Message for ScoredWindow {
    const NAME: &'static str = "io.cloudsage.ScoredWindow";
}
impl Message for Forecast {
    const NAME: &'static str = "io.cloudsage.Forecast";
}
impl Message for Alert {
    const NAME: &'static str = "io.cloudsage.Alert";
}
impl Message for Feedback {
    const NAME: &'static str = "io.cloudsage.Feedback";
}
impl Message for DeadLetter {
    const NAME: &'static str = "io.cloudsage.DeadLetter";
}

/// Single-object encodes `value` with the `writer` schema.
pub fn encode_with<T: Serialize>(
    writer: &SchemaVersion,
    value: &T,
) -> Result<Vec<u8>, apache_avro::Error> {
    // The fingerprint was computed once, with `Schema::fingerprint::<Rabin>()`, at registration.
    let mut out = Vec::with_capacity(256);
    out.extend(MAGIC);
    out.extend(writer.fingerprint.0);
    // The schema-aware serializer writes straight to bytes, without an intermediate `Value`.
    write_avro_datum_ref(&writer.schema, value, &mut out)?;
    Ok(out)
}

/// Splits a single-object encoded record into the writer fingerprint and the datum.
pub fn split_header(bytes: &[u8]) -> Result<(Fingerprint, &[u8]), DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if bytes.len() >= 2 && bytes[..2] != MAGIC {
        return Err(DecodeError::BadMarker {
            found: [bytes[0], bytes[1]],
        });
    }
    let Some((header, datum)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(DecodeError::Truncated { len: bytes.len() });
    };
    let mut fingerprint = [0; 8];
    fingerprint.copy_from_slice(&header[2..]);
    Ok((Fingerprint(fingerprint), datum))
}

/// Decodes a single-object encoded record: the writer schema is looked up in `registry` by
/// fingerprint, must be a version of the same record as `reader`, and is resolved to `reader`.
pub fn decode_with<T: DeserializeOwned>(
    registry: &Registry,
    reader: &SchemaVersion,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    // Process-wide and set once: a no-op after the first call, or if someone set it before us.
    apache_avro::util::max_allocation_bytes(MAX_ALLOCATION_BYTES);
    let (fingerprint, mut datum) = split_header(bytes)?;
    let writer = registry
        .by_fingerprint(&fingerprint)
        .ok_or(DecodeError::UnknownFingerprint(fingerprint))?;
    // Resolution would happily map unrelated records with matching field names; refuse early.
    if writer.name != reader.name {
        return Err(DecodeError::WrongRecord {
            expected: reader.name.clone(),
            found: writer.name.clone(),
        });
    }
    let avro_err = |source| DecodeError::Avro {
        record: writer.name.clone(),
        version: writer.version,
        source,
    };
    let value =
        from_avro_datum(&writer.schema, &mut datum, Some(&reader.schema)).map_err(avro_err)?;
    if !datum.is_empty() {
        return Err(DecodeError::TrailingBytes(datum.len()));
    }
    from_value(&value).map_err(avro_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, AlertStatus, ChainStep, Factor, Severity};
    use proptest::prelude::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    fn raw_log() -> RawLog {
        RawLog {
            project: "acme".into(),
            service: "checkout".into(),
            source: "http".into(),
            received_at_ms: 1_700_000_000_123,
            event_time_ms: Some(1_700_000_000_000),
            line: Some("ERROR payment failed: timeout ✗".into()),
            fields: BTreeMap::from([("level".into(), "error".into())]),
            ingest_id: None,
        }
    }

    fn round_trip<T: Message + PartialEq + std::fmt::Debug>(value: T) {
        let bytes = value.encode();
        assert_eq!(bytes[..2], MAGIC);
        assert_eq!(bytes[2..10], T::schema().fingerprint.0);
        assert_eq!(T::decode(&bytes).unwrap(), value);
    }

    #[test]
    fn round_trips_every_type() {
        round_trip(raw_log());
        round_trip(RawLog {
            event_time_ms: None,
            line: None,
            fields: BTreeMap::new(),
            ..raw_log()
        });
        round_trip(ScoredWindow {
            window_id: "w1".into(),
            project: "acme".into(),
            service: "checkout".into(),
            window_start_ms: 1_700_000_000_000,
            window_end_ms: 1_700_000_060_000,
            score: 72.5,
            factors: vec![Factor {
                name: "error_rate".into(),
                value: 0.12,
                points: 30.0,
                max_points: 40.0,
            }],
            labels: vec!["High Error Rate".into()],
            top_factors: vec!["error_rate".into()],
            event_count: 1000,
            error_count: 120,
            warn_count: 7,
            late_count: 1,
        });
        round_trip(Forecast {
            forecast_id: "f1".into(),
            project: "acme".into(),
            service: "checkout".into(),
            based_on_window_id: "w1".into(),
            generated_at_ms: 1_700_000_060_000,
            horizon_hours: 6,
            predicted_score: 80.0,
            lower: 70.0,
            upper: 90.0,
            confidence: 0.7,
            confidence_reason: "narrow interval".into(),
            trend_per_hour: 1.5,
            chain: "preventive_forecast".into(),
            chain_steps: vec![ChainStep {
                name: "context_analysis".into(),
                detail: "12 windows".into(),
                duration_us: 42,
            }],
            actions: vec![Action {
                kind: "investigate_errors".into(),
                title: "Look at checkout errors".into(),
                evidence: "12% errors".into(),
                deadline_hours: 2.0,
            }],
        });
        for (status, severity, ends_at_ms) in [
            (AlertStatus::Firing, Severity::Critical, None),
            (
                AlertStatus::Resolved,
                Severity::Info,
                Some(1_700_000_120_000),
            ),
            (AlertStatus::Firing, Severity::Warning, None),
        ] {
            round_trip(Alert {
                alert_id: "a1".into(),
                fingerprint: "fp".into(),
                project: "acme".into(),
                service: "checkout".into(),
                rule: "risk_threshold".into(),
                status,
                severity,
                summary: "checkout at 80".into(),
                score: 80.0,
                starts_at_ms: 1_700_000_060_000,
                ends_at_ms,
                window_id: Some("w1".into()),
                forecast_id: None,
                labels: BTreeMap::from([("team".into(), "payments".into())]),
            });
        }
        for key in [None, Some(vec![]), Some(vec![0, 1, 0xff])] {
            round_trip(DeadLetter {
                source_topic: "logs.raw".into(),
                partition: 3,
                offset: 42,
                stage: "ingest".into(),
                reason: "invalid UTF-8".into(),
                rejected_at_ms: 1_700_000_000_000,
                key,
                payload: vec![0xc3, 0x28, 0x00],
            });
        }
    }

    #[test]
    fn fingerprint_is_little_endian_crc64_avro() {
        // Test vector from the Avro specification's schema-tests: "null" -> 7195948357588979594.
        let null = Fingerprint::of(&apache_avro::Schema::Null);
        assert_eq!(u64::from_le_bytes(null.0), 7_195_948_357_588_979_594);
        // And the header is what apache-avro's own single-object header builder makes.
        use apache_avro::headers::{HeaderBuilder, RabinFingerprintHeader};
        let schema = &RawLog::schema().schema;
        let header = RabinFingerprintHeader::from_schema(schema).build_header();
        assert_eq!(raw_log().encode()[..HEADER_LEN], header);
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Records written by Python's fastavro 1.13 (as shown in the README), so the header and
    /// datum layout match another implementation, not just our own encoder.
    #[test]
    fn decodes_records_from_fastavro() {
        let log = RawLog::decode(&unhex(
            "c301f541d62c046e84d10861636d65066170690c707974686f6e80a0abfef962\
             00020a68656c6c6f02026b027600",
        ))
        .unwrap();
        assert_eq!(log.source, "python");
        assert_eq!(log.received_at_ms, 1_700_000_000_000);
        assert_eq!(log.line.as_deref(), Some("hello"));
        assert_eq!(log.fields["k"], "v");

        let alert = Alert::decode(&unhex(
            "c30193fa5291100060210261026602700273027202040278000000000000f83f020204000204666300",
        ))
        .unwrap();
        assert_eq!(
            (alert.status, alert.severity, alert.ends_at_ms),
            (AlertStatus::Resolved, Severity::Critical, Some(2))
        );
        assert_eq!(alert.forecast_id.as_deref(), Some("fc"));

        let dead = DeadLetter::decode(&unhex(
            "c301e86ba2703d91a54a106c6f67732e726177000e0c696e67657374066261640a02026b04ff00",
        ))
        .unwrap();
        assert_eq!(dead.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(dead.payload, [0xff, 0x00]);
        assert_eq!(
            dead.encode(),
            unhex("c301e86ba2703d91a54a106c6f67732e726177000e0c696e67657374066261640a02026b04ff00")
        );
    }

    #[test]
    fn enums_use_lowercase_symbols() {
        let alert_schema = Alert::schema().schema.canonical_form();
        assert!(alert_schema.contains(r#""symbols":["firing","resolved"]"#));
        assert!(alert_schema.contains(r#""symbols":["info","warning","critical"]"#));
    }

    #[test]
    fn bad_input_gives_clear_errors() {
        let good = raw_log().encode();
        assert!(matches!(RawLog::decode(&[]), Err(DecodeError::Empty)));
        assert!(matches!(
            RawLog::decode(b"hello world"),
            Err(DecodeError::BadMarker { .. })
        ));
        assert!(matches!(
            RawLog::decode(&good[..5]),
            Err(DecodeError::Truncated { len: 5 })
        ));
        // Two bytes: apache-avro reads a union index cut off at the very end as null.
        let truncated = RawLog::decode(&good[..good.len() - 2]);
        assert!(
            matches!(truncated, Err(DecodeError::Avro { .. })),
            "{truncated:?}"
        );
        let mut unknown = good.clone();
        unknown[2] ^= 0xff;
        assert!(matches!(
            RawLog::decode(&unknown),
            Err(DecodeError::UnknownFingerprint(_))
        ));
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(
            RawLog::decode(&trailing),
            Err(DecodeError::TrailingBytes(1))
        ));
        let err = Alert::decode(&good).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a io.cloudsage.Alert record but the writer schema is io.cloudsage.RawLog"
        );
    }

    #[test]
    fn huge_length_prefix_is_an_error_not_an_allocation() {
        // A ScoredWindow with empty strings, zero times and score, whose `factors` array claims
        // 2^62-1 items, then 50 million (below the allocation cap, so reserved but never filled).
        for count in [
            &[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f][..],
            &[0x80, 0xc2, 0xd7, 0x2f], // zigzag varint of 50_000_000
        ] {
            let mut bytes = MAGIC.to_vec();
            bytes.extend(ScoredWindow::schema().fingerprint.0);
            bytes.extend([0; 3 + 2 + 8]);
            bytes.extend(count);
            assert!(matches!(
                ScoredWindow::decode(&bytes),
                Err(DecodeError::Avro { .. })
            ));
        }
    }

    /// RawLog v1 as producers built against it still write it.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct RawLogV1 {
        project: String,
        service: String,
        source: String,
        received_at_ms: i64,
        event_time_ms: Option<i64>,
        line: Option<String>,
        fields: BTreeMap<String, String>,
    }

    impl From<RawLog> for RawLogV1 {
        fn from(log: RawLog) -> Self {
            let RawLog {
                project,
                service,
                source,
                received_at_ms,
                event_time_ms,
                line,
                fields,
                ingest_id: _,
            } = log;
            RawLogV1 {
                project,
                service,
                source,
                received_at_ms,
                event_time_ms,
                line,
                fields,
            }
        }
    }

    #[test]
    fn schema_evolution_works_both_ways() {
        let v1 = registry()
            .versions(RawLog::NAME)
            .find(|v| v.version == 1)
            .unwrap();
        assert_eq!(RawLog::schema().version, 2);
        let with_id = RawLog {
            ingest_id: Some(crate::IngestId {
                request: "req-1".into(),
                seq: 7,
            }),
            ..raw_log()
        };

        // New writer, old reader: the added field is dropped.
        let read: RawLogV1 = decode_with(registry(), v1, &with_id.encode()).unwrap();
        assert_eq!(read, RawLogV1::from(raw_log()));

        // Old writer, new reader: the added field takes its default.
        let old = encode_with(v1, &RawLogV1::from(with_id.clone())).unwrap();
        assert_eq!(old[2..10], v1.fingerprint.0);
        assert_eq!(RawLog::decode(&old).unwrap(), raw_log());
        assert_eq!(RawLog::decode(&with_id.encode()).unwrap(), with_id);

        // A reader that does not know the writer's version cannot decode: it must be registered.
        let mut only_v1 = Registry::new();
        only_v1
            .register(1, include_str!("../avro/raw_log.v1.avsc"))
            .unwrap();
        assert!(matches!(
            decode_with::<RawLogV1>(&only_v1, v1, &with_id.encode()),
            Err(DecodeError::UnknownFingerprint(_))
        ));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = RawLog::decode(&bytes);
            let _ = Alert::decode(&bytes);
            let _ = DeadLetter::decode(&bytes);
        }

        /// Random bodies behind a valid header reach the Avro decoder itself.
        #[test]
        fn decode_never_panics_after_valid_header(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            for header in [
                RawLog::schema().fingerprint,
                ScoredWindow::schema().fingerprint,
                Forecast::schema().fingerprint,
                Alert::schema().fingerprint,
                DeadLetter::schema().fingerprint,
                Feedback::schema().fingerprint,
            ] {
                let mut bytes = MAGIC.to_vec();
                bytes.extend(header.0);
                bytes.extend(&body);
                let _ = RawLog::decode(&bytes);
                let _ = ScoredWindow::decode(&bytes);
                let _ = Forecast::decode(&bytes);
                let _ = Alert::decode(&bytes);
                let _ = DeadLetter::decode(&bytes);
                let _ = Feedback::decode(&bytes);
            }
        }
    }
}
