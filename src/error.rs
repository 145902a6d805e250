//! The one place an error becomes bytes.
//!
//! [`ApiError`] is the table of everything a request can fail with. Each variant has a stable
//! `code` and an HTTP status. Before a stream starts it renders as
//! `{"error":{"code":..,"message":..}}` with that status; once an SSE stream has started it
//! renders as one ChatKit `error` event instead (see [`ApiError::to_stream_event`]).
//! Internal causes are logged once, here, with their whole chain, and never sent to clients.

use std::error::Error as StdError;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

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

    /// The ChatKit `error` event for a stream that has already started: internal failures
    /// become the generic `stream.error` (the client shows its own localized text); anything
    /// the user can act on becomes a `custom` error carrying the message.
    pub fn to_stream_event_json(&self) -> serde_json::Value {
        self.log();
        match self {
            Self::Internal(_) | Self::Unavailable(_) => {
                json!({"type": "error", "code": "stream.error", "allow_retry": true})
            }
            other => json!({
                "type": "error",
                "code": "custom",
                "message": other.to_string(),
                "allow_retry": other.retryable(),
            }),
        }
    }

    fn log(&self) {
        match self {
            Self::Internal(_) | Self::Unavailable(_) => {
                tracing::error!(error = ?self, code = self.code(), "request failed");
            }
            _ => tracing::debug!(error = %self, code = self.code(), "request refused"),
        }
    }
}

/// `Debug` prints the whole cause chain, for logs.
impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self, self.code())?;
        let mut source = self.source();
        while let Some(cause) = source {
            write!(f, "\n  caused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
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
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Internal(Box::new(StoreError::Db(e)))
    }
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

    #[test]
    fn stream_events_hide_internals_and_show_user_errors() {
        let internal = ApiError::internal(std::io::Error::other("secret detail"));
        let ev = internal.to_stream_event_json();
        assert_eq!(
            ev,
            json!({"type":"error","code":"stream.error","allow_retry":true})
        );
        let busy = ApiError::Busy("busy".into()).to_stream_event_json();
        assert_eq!(busy["code"], "custom");
        assert_eq!(busy["message"], "busy");
    }

    #[test]
    fn statuses_follow_the_table() {
        assert_eq!(ApiError::MissingMetadata("eventId").status_code(), 400);
        assert_eq!(ApiError::not_found("thread").status_code(), 404);
        let resp = ApiError::Unauthorized("no token".into()).error_response();
        assert_eq!(resp.headers().get("www-authenticate").unwrap(), "Bearer");
    }
}
