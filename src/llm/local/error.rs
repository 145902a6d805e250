//! [`LocalError`]: what the local model can answer instead of tokens.

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

impl LocalError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Starting { .. } | Self::Busy { .. } | Self::CacheFull | Self::Engine(_)
        )
    }

    /// The text shown to the user. `Unavailable` carries the operator's hint on purpose:
    /// on a local install the user is the operator.
    pub fn user_message(&self) -> String {
        match self {
            Self::Starting { what } => {
                format!(
                    "The local AI model is still starting ({what}). Please try again in a moment."
                )
            }
            Self::Unavailable { reason } => {
                format!("The local AI model is not available: {reason}")
            }
            Self::Busy { .. } | Self::CacheFull => {
                "The local AI model is busy with other conversations. Please try again in a moment."
                    .to_owned()
            }
            Self::PromptTooLong { .. } => {
                "This conversation is too long for the local AI model. Please start a new thread."
                    .to_owned()
            }
            Self::Engine(_) => "The local AI model had a problem. Please try again.".to_owned(),
        }
    }
}
