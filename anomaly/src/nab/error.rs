//! Errors of the NAB scorer and corpus loader.

use std::path::PathBuf;

/// Why a NAB corpus or its labels could not be used.
#[derive(Debug, thiserror::Error)]
pub enum NabError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Json {
        what: String,
        source: serde_json::Error,
    },
    #[error("{path}:{line}: {message}")]
    Row {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
}
