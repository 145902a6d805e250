//! [`LlmError`]: everything that can go wrong talking to the model, classified once.
//!
//! `Display` is for logs and may contain the provider's message. What the user is told, and
//! whether a retry may help, is the error's row of the fault table ([`LlmError::fault`],
//! `fault.rs`, protocol §10.3): [`LlmError::user_message`] and [`LlmError::is_retryable`]
//! read it. [`classify`] maps async-openai's error into ours and says whether *our* retry
//! loop may retry it: HTTP 429, 5xx and connect errors have already been retried inside
//! async-openai (see `retry.rs`), so retrying them again would multiply the attempts.

use std::time::Duration;

use async_openai::error::{ApiError, OpenAIError, StreamError, WrappedError};

use super::fault::Fault;
use super::http_check::WebPage;

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
    /// 429 `insufficient_quota`: no retry helps until someone pays.
    #[error("the model provider's quota is exhausted: {message}")]
    NoCredit { message: String },
    /// The request does not fit the model (400 `context_length_exceeded`, 413).
    #[error("the request is too long for the model: {message}")]
    ContextTooLong { message: String },
    #[error("the model provider answered {status}: {message}")]
    Upstream { status: u16, message: String },
    /// No connection: refused, timed out, or the host name does not resolve.
    #[error("could not reach the model provider: {0}")]
    Unreachable(String),
    /// The connection broke while the answer was being read.
    #[error("the connection to the model provider broke: {0}")]
    Connection(String),
    /// The stream ended cleanly after some chunks, but without a `finish_reason`.
    #[error("the stream ended before the answer was complete")]
    EndedEarly,
    /// A successful status with an HTML page instead of an answer.
    #[error("the model provider answered with an HTML page")]
    WebPage,
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
    /// Not an answer in the protocol at all: nothing, bytes that are not SSE, a first chunk
    /// that is not JSON.
    #[error("unexpected response from the model provider: {0}")]
    InvalidResponse(String),
    /// A chunk that cannot be read after good ones: the answer was damaged on the way.
    #[error("a damaged chunk from the model provider: {0}")]
    CorruptChunk(String),
    /// A tool call the model sent cannot be run.
    #[error("an unusable tool call from the model: {0}")]
    BadToolCall(String),
    #[error("invalid request to the model: {0}")]
    InvalidRequest(String),
    #[error(transparent)]
    Local(#[from] super::local::LocalError),
}

impl LlmError {
    /// The error's row of the fault table; an interrupted answer has its cause's.
    pub fn fault(&self) -> Fault {
        use super::local::LocalError;
        match self {
            Self::NotConfigured => Fault::NotConfigured,
            Self::InvalidConfig(_) => Fault::Misconfigured,
            Self::InvalidRequest(_) => Fault::InvalidRequest,
            Self::RateLimited { .. } => Fault::Busy,
            Self::NoCredit { .. } => Fault::NoCredit,
            Self::ContextTooLong { .. } => Fault::TooLong,
            Self::Upstream { status, .. } => match status {
                401 | 403 => Fault::Credentials,
                404 => Fault::NotFound,
                408 => Fault::Slow,
                413 => Fault::TooLong,
                429 => Fault::Busy,
                s if *s >= 500 => Fault::ServiceError,
                _ => Fault::Rejected,
            },
            Self::Unreachable(_) => Fault::Unreachable,
            Self::Connection(_) => Fault::Broke,
            Self::EndedEarly => Fault::EndedEarly,
            Self::WebPage => Fault::WebPage,
            Self::InvalidResponse(_) => Fault::Unreadable,
            Self::CorruptChunk(_) => Fault::Corrupt,
            Self::BadToolCall(_) => Fault::BadToolCall,
            Self::Timeout { stage, .. } => match stage {
                TimeoutStage::FirstToken => Fault::FirstTokenTimeout,
                TimeoutStage::Idle => Fault::Stalled,
                TimeoutStage::Turn => Fault::TurnTimeout,
            },
            Self::Interrupted { cause } => cause.fault(),
            Self::Local(error) => match error {
                LocalError::Starting { what } => Fault::LocalStarting(what.clone()),
                LocalError::Unavailable { reason } => Fault::LocalUnavailable(reason.clone()),
                LocalError::Busy { .. } | LocalError::CacheFull => Fault::LocalBusy,
                LocalError::PromptTooLong { .. } => Fault::LocalTooLong,
                LocalError::Engine(_) => Fault::LocalFailed,
            },
        }
    }

    /// Whether trying the same request again may help (the fault table's `allow_retry`).
    pub fn is_retryable(&self) -> bool {
        self.fault().allow_retry()
    }

    /// A short text for the end user, from the fault table; never contains provider
    /// messages or secrets.
    pub fn user_message(&self) -> String {
        match self {
            Self::Interrupted { cause } => cause.fault().cut_message().into_owned(),
            other => other.fault().message().into_owned(),
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
    let kind = error.r#type.as_deref();
    let code = error.code.as_deref();
    let message = error.message.clone();
    if kind == Some("insufficient_quota") || code == Some("insufficient_quota") {
        return LlmError::NoCredit { message };
    }
    if status == 429 || code == Some("rate_limit_exceeded") || kind == Some("rate_limit_error") {
        return LlmError::RateLimited { message };
    }
    // OpenAI's code; llama.cpp's server says it with its type.
    if status == 413
        || code == Some("context_length_exceeded")
        || kind == Some("exceed_context_size_error")
    {
        return LlmError::ContextTooLong { message };
    }
    if status == 0 {
        // OpenAI sends in-stream errors with a `type` but no status; treat server-side kinds
        // as a 500 so they classify as retryable.
        let server = matches!(kind, None | Some("server_error"));
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
            // 429 and 5xx went through the HTTP retry layer already.
            (ours, false)
        }
        OpenAIError::Reqwest(err) => {
            let message = if err.is_timeout() {
                "the request timed out".to_owned()
            } else {
                err.to_string()
            };
            if err.is_connect() {
                // Retried by the HTTP layer already.
                (LlmError::Unreachable(message), false)
            } else if err.is_decode() {
                (LlmError::InvalidResponse(message), false)
            } else {
                (LlmError::Connection(message), true)
            }
        }
        OpenAIError::StreamError(err) => match *err {
            // eventsource-stream's error: the transport failed ("Transport error: …"), or
            // the bytes are not UTF-8 or not SSE.
            StreamError::EventStream(message) if message.starts_with("Transport error") => {
                (LlmError::Connection(message), true)
            }
            StreamError::EventStream(message) => (LlmError::InvalidResponse(message), false),
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
        OpenAIError::Boxed(err) if err.is::<WebPage>() => (LlmError::WebPage, false),
        OpenAIError::InvalidArgument(message) => (LlmError::InvalidRequest(message), false),
        other => (LlmError::InvalidResponse(other.to_string()), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(kind: Option<&str>, code: Option<&str>) -> ApiError {
        ApiError {
            message: "provider text".into(),
            r#type: kind.map(str::to_owned),
            param: None,
            code: code.map(str::to_owned),
            misalignment: None,
        }
    }

    #[test]
    fn error_objects_classify_by_status_type_and_code() {
        let fault = |status, kind, code| from_api_error(status, &api_error(kind, code)).fault();
        assert_eq!(fault(429, Some("requests"), None), Fault::Busy);
        assert_eq!(
            fault(429, Some("insufficient_quota"), Some("insufficient_quota")),
            Fault::NoCredit
        );
        assert_eq!(
            fault(400, None, Some("context_length_exceeded")),
            Fault::TooLong
        );
        assert_eq!(
            fault(400, Some("exceed_context_size_error"), None),
            Fault::TooLong
        );
        assert_eq!(fault(413, None, None), Fault::TooLong);
        assert_eq!(fault(0, Some("server_error"), None), Fault::ServiceError);
        assert_eq!(
            fault(0, Some("invalid_request_error"), None),
            Fault::Rejected
        );
        assert_eq!(fault(0, None, Some("rate_limit_exceeded")), Fault::Busy);
        assert_eq!(fault(404, None, None), Fault::NotFound);
    }

    /// eventsource-stream words its errors "Transport error: …", "UTF8 error: …" and "Parse
    /// error: …"; only the first is a broken connection.
    #[test]
    fn stream_errors_split_into_broken_and_unreadable() {
        let stream = |m: &str| {
            classify(OpenAIError::StreamError(Box::new(
                StreamError::EventStream(m.to_owned()),
            )))
        };
        let (broken, retry) = stream("Transport error: connection reset");
        assert!(matches!(broken, LlmError::Connection(_)) && retry);
        let (garbled, retry) = stream("UTF8 error: invalid utf-8 sequence");
        assert!(matches!(garbled, LlmError::InvalidResponse(_)) && !retry);
    }

    #[test]
    fn an_interrupted_answer_says_it_was_cut_off_with_its_causes_flag() {
        let cut = LlmError::Connection("reset".into()).interrupted();
        assert_eq!(cut.fault(), Fault::Broke);
        assert!(cut.is_retryable());
        assert!(cut.user_message().starts_with("The answer was cut off: "));
        let rejected = LlmError::Upstream {
            status: 400,
            message: "provider text".into(),
        }
        .interrupted();
        assert!(!rejected.is_retryable());
        assert_eq!(
            rejected.user_message(),
            "The answer was cut off. The AI service rejected this request as invalid. Please \
             contact support."
        );
        assert!(!rejected.user_message().contains("provider text"));
    }
}
