//! Every known version of every record schema, looked up by fingerprint.
//!
//! Readers keep every version ever published so that old data (or data from producers not yet
//! upgraded) still decodes: the writer schema is found by the fingerprint in the record and
//! resolved to the reader's (latest) schema with Avro schema resolution.

use apache_avro::{rabin::Rabin, Schema};
use std::{collections::HashMap, fmt, sync::LazyLock};

/// Every `.avsc` in `schemas/avro/`, with its version. Add new versions here, never remove one.
const BUILTIN: &[(u32, &str)] = &[
    (1, include_str!("../avro/raw_log.v1.avsc")),
    (2, include_str!("../avro/raw_log.v2.avsc")),
    (1, include_str!("../avro/scored_window.v1.avsc")),
    (1, include_str!("../avro/forecast.v1.avsc")),
    (1, include_str!("../avro/alert.v1.avsc")),
    (1, include_str!("../avro/dead_letter.v1.avsc")),
    (1, include_str!("../avro/feedback.v1.avsc")),
];

/// Largest length (bytes of a string, items of an array block) the Avro decoder will allocate for.
/// apache-avro trusts length prefixes up to this, so a tiny corrupt record could otherwise ask
/// for gigabytes. Far above any Kafka message CloudSage accepts.
pub const MAX_ALLOCATION_BYTES: usize = 64 * 1024 * 1024;

/// CRC-64-AVRO (Rabin) fingerprint of a schema's Parsing Canonical Form, in the byte order it
/// has on the wire (little-endian).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 8]);

impl Fingerprint {
    pub fn of(schema: &Schema) -> Self {
        let bytes = schema.fingerprint::<Rabin>().bytes;
        // Rabin always yields 8 bytes.
        Fingerprint(bytes.try_into().expect("Rabin fingerprint is 8 bytes"))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// One version of one record schema.
#[derive(Debug, Clone)]
pub struct SchemaVersion {
    /// Full record name, e.g. `io.cloudsage.RawLog`; the same for all versions of a record.
    pub name: String,
    pub version: u32,
    pub schema: Schema,
    pub fingerprint: Fingerprint,
}

/// A schema could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid Avro schema: {0}")]
    Parse(#[from] apache_avro::Error),
    #[error("top-level schema must be a named record")]
    NotARecord,
    #[error("{name} v{version} (or an identical schema) is already registered")]
    Duplicate { name: String, version: u32 },
}

/// A set of schema versions. [`registry`] holds the built-in ones; tests and tools can build
/// their own (e.g. to try a new version before it ships).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    by_fingerprint: HashMap<Fingerprint, SchemaVersion>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses and adds version `version` of a record schema; returns its fingerprint.
    pub fn register(&mut self, version: u32, avsc: &str) -> Result<Fingerprint, RegistryError> {
        let schema = Schema::parse_str(avsc)?;
        let Schema::Record(record) = &schema else {
            return Err(RegistryError::NotARecord);
        };
        let name = record.name.fullname(None);
        let fingerprint = Fingerprint::of(&schema);
        let clash = self
            .by_fingerprint
            .values()
            .any(|v| v.name == name && v.version == version);
        if clash || self.by_fingerprint.contains_key(&fingerprint) {
            return Err(RegistryError::Duplicate { name, version });
        }
        self.by_fingerprint.insert(
            fingerprint,
            SchemaVersion {
                name,
                version,
                schema,
                fingerprint,
            },
        );
        Ok(fingerprint)
    }

    /// The version a record was written with, by the fingerprint in its header.
    pub fn by_fingerprint(&self, fingerprint: &Fingerprint) -> Option<&SchemaVersion> {
        self.by_fingerprint.get(fingerprint)
    }

    /// The highest version of a record (full name), the one writers use and readers resolve to.
    pub fn latest(&self, name: &str) -> Option<&SchemaVersion> {
        self.by_fingerprint
            .values()
            .filter(|v| v.name == name)
            .max_by_key(|v| v.version)
    }

    /// All versions of a record (full name), in no particular order.
    pub fn versions<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a SchemaVersion> + 'a {
        self.by_fingerprint.values().filter(move |v| v.name == name)
    }
}

/// The built-in schemas, parsed once.
pub fn registry() -> &'static Registry {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
        let mut registry = Registry::new();
        for (version, avsc) in BUILTIN {
            registry
                .register(*version, avsc)
                .unwrap_or_else(|e| panic!("built-in schema v{version} is invalid: {e}"));
        }
        registry
    });
    &REGISTRY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_avsc_file_is_built_in() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/avro");
        let files = std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                let path = e.as_ref().unwrap().path();
                path.extension().is_some_and(|x| x == "avsc")
            })
            .count();
        assert_eq!(files, BUILTIN.len(), "add new .avsc files to BUILTIN");
        assert_eq!(registry().by_fingerprint.len(), BUILTIN.len());
    }

    #[test]
    fn every_field_has_a_doc() {
        for (_, avsc) in BUILTIN {
            let json: serde_json::Value = serde_json::from_str(avsc).unwrap();
            assert_docs(&json);
        }
    }

    fn assert_docs(json: &serde_json::Value) {
        match json {
            serde_json::Value::Object(map) => {
                if let Some(fields) = map.get("fields").and_then(|f| f.as_array()) {
                    for field in fields {
                        assert!(
                            field.get("doc").and_then(|d| d.as_str()).is_some(),
                            "field without doc: {field}"
                        );
                    }
                }
                map.values().for_each(assert_docs);
            }
            serde_json::Value::Array(items) => items.iter().for_each(assert_docs),
            _ => {}
        }
    }

    /// Published versions are frozen: a changed fingerprint means old data no longer decodes.
    /// The values match fastavro's CRC-64-AVRO and the README's table.
    #[test]
    fn published_fingerprints_never_change() {
        let expected = [
            ("io.cloudsage.RawLog", "f541d62c046e84d1"),
            ("io.cloudsage.ScoredWindow", "33c4ab129ff72e41"),
            ("io.cloudsage.Forecast", "5f3713875432ddb1"),
            ("io.cloudsage.Alert", "93fa529110006021"),
            ("io.cloudsage.DeadLetter", "e86ba2703d91a54a"),
            ("io.cloudsage.Feedback", "55a8d604c54cd749"),
        ];
        for (name, fingerprint) in expected {
            let v1 = registry().versions(name).find(|v| v.version == 1).unwrap();
            assert_eq!(v1.fingerprint.to_string(), fingerprint, "{name} v1");
        }
        let raw_v2 = registry()
            .versions("io.cloudsage.RawLog")
            .find(|v| v.version == 2)
            .unwrap();
        assert_eq!(
            raw_v2.fingerprint.to_string(),
            "6996ae5a3f52ce47",
            "io.cloudsage.RawLog v2"
        );
    }

    /// apache-avro 0.21 keeps `{"type":"long"}` in the canonical form of logical types where the
    /// spec (and Java, Python, ...) has `"long"`, so their fingerprints would not match ours.
    #[test]
    fn no_logical_types_so_fingerprints_match_other_languages() {
        for (_, avsc) in BUILTIN {
            assert!(
                !avsc.contains("logicalType"),
                "see README: no logical types"
            );
        }
    }

    #[test]
    fn duplicates_are_rejected() {
        let mut r = Registry::new();
        let avsc = include_str!("../avro/raw_log.v1.avsc");
        r.register(1, avsc).unwrap();
        assert!(matches!(
            r.register(1, avsc),
            Err(RegistryError::Duplicate { .. })
        ));
        assert!(matches!(
            r.register(1, r#""string""#),
            Err(RegistryError::NotARecord)
        ));
    }
}
