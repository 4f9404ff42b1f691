//! Why a record could not be decoded. The message is meant for the DLQ's `reason`.

use crate::registry::Fingerprint;

/// A record that could not be decoded. Decoding never panics; every bad input ends here.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// No bytes, or only whitespace.
    #[error("empty record")]
    Empty,
    /// Too short to hold the 10-byte single-object header.
    #[error("truncated record: {len} bytes, an Avro single-object header needs 10")]
    Truncated { len: usize },
    /// Does not start with the single-object marker `C3 01`.
    #[error("not Avro single-object encoding: marker is {found:02x?}, expected [c3, 01]")]
    BadMarker { found: [u8; 2] },
    /// The writer schema's fingerprint is not one CloudSage knows.
    #[error("unknown writer schema fingerprint {0}")]
    UnknownFingerprint(Fingerprint),
    /// The writer schema is known but is another record (e.g. an Alert on `logs.raw`).
    #[error("expected a {expected} record but the writer schema is {found}")]
    WrongRecord { expected: String, found: String },
    /// The datum does not decode with its writer schema or resolve to the reader schema.
    #[error("invalid {record} v{version} datum: {source}")]
    Avro {
        record: String,
        version: u32,
        #[source]
        source: apache_avro::Error,
    },
    /// The datum decoded but bytes were left over, so the record is corrupt.
    #[error("{0} unexpected bytes after the Avro datum")]
    TrailingBytes(usize),
    /// One line of a newline-delimited JSON record carries no line and no fields.
    #[error("newline-delimited JSON record, line {line}: empty event")]
    EmptyEventInBatch { line: usize },
    /// A `logs.raw` record that is neither Avro, JSON nor UTF-8 text.
    #[error("record is neither Avro, JSON nor UTF-8 text: {0}")]
    InvalidUtf8(#[from] std::str::Utf8Error),
}
