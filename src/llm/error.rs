//! [`LlmError`]: everything that can go wrong talking to the model, classified once.
//!
//! `Display` is for logs and may contain the provider's message; [`LlmError::user_message`]
//! is the short, safe text for the end user. [`classify`] maps async-openai's error into ours
//! and says whether *our* retry loop may retry it: HTTP 429, 5xx and connect errors have
//! already been retried inside async-openai (see `retry.rs`), so retrying them again would
//! multiply the attempts.

use std::time::Duration;

use async_openai::error::{ApiError, OpenAIError, StreamError, WrappedError};

/// Which clock ran out (see `clock.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutStage {
    /// No output within `first_token_timeout_secs` of sending the request.
    FirstToken,
    /// No chunk within `idle_timeout_secs` of the one before, once output had started.
    Idle,
    /// The whole answer, retries included, took longer than `turn_timeout_secs`.
    Turn,
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error(
        "no language model is configured: set EVENTCHAT_LLM__API_KEY (OpenAI) or \
         EVENTCHAT_LLM__BASE_URL (any OpenAI-compatible server)"
    )]
    NotConfigured,
    #[error("invalid LLM configuration: {0}")]
    InvalidConfig(String),
    #[error("the model provider is rate limiting requests: {message}")]
    RateLimited { message: String },
    #[error("the model provider answered {status}: {message}")]
    Upstream { status: u16, message: String },
    #[error("could not reach the model provider: {0}")]
    Connection(String),
    #[error("timed out waiting for the model ({stage:?}, after {after:?})")]
    Timeout {
        stage: TimeoutStage,
        after: Duration,
    },
    /// The answer broke off after part of it was already streamed to the caller, who keeps
    /// the partial text; this is never retried.
    #[error("the answer was interrupted: {cause}")]
    Interrupted {
        #[source]
        cause: Box<LlmError>,
    },
    #[error("unexpected response from the model provider: {0}")]
    InvalidResponse(String),
    #[error("invalid request to the model: {0}")]
    InvalidRequest(String),
    #[error(transparent)]
    Local(#[from] super::local::LocalError),
}

impl LlmError {
    /// Whether trying the same request again could succeed: rate limits, server errors and
    /// broken connections.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Connection(_) => true,
            Self::Upstream { status, .. } => *status >= 500 || *status == 408,
            Self::Local(error) => error.is_retryable(),
            _ => false,
        }
    }

    /// A short text for the end user; never contains provider messages or secrets.
    pub fn user_message(&self) -> String {
        match self {
            Self::NotConfigured => "No AI model is configured on this server. An administrator \
                 must set EVENTCHAT_LLM__API_KEY or EVENTCHAT_LLM__BASE_URL."
                .to_owned(),
            Self::InvalidConfig(_) => {
                "The AI model is misconfigured on this server. Please contact support.".to_owned()
            }
            Self::RateLimited { .. } => {
                "The AI service is busy right now. Please try again in a moment.".to_owned()
            }
            Self::Upstream { status, .. } if *status == 401 || *status == 403 => {
                "The AI service rejected this server's credentials. Please contact support."
                    .to_owned()
            }
            Self::Upstream { status, .. } if *status >= 500 => {
                "The AI service had a problem. Please try again.".to_owned()
            }
            Self::Upstream { .. } | Self::InvalidRequest(_) => {
                "The AI service could not handle this request.".to_owned()
            }
            Self::Connection(_) => "Could not reach the AI service. Please try again.".to_owned(),
            Self::Timeout { .. } => {
                "The AI service took too long to answer. Please try again.".to_owned()
            }
            Self::Interrupted { .. } => "The answer was interrupted. Please try again.".to_owned(),
            Self::InvalidResponse(_) => {
                "The AI service sent an answer we could not read. Please try again.".to_owned()
            }
            Self::Local(error) => error.user_message(),
        }
    }

    /// Wraps an error that happened after output reached the caller.
    pub(crate) fn interrupted(self) -> Self {
        match self {
            Self::Interrupted { .. } => self,
            other => Self::Interrupted {
                cause: Box::new(other),
            },
        }
    }
}

/// Our error for an error object of the provider with HTTP `status` (0 when it came inside
/// a stream).
fn from_api_error(status: u16, error: &ApiError) -> LlmError {
    let rate_limited = status == 429
        || error.code.as_deref() == Some("rate_limit_exceeded")
        || error.r#type.as_deref() == Some("rate_limit_error");
    let message = error.message.clone();
    if rate_limited && error.r#type.as_deref() != Some("insufficient_quota") {
        return LlmError::RateLimited { message };
    }
    if status == 0 {
        // OpenAI sends in-stream errors with a `type` but no status; treat server-side kinds
        // as a 500 so they classify as retryable.
        let server = matches!(error.r#type.as_deref(), None | Some("server_error"));
        let status = if server { 500 } else { 400 };
        return LlmError::Upstream { status, message };
    }
    LlmError::Upstream { status, message }
}

/// Maps async-openai's error. The flag says whether our own retry loop may retry it
/// (async-openai has not already done so).
pub(crate) fn classify(error: OpenAIError) -> (LlmError, bool) {
    match error {
        OpenAIError::ApiError(response) => {
            let ours = from_api_error(response.status_code.as_u16(), &response.api_error);
            // 429 and 5xx went through async-openai's retry layer already.
            (ours, false)
        }
        OpenAIError::Reqwest(err) => {
            let already_retried = err.is_connect();
            let message = if err.is_timeout() {
                "the request timed out".to_owned()
            } else {
                err.to_string()
            };
            let ours = if err.is_decode() {
                LlmError::InvalidResponse(message)
            } else {
                LlmError::Connection(message)
            };
            let retry = ours.is_retryable() && !already_retried;
            (ours, retry)
        }
        OpenAIError::StreamError(err) => match *err {
            StreamError::EventStream(message) => (LlmError::Connection(message), true),
            StreamError::UnknownEvent(event) => (
                LlmError::InvalidResponse(format!("unknown stream event {:?}", event.event)),
                false,
            ),
        },
        OpenAIError::JSONDeserialize(err, content) => {
            // An `{"error": ...}` object inside the stream fails to parse as a chunk.
            match serde_json::from_str::<WrappedError>(&content) {
                Ok(wrapped) => {
                    let ours = from_api_error(0, &wrapped.error);
                    let retry = ours.is_retryable();
                    (ours, retry)
                }
                Err(_) => (LlmError::InvalidResponse(err.to_string()), false),
            }
        }
        OpenAIError::InvalidArgument(message) => (LlmError::InvalidRequest(message), false),
        other => (LlmError::InvalidResponse(other.to_string()), false),
    }
}
