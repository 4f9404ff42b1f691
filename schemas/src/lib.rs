//! CloudSage's message contract. See `schemas/README.md` for the wire format.

mod codec;
mod error;
pub mod feedback;
mod raw;
mod registry;
pub mod topics;
mod types;

pub use codec::{decode_with, encode_with, split_header, Message, HEADER_LEN, MAGIC};
pub use error::DecodeError;
pub use raw::{decode_raw_log, decode_raw_logs, RawDefaults};
pub use registry::{
    registry, Fingerprint, Registry, RegistryError, SchemaVersion, MAX_ALLOCATION_BYTES,
};
pub use types::*;
