//! The engine thread's first steps: find the model file, then hand over to the decode loop. Whatever fails is kept as the engine's state, so every turn
//! answers with the same reason instead of the server refusing to start.

use std::sync::Arc;
use std::sync::mpsc::Receiver;

use super::error::LocalError;
use super::handle::{EngineState, Job, JobEvent, Shared};
use crate::config::LocalModelSettings;

pub(super) fn run(settings: &LocalModelSettings, shared: &Arc<Shared>, jobs: &Receiver<Job>) {
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

/// The model file, verified.
fn locate(
    settings: &LocalModelSettings,
    _shared: &Arc<Shared>,
) -> Result<std::path::PathBuf, LocalError> {
    let path = settings.model_dir.join(format!("{}.gguf", settings.model));
    if path.is_file() {
        Ok(path)
    } else {
        Err(LocalError::Unavailable {
            reason: format!(
                "{} is not in {}; run `scripts/fetch-model {}` ({})",
                settings.model,
                settings.model_dir.display(),
                settings.model,
                size_hint(&settings.model)
            ),
        })
    }
}

fn size_hint(model: &str) -> &'static str {
    match model {
        "qwen2.5-0.5b" => "491 MB, about 10 s on a fast link",
        "qwen2.5-1.5b" => "1.1 GB",
        _ => "known models: qwen2.5-0.5b, qwen2.5-1.5b",
    }
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
