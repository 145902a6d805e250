//! The one table of model faults: for every way the model can fail, what the user is told and
//! whether a retry may help (the `message` and `allow_retry` of the turn's `custom` error
//! event, protocol §10.3).
//!
//! [`LlmError::fault`](super::LlmError::fault) picks the row of an error; `user_message` and
//! `is_retryable` read it, so no other code words a model failure. A fault after part of the
//! answer was shown says so ("The answer was cut off: …", [`Fault::cut_message`]).
//!
//! `allow_retry` is true when the same request may well succeed a little later (the service
//! is down, busy or slow, or the answer broke off), false when it will fail the same way
//! until someone changes something (credentials, the model name or address, the request, a
//! service that does not speak the protocol), and the message then says who can act.
//!
//! docs/protocol.md §10.3 is this table for readers. `tests/api/model_faults.rs` drives
//! every hosted row through the mock LLM and compares the error event with the document;
//! the tests below check the rows it cannot reach (the local model's) against it too.

use std::borrow::Cow;

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// No key and no base URL.
    NotConfigured,
    /// The LLM settings are invalid (found at startup).
    Misconfigured,
    /// This server built a request the model cannot take.
    InvalidRequest,
    /// The connection could not be made: refused, timed out, or the host does not resolve.
    Unreachable,
    /// The connection broke before any text.
    Broke,
    /// HTTP 401 or 403.
    Credentials,
    /// HTTP 404: an unknown model or a wrong path.
    NotFound,
    /// Any other 4xx: the service rejects the request.
    Rejected,
    /// The conversation does not fit the model's context (400 `context_length_exceeded`,
    /// 413).
    TooLong,
    /// 429 `insufficient_quota`.
    NoCredit,
    /// Rate limited.
    Busy,
    /// HTTP 408.
    Slow,
    /// HTTP 5xx, or a server-side error object inside the stream.
    ServiceError,
    /// A successful status with an HTML page: the base URL points at a web site.
    WebPage,
    /// Not the protocol: an empty body, bytes that are not SSE, a first chunk that is not
    /// JSON.
    Unreadable,
    /// The stream ended with no `finish_reason` after some chunks.
    EndedEarly,
    /// A chunk that is not JSON after good ones.
    Corrupt,
    /// A tool call the model sent cannot be run (no function name).
    BadToolCall,
    /// `llm.first_token_timeout_secs` passed with no text or tool-call delta.
    FirstTokenTimeout,
    /// `llm.idle_timeout_secs` passed between two chunks after the first delta.
    Stalled,
    /// `llm.turn_timeout_secs` passed.
    TurnTimeout,
    /// The local model is being fetched or loaded (how far it got).
    LocalStarting(String),
    /// The local model cannot run (what the operator has to do).
    LocalUnavailable(String),
    /// The local model's queue or KV cache is full.
    LocalBusy,
    /// The prompt alone is longer than the local model's context.
    LocalTooLong,
    /// llama.cpp failed, or the model thread stopped.
    LocalFailed,
}

impl Fault {
    /// Whether the same request may well succeed a little later (see the module docs).
    pub fn allow_retry(&self) -> bool {
        !matches!(
            self,
            Self::NotConfigured
                | Self::Misconfigured
                | Self::InvalidRequest
                | Self::Credentials
                | Self::NotFound
                | Self::Rejected
                | Self::TooLong
                | Self::NoCredit
                | Self::WebPage
                | Self::Unreadable
                | Self::LocalUnavailable(_)
                | Self::LocalTooLong
        )
    }

    /// What the user is told when none of the answer was shown.
    pub fn message(&self) -> Cow<'static, str> {
        let text = match self {
            Self::NotConfigured => {
                "No AI model is configured on this server. An administrator must set \
                 EVENTCHAT_LLM__API_KEY (OpenAI) or EVENTCHAT_LLM__BASE_URL (any \
                 OpenAI-compatible server) and restart it."
            }
            Self::Misconfigured => {
                "The AI model is misconfigured on this server. Please contact support."
            }
            Self::InvalidRequest => {
                "This server could not prepare a request for the AI model. Please contact \
                 support."
            }
            Self::Unreachable => "Could not reach the AI service. Please try again in a moment.",
            Self::Broke => {
                "The connection to the AI service broke before it answered. Please try again."
            }
            Self::Credentials => {
                "The AI service did not accept this server's credentials. Please contact \
                 support."
            }
            Self::NotFound => {
                "The AI model or address this server is set up to use does not exist. Please \
                 contact support."
            }
            Self::Rejected => {
                "The AI service rejected this request as invalid. Please contact support."
            }
            Self::TooLong => {
                "This conversation is too long for the AI model. Please start a new thread."
            }
            Self::NoCredit => {
                "The AI service account of this server has run out of credit. Please contact \
                 support."
            }
            Self::Busy => "The AI service is busy right now. Please try again in a moment.",
            Self::Slow => "The AI service took too long to answer. Please try again.",
            Self::ServiceError => "The AI service had a problem. Please try again in a moment.",
            Self::WebPage => {
                "The AI service answered with a web page instead of a reply, so this server's \
                 AI settings are probably wrong. Please contact support."
            }
            Self::Unreadable => {
                "The AI service sent a reply this server cannot read. Please contact support."
            }
            Self::EndedEarly => "The AI service stopped before it answered. Please try again.",
            Self::Corrupt => {
                "The AI service sent a reply this server cannot read. Please try again."
            }
            Self::BadToolCall => {
                "The AI model sent a tool call this server cannot use. Please try again."
            }
            Self::FirstTokenTimeout => {
                "The AI service took too long to start answering. Please try again."
            }
            Self::Stalled => "The AI model stopped partway through its answer. Please try again.",
            Self::TurnTimeout => {
                "The answer took longer than this server allows. Please try again, or ask for \
                 a shorter answer."
            }
            Self::LocalStarting(what) => {
                return format!(
                    "The local AI model is still starting ({what}). Please try again in a \
                     moment."
                )
                .into();
            }
            // The operator's hint on purpose: on a local install the user is the operator.
            Self::LocalUnavailable(reason) => {
                return format!("The local AI model is not available: {reason}").into();
            }
            Self::LocalBusy => {
                "The local AI model is busy with other conversations. Please try again in a \
                 moment."
            }
            Self::LocalTooLong => {
                "This conversation is too long for the local AI model. Please start a new \
                 thread."
            }
            Self::LocalFailed => "The local AI model had a problem. Please try again.",
        };
        text.into()
    }

    /// What the user is told when the fault broke off an answer that was partly shown (and
    /// is kept): that it was cut off, why, and what to do.
    pub fn cut_message(&self) -> Cow<'static, str> {
        let text = match self {
            Self::Broke | Self::Unreachable => {
                "The answer was cut off: the connection to the AI service broke. Please try \
                 again."
            }
            Self::EndedEarly => {
                "The answer was cut off: the AI service ended it early. Please try again."
            }
            Self::Corrupt => {
                "The answer was cut off: the AI service sent a part this server cannot read. \
                 Please try again."
            }
            Self::ServiceError => {
                "The answer was cut off: the AI service had a problem. Please try again."
            }
            Self::Busy => {
                "The answer was cut off: the AI service became too busy. Please try again in a \
                 moment."
            }
            Self::Stalled => {
                "The answer was cut off: the AI model stopped sending it. Please try again."
            }
            Self::TurnTimeout => {
                "The answer was cut off: it took longer than this server allows. Please try \
                 again, or ask for a shorter answer."
            }
            Self::LocalFailed => {
                "The answer was cut off: the local AI model had a problem. Please try again."
            }
            other => return format!("The answer was cut off. {}", other.message()).into(),
        };
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::llm::local::LocalError;
    use crate::llm::{LlmError, TimeoutStage};

    /// docs/protocol.md §10.3: mode -> (message, allow_retry).
    fn documented() -> BTreeMap<String, (String, bool)> {
        let doc = include_str!("../../docs/protocol.md");
        let section = doc.split("### 10.3 Model faults").nth(1).unwrap_or("");
        let section = section.split("\n## ").next().unwrap_or("");
        section
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let [_, mode, _, message, flag, _] = cells[..] else {
                    return None;
                };
                let mode = mode.strip_prefix('`')?.strip_suffix('`')?;
                Some((mode.to_owned(), (message.to_owned(), flag == "true")))
            })
            .collect()
    }

    /// The rows tests/api/model_faults.rs cannot reach through HTTP: the local model's and
    /// two that never get to a turn, each checked against the document.
    #[test]
    fn the_rows_no_mock_can_reach_match_the_document() {
        let what = "loading the model, 40%";
        let reason = "the model file is missing; run `eventchat model fetch`";
        let idle = LlmError::Timeout {
            stage: TimeoutStage::Idle,
            after: Duration::from_secs(30),
        };
        let engine = || LlmError::from(LocalError::Engine("llama_decode returned -1".into()));
        let cases: Vec<(&str, LlmError)> = vec![
            (
                "misconfigured",
                LlmError::InvalidConfig("bad base_url".into()),
            ),
            (
                "invalid-request",
                LlmError::InvalidRequest("template".into()),
            ),
            (
                "local-starting",
                LocalError::Starting { what: what.into() }.into(),
            ),
            (
                "local-unavailable",
                LocalError::Unavailable {
                    reason: reason.into(),
                }
                .into(),
            ),
            ("local-busy", LocalError::Busy { queued: 64 }.into()),
            ("local-cache-full", LocalError::CacheFull.into()),
            (
                "local-too-long",
                LocalError::PromptTooLong {
                    tokens: 9000,
                    limit: 8192,
                }
                .into(),
            ),
            ("local-failed", engine()),
            ("local-failed-mid", engine().interrupted()),
            ("local-stall", idle.interrupted()),
        ];
        let rows = documented();
        let local_rows = rows.keys().filter(|m| m.starts_with("local-")).count();
        assert_eq!(local_rows, 8, "every local row is checked here");
        for (mode, error) in cases {
            let (message, allow_retry) = rows.get(mode).cloned().unwrap_or_else(|| {
                panic!("docs/protocol.md §10.3 has no row {mode}");
            });
            let message = message.replace("{what}", what).replace("{reason}", reason);
            assert_eq!(error.user_message(), message, "{mode}");
            assert_eq!(error.is_retryable(), allow_retry, "{mode}");
        }
    }

    /// The message invites a retry exactly when `allow_retry` offers one, before and after
    /// text alike.
    #[test]
    fn a_message_says_try_again_exactly_when_a_retry_is_allowed() {
        let all = [
            Fault::NotConfigured,
            Fault::Misconfigured,
            Fault::InvalidRequest,
            Fault::Unreachable,
            Fault::Broke,
            Fault::Credentials,
            Fault::NotFound,
            Fault::Rejected,
            Fault::TooLong,
            Fault::NoCredit,
            Fault::Busy,
            Fault::Slow,
            Fault::ServiceError,
            Fault::WebPage,
            Fault::Unreadable,
            Fault::EndedEarly,
            Fault::Corrupt,
            Fault::BadToolCall,
            Fault::FirstTokenTimeout,
            Fault::Stalled,
            Fault::TurnTimeout,
            Fault::LocalStarting("loading".into()),
            Fault::LocalUnavailable("not fetched".into()),
            Fault::LocalBusy,
            Fault::LocalTooLong,
            Fault::LocalFailed,
        ];
        for fault in all {
            for message in [fault.message(), fault.cut_message()] {
                assert_eq!(
                    message.contains("try again"),
                    fault.allow_retry(),
                    "{fault:?}: {message}"
                );
            }
            assert!(fault.cut_message().starts_with("The answer was cut off"));
        }
    }
}
