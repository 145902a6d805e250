//! The one place an error becomes bytes.
//!
//! [`ApiError`] is the table of everything a request can fail with before its answer starts.
//! Each variant has a stable `code` and an HTTP status, and renders as
//! `{"error":{"code":..,"message":..}}` with that status. [`TurnError`] is the table of what
//! ends a stream that has already started; it renders as exactly one ChatKit `error` event
//! ([`TurnError::to_event`]): a message the user can act on as `custom`, anything else as the
//! generic `stream.error` (the client shows its own localized text). An `ApiError` raised
//! inside a turn becomes a `TurnError` by the same rule ([`From<ApiError>`]); a model fault
//! ([`From<LlmError>`]) is a `custom` event with the message and retry flag of its row of the
//! fault table (`llm::fault`, protocol §10.3). Internal causes are kept as `#[source]`
//! chains, logged once with the whole chain, and never sent to clients.

use std::error::Error as StdError;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::chatkit::ThreadStreamEvent;
use crate::domain::DomainError;
use crate::llm::LlmError;
use crate::store::StoreError;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

#[derive(thiserror::Error)]
pub enum ApiError {
    /// Malformed input: bad JSON, wrong types, invalid values.
    #[error("{0}")]
    BadRequest(String),
    /// A required metadata field of `threads.create` is missing.
    #[error("missing required metadata field `{0}`")]
    MissingMetadata(&'static str),
    /// No or bad credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Unknown, or not visible to this principal (the two look the same).
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Existed once and is no longer kept (a turn's events after their retention).
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Per-user rate limit.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// The thread's input queue is full.
    #[error("{0}")]
    Busy(String),
    /// A feature that is not configured on this server.
    #[error("{0}")]
    NotImplemented(String),
    /// A dependency (the database) is down.
    #[error("service unavailable")]
    Unavailable(#[source] BoxError),
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl ApiError {
    pub fn internal(e: impl Into<BoxError>) -> Self {
        Self::Internal(e.into())
    }

    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "invalid_request",
            Self::MissingMetadata(_) => "missing_metadata",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Gone(_) => "gone",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::RateLimited { .. } => "rate_limited",
            Self::Busy(_) => "thread_busy",
            Self::NotImplemented(_) => "not_implemented",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// Whether the client may usefully try the same thing again.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Busy(_) | Self::Unavailable(_) | Self::Internal(_)
        )
    }

    /// Logs the error once, where it becomes a response: a failure at error with its cause
    /// chain, a refusal (4xx, which any client can cause at will) at debug only. Both are
    /// bounded: a message may quote the request (a serde error names the offending value).
    fn log(&self) {
        use crate::telemetry::{MAX_LOGGED_TEXT, bounded};
        match self {
            Self::Internal(_) | Self::Unavailable(_) => {
                let chain = format!("{self:?}");
                let chain = bounded(&chain, 16 * MAX_LOGGED_TEXT);
                tracing::error!(error = %chain, code = self.code(), "request failed");
            }
            // Formatted only when debug is on: a flood of refusals costs no formatting.
            _ if tracing::enabled!(tracing::Level::DEBUG) => {
                let message = self.to_string();
                let message = bounded(&message, MAX_LOGGED_TEXT);
                tracing::debug!(error = %message, code = self.code(), "request refused");
            }
            _ => {}
        }
    }
}

/// `Debug` prints the whole cause chain, for logs.
impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self, self.code())?;
        write_chain(f, self.source())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::MissingMetadata(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Gone(_) => StatusCode::GONE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } | Self::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let mut resp = HttpResponse::build(self.status_code());
        match self {
            Self::Unauthorized(_) => {
                resp.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            Self::RateLimited {
                retry_after_secs, ..
            } => {
                resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::Busy(_) => {
                resp.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        resp.json(json!({"error": {"code": self.code(), "message": self.to_string()}}))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            StoreError::Conflict(msg) => Self::Conflict(msg),
            StoreError::Db(db) => db.into(),
            // The thread changed hands mid-request; a retry reaches its new owner.
            e @ StoreError::Fenced(_) => Self::Unavailable(Box::new(e)),
            other => Self::Internal(Box::new(other)),
        }
    }
}

/// A domain refusal as the REST API answers it: the domain's message, safe to show.
impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound(_) => Self::NotFound(e.to_string()),
            DomainError::Forbidden(msg) => Self::Forbidden(msg),
            DomainError::Invalid(..) => Self::BadRequest(e.to_string()),
            DomainError::Conflict(msg) => Self::Conflict(msg),
            DomainError::Store(inner) => inner.into(),
        }
    }
}

/// A database that cannot be reached is a 503 (worth a retry once it is back); any other
/// database error is internal.
impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        if crate::store::db::is_unreachable(&e) {
            Self::Unavailable(Box::new(StoreError::Db(e)))
        } else {
            Self::Internal(Box::new(StoreError::Db(e)))
        }
    }
}

/// Why a turn ended early, once its stream has started. Rendered as one ChatKit `error`
/// event by [`TurnError::to_event`].
#[derive(thiserror::Error)]
pub enum TurnError {
    /// A message the user should see (`code: "custom"`).
    #[error("{message}")]
    Custom { message: String, allow_retry: bool },
    /// A generic failure (`code: "stream.error"`; the client shows its own text).
    #[error("stream error")]
    Stream { allow_retry: bool },
    /// Anything unexpected; logged with its cause chain, shown as a retryable
    /// `stream.error`.
    #[error("internal error")]
    Internal(#[source] BoxError),
    /// The turn was cancelled (Stop, a dropped connection, an explicit cancel): not an
    /// error for the client; the turn keeps what it has and ends without an `error` event.
    #[error("cancelled")]
    Cancelled,
}

impl TurnError {
    pub fn internal(e: impl Into<BoxError>) -> Self {
        Self::Internal(e.into())
    }

    pub fn custom(message: impl Into<String>, allow_retry: bool) -> Self {
        Self::Custom {
            message: message.into(),
            allow_retry,
        }
    }

    /// The event that ends the stream.
    pub fn to_event(&self) -> ThreadStreamEvent {
        match self {
            Self::Custom {
                message,
                allow_retry,
            } => ThreadStreamEvent::error_custom(message.clone(), *allow_retry),
            Self::Stream { allow_retry } => ThreadStreamEvent::error_stream(*allow_retry),
            Self::Internal(_) | Self::Cancelled => ThreadStreamEvent::error_stream(true),
        }
    }

    /// Logs the failure once: internal ones at error level with their cause chain.
    pub fn log(&self) {
        match self {
            Self::Internal(_) => tracing::error!(error = ?self, "turn failed"),
            other => tracing::info!(error = %other, "turn ended with an error event"),
        }
    }
}

/// `Debug` prints the whole cause chain, for logs.
impl fmt::Debug for TurnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")?;
        write_chain(f, self.source())
    }
}

/// An `ApiError` inside a running turn: what the user can act on stays a message, the rest
/// becomes the generic event (the cause is kept for the log).
impl From<ApiError> for TurnError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Internal(source) | ApiError::Unavailable(source) => Self::Internal(source),
            other => Self::Custom {
                message: other.to_string(),
                allow_retry: other.retryable(),
            },
        }
    }
}

/// A model fault: its row of the fault table, as a `custom` event. An answer that was cut
/// off after text arrives here as `LlmError::Interrupted` and says so.
impl From<LlmError> for TurnError {
    fn from(e: LlmError) -> Self {
        Self::Custom {
            message: e.user_message(),
            allow_retry: e.is_retryable(),
        }
    }
}

impl From<StoreError> for TurnError {
    fn from(e: StoreError) -> Self {
        if let StoreError::Fenced(_) = e {
            // Another node took the thread over (this one was paused or cut off past its
            // heartbeat timeout); nothing more of this turn is stored. Sending again reaches
            // the new owner.
            return Self::Custom {
                message: "This conversation moved to another server while the answer was \
                          being written. Please send your message again."
                    .to_owned(),
                allow_retry: true,
            };
        }
        crate::metrics::global().db_errors.inc();
        Self::Internal(Box::new(e))
    }
}

fn write_chain(
    f: &mut fmt::Formatter<'_>,
    mut source: Option<&(dyn StdError + 'static)>,
) -> fmt::Result {
    while let Some(cause) = source {
        write!(f, "\n  caused by: {cause}")?;
        source = cause.source();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_shows_the_cause_chain() {
        let e = ApiError::internal(std::io::Error::other("disk on fire"));
        let dbg = format!("{e:?}");
        assert!(dbg.contains("disk on fire"), "{dbg}");
        assert_eq!(e.to_string(), "internal error");
    }

    fn event_json(e: &TurnError) -> serde_json::Value {
        serde_json::to_value(e.to_event()).unwrap()
    }

    #[test]
    fn stream_events_hide_internals_and_show_user_errors() {
        let internal: TurnError = ApiError::internal(std::io::Error::other("secret detail")).into();
        assert_eq!(
            event_json(&internal),
            json!({"type":"error","code":"stream.error","allow_retry":true})
        );
        assert!(format!("{internal:?}").contains("secret detail"));
        let busy: TurnError = ApiError::Busy("busy".into()).into();
        let ev = event_json(&busy);
        assert_eq!(ev["code"], "custom");
        assert_eq!(ev["message"], "busy");
        assert_eq!(ev["allow_retry"], true);
        let gone: TurnError = ApiError::not_found("item").into();
        assert_eq!(event_json(&gone)["allow_retry"], false);
    }

    #[test]
    fn a_model_fault_is_its_row_of_the_fault_table() {
        let cut: TurnError = LlmError::Connection("reset by peer 10.0.0.7".into())
            .interrupted()
            .into();
        let ev = event_json(&cut);
        assert_eq!(ev["code"], "custom");
        assert_eq!(ev["allow_retry"], true);
        let message = ev["message"].as_str().unwrap();
        assert!(message.starts_with("The answer was cut off: "), "{message}");
        assert!(!message.contains("10.0.0.7"), "{message}");
        let bad_key: TurnError = LlmError::Upstream {
            status: 401,
            message: "Incorrect API key provided: sk-123".into(),
        }
        .into();
        assert_eq!(event_json(&bad_key)["allow_retry"], false);
        assert!(!event_json(&bad_key).to_string().contains("sk-123"));
    }

    #[test]
    fn an_internal_turn_error_keeps_its_cause_chain() {
        let e = TurnError::internal(std::io::Error::other("disk on fire"));
        assert_eq!(e.to_string(), "internal error");
        assert!(std::error::Error::source(&e).is_some());
        assert!(format!("{e:?}").contains("disk on fire"));
    }

    #[test]
    fn statuses_follow_the_table() {
        assert_eq!(ApiError::MissingMetadata("eventId").status_code(), 400);
        assert_eq!(ApiError::not_found("thread").status_code(), 404);
        let resp = ApiError::Unauthorized("no token".into()).error_response();
        assert_eq!(resp.headers().get("www-authenticate").unwrap(), "Bearer");
    }
}
