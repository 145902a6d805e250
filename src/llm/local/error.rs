//! [`LocalError`]: what the local model can answer instead of tokens. What the user is told
//! about each, and whether a retry may help, is its row of the fault table (`llm::fault`).

/// Why the local model did not (fully) answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LocalError {
    /// The model is being fetched or loaded; `what` says which, with progress.
    #[error("the local model is still starting: {what}")]
    Starting { what: String },
    /// The model cannot run: not fetched, failed its check, failed to load, or this build
    /// has no local model support. `reason` tells an operator what to do.
    #[error("the local model is not available: {reason}")]
    Unavailable { reason: String },
    /// Every sequence is busy and the queue is full.
    #[error("the local model's queue is full ({queued} turns waiting)")]
    Busy { queued: usize },
    /// The prompt alone does not fit the configured context.
    #[error("the prompt has {tokens} tokens; the local model takes at most {limit}")]
    PromptTooLong { tokens: usize, limit: usize },
    /// The KV cache has no room even after dropping every idle thread's cache.
    #[error("the local model's KV cache is full")]
    CacheFull,
    /// llama.cpp failed while evaluating.
    #[error("the local model failed: {0}")]
    Engine(String),
}
