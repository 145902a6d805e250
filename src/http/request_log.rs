//! The root span of every request, and the one line a failed request may add to the log.
//!
//! [`RequestLog`] replaces `tracing-actix-web`'s default span builder. Its span carries the
//! method, the route, the path with query, the client address as `limits` sees it (the
//! peer, or what a trusted proxy reports: never an `X-Forwarded-For` a client wrote itself),
//! the user agent, the status and the request id. Every field holding text the request chose
//! is cut to `telemetry::MAX_LOGGED_TEXT` bytes (the user agent to 128), and so is the
//! message of an error recorded at the end, so no line carrying this span (every line logged
//! while the request runs) can be made long by a client.
//!
//! Which failures are logged, and at what level: an `ApiError` logs itself where it becomes a
//! response (`error.rs`: a refusal, 4xx, at debug; a failure, 5xx, at error with its cause
//! chain), so nothing more is written here. Any other error response (one actix makes
//! itself) is logged here by the same rule. No 4xx is logged above debug: a client without a
//! valid token, or one over its limit, cannot make the server write a line per request; the
//! counters on `/metrics` (`eventchat_auth_failures_total`, `eventchat_rate_limited_total`,
//! `eventchat_requests_total`) are what to watch.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::USER_AGENT;
use actix_web::{HttpMessage, web};
use tracing::Span;
use tracing::field::{Empty, display};
use tracing_actix_web::{RequestId, RootSpanBuilder};

use crate::error::ApiError;
use crate::state::AppState;
use crate::telemetry::{MAX_LOGGED_TEXT, bounded};

/// The longest user agent kept; longer ones are cut (they are rarely useful beyond this).
const MAX_USER_AGENT: usize = 128;

/// The root span builder of the HTTP server (see the module docs).
pub struct RequestLog;

impl RootSpanBuilder for RequestLog {
    fn on_request_start(req: &ServiceRequest) -> Span {
        let client = req
            .app_data::<web::Data<AppState>>()
            .and_then(|s| s.limits.client_ip(req.peer_addr(), req.headers()))
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        let user_agent = req
            .headers()
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let target = req.uri().path_and_query().map_or("", |p| p.as_str());
        let route = req.match_pattern().unwrap_or_else(|| "default".to_owned());
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %req.method(),
            http.route = %bounded(&route, MAX_LOGGED_TEXT),
            http.target = %bounded(target, MAX_LOGGED_TEXT),
            http.client_ip = %client,
            http.user_agent = %bounded(user_agent, MAX_USER_AGENT),
            http.status_code = Empty,
            request_id = %request_id,
            exception.message = Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let (status, error) = match outcome {
            Ok(response) => (response.status(), response.response().error()),
            Err(e) => (e.as_response_error().status_code(), Some(e)),
        };
        span.record("http.status_code", status.as_u16());
        // An ApiError was logged where it became a response.
        let Some(error) = error.filter(|e| e.as_error::<ApiError>().is_none()) else {
            return;
        };
        let message = error.to_string();
        let message = bounded(&message, MAX_LOGGED_TEXT);
        span.record("exception.message", display(&message));
        let status = status.as_u16();
        if (500..600).contains(&status) {
            tracing::error!(status, error = %message, "request failed");
        } else {
            tracing::debug!(status, error = %message, "request refused");
        }
    }
}
