//! [`LocalEngine`]: the server's handle on the decode thread, and what they exchange.
//!
//! Starting is asynchronous: `LocalEngine::start` returns at once and the engine thread
//! finds the model file, loads it and creates the context, publishing each
//! stage in [`EngineState`]; a turn asked for meanwhile is answered `Starting`, a turn after
//! a failure `Unavailable` with the reason. The state sits behind a `std` lock that is only
//! held to copy or replace it, never across an `.await`.
//!
//! One engine per model file and settings in the process: applications built in the same
//! process (the test suite builds many) share it instead of loading the weights again.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use super::error::LocalError;
use super::template::ChatTemplate;
use crate::config::LocalModelSettings;

/// How an answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The model ended its turn.
    Stop,
    /// The token limit was reached.
    Length,
}

/// What the engine sends back for one job.
#[derive(Debug)]
pub enum JobEvent {
    Text(String),
    Done {
        prompt_tokens: u32,
        reused_tokens: u32,
        completion_tokens: u32,
        finish: Finish,
    },
    Failed(LocalError),
}

/// One generation request.
#[derive(Debug)]
pub struct Job {
    /// The thread the prompt belongs to: its cached KV state is reused.
    pub key: Option<String>,
    pub prompt: String,
    pub max_tokens: u32,
    /// `None`: greedy.
    pub temperature: Option<f32>,
    /// No tools are offered: the model's tool-call token is never sampled (a small model
    /// asked to answer from results otherwise writes the same call again).
    pub forbid_calls: bool,
    pub events: UnboundedSender<JobEvent>,
    pub queued_at: Instant,
}

/// What is known about the loaded model (admin view).
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub path: PathBuf,
    pub kv_cells: u32,
    pub sequences: u32,
    pub parallel: u32,
    pub threads: u32,
    pub load_ms: u64,
}

/// Where the engine is.
#[derive(Clone)]
pub enum EngineState {
    Starting {
        what: String,
    },
    Ready {
        template: Arc<ChatTemplate>,
        info: ModelInfo,
    },
    Failed {
        error: LocalError,
    },
}

/// The state, shared by the handle and the engine thread.
pub struct Shared {
    state: RwLock<EngineState>,
}

impl Shared {
    pub fn set_state(&self, state: EngineState) {
        match self.state.write() {
            Ok(mut guard) => *guard = state,
            Err(poisoned) => *poisoned.into_inner() = state,
        }
    }

    pub fn state(&self) -> EngineState {
        match self.state.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// The handle: submit jobs, read the state. Dropping the last handle stops the thread.
pub struct LocalEngine {
    jobs: Mutex<Sender<Job>>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LocalEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEngine").finish_non_exhaustive()
    }
}

type Registry = Mutex<HashMap<String, Weak<LocalEngine>>>;

fn registry() -> &'static Registry {
    static ENGINES: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    ENGINES.get_or_init(Registry::default)
}

impl LocalEngine {
    /// The engine for these settings: the running one, or a new one starting.
    pub fn shared(settings: &LocalModelSettings) -> Arc<Self> {
        let key = format!("{settings:?}");
        let mut engines = match registry().lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(engine) = engines.get(&key).and_then(Weak::upgrade) {
            return engine;
        }
        let engine = Arc::new(Self::start(settings.clone()));
        engines.retain(|_, weak| weak.strong_count() > 0);
        engines.insert(key, Arc::downgrade(&engine));
        engine
    }

    fn start(settings: LocalModelSettings) -> Self {
        let (jobs, receiver) = channel::<Job>();
        let shared = Arc::new(Shared {
            state: RwLock::new(EngineState::Starting {
                what: "looking for the model file".into(),
            }),
        });
        let engine_shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("local-model".into())
            .spawn(move || super::start::run(&settings, &engine_shared, &receiver));
        if let Err(e) = spawned {
            shared.set_state(EngineState::Failed {
                error: LocalError::Unavailable {
                    reason: format!("cannot start the model thread: {e}"),
                },
            });
        }
        Self {
            jobs: Mutex::new(jobs),
            shared,
        }
    }

    pub fn state(&self) -> EngineState {
        self.shared.state()
    }

    /// Queues a job; the answer comes on its `events`.
    pub fn submit(&self, job: Job) -> Result<(), LocalError> {
        let jobs = match self.jobs.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        jobs.send(job).map_err(|_| LocalError::Unavailable {
            reason: "the model thread has stopped".into(),
        })
    }
}
