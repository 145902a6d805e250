//! `POST {chatkit_path}`: the ChatKit endpoint, plus the attachment upload and preview URLs
//! that `attachments.create` hands out.
//!
//! The route handlers are here; [`dispatch`] routes one parsed envelope: the non-streaming
//! requests answer from the store (`threads.rs`, `attachments.rs`), or through a live thread's
//! actor when they change its row; the streaming ones are validated and handed to the
//! thread's actor (`streaming.rs`), whose events the SSE body (`http::sse_body`) sends.
//!
//! The body is read as bytes (up to `server.body_limit_bytes`) and parsed by the protocol
//! layer, so malformed JSON, unknown types and bad params get precise 400s. Streaming
//! responses are `text/event-stream` with `Cache-Control: no-cache` and
//! `X-Accel-Buffering: no`, flushed per event, with keep-alive comments while quiet.

use std::time::Duration;

use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};
use futures::StreamExt;

mod attach;
mod attachments;
mod dispatch;
mod idempotency;
mod lists;
mod metadata;
mod route;
mod streaming;
mod threads;
pub mod turns;

pub use attachments::{UPLOAD_TOKEN_HEADER, UploadError, read_bytes, upload_bytes};
pub use dispatch::{Origin, Reply, TurnStream, check_id, dispatch};
pub use streaming::SendOptions;

use crate::auth::Principal;
use crate::chatkit::request::parse_request;
use crate::config::OnDisconnect;
use crate::error::ApiError;
use crate::http::sse_body::{ClientGone, sse_body};
use crate::limits::Guarded;
use crate::state::AppState;

/// The scheme and host the client used, or `server.public_url` when configured.
pub fn origin(req: &HttpRequest, state: &AppState) -> Origin {
    let configured = state.settings.server.public_url.trim_end_matches('/');
    if !configured.is_empty() {
        return Origin {
            base_url: configured.to_owned(),
        };
    }
    let info = req.connection_info();
    Origin {
        base_url: format!("{}://{}", info.scheme(), info.host()),
    }
}

pub async fn chatkit(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let metrics = crate::metrics::global();
    // A request another cluster node forwarded took its limits there.
    let forwarded = route::is_forwarded(&req);
    // Before any work (even reading the body): a flood costs one map lookup per request (one
    // statement in a cluster).
    if !forwarded && let Err(e) = state.limits.check_rate(&principal.user_id).await {
        metrics.record_request("rate_limited", 429);
        return Err(e);
    }
    let body = match read_limited(payload, state.settings.server.body_limit_bytes).await {
        Ok(b) => b,
        Err(e) => {
            metrics.record_request("invalid", 413);
            return Err(e);
        }
    };
    let envelope = match parse_request(&body) {
        Ok(env) => env,
        Err(e) => {
            metrics.record_request("invalid", 400);
            return Err(ApiError::bad_request(e.to_string()));
        }
    };
    let kind = envelope.request.type_name();
    // Streams hold a slot from here until their body is dropped; refused before the actor
    // sees anything. A failed dispatch drops the slot with it.
    let slot = if envelope.request.is_streaming() && !forwarded {
        match state.limits.open_stream(&principal.user_id).await {
            Ok(slot) => Some(slot),
            Err(e) => {
                metrics.record_request(kind, 429);
                return Err(e);
            }
        }
    } else {
        None
    };
    let opts = match send_options(&req, &state) {
        Ok(opts) => opts,
        Err(e) => {
            metrics.record_request(kind, 400);
            return Err(e);
        }
    };
    let owner = match envelope.request.actor_thread_id() {
        Some(thread_id) => route::owner_elsewhere(&state, &req, thread_id).await?,
        None => None,
    };
    if let Some(address) = owner {
        let response =
            route::forward_to(&state, &req, &principal, &address, body.into(), slot).await;
        let status = match &response {
            Ok(r) => r.status().as_u16(),
            Err(e) => actix_web::ResponseError::status_code(e).as_u16(),
        };
        metrics.record_request(kind, status);
        return response;
    }
    let span = tracing::info_span!("chatkit", r#type = kind, user_id = %principal.user_id);
    let result = tracing::Instrument::instrument(
        dispatch(&state, &principal, envelope, &origin(&req, &state), &opts),
        span,
    )
    .await;
    let response = match result {
        Ok(Reply::Json(v)) => Ok(HttpResponse::Ok().json(v)),
        Ok(Reply::Stream(TurnStream { log, handle })) => {
            let turn_id = log.turn_id.clone();
            let gone = ClientGone::new(move || handle.client_gone(turn_id));
            Ok(event_stream(&state, log, 0, Some(gone), slot))
        }
        Ok(Reply::Attach(snapshot)) => Ok(attach::response(&state, snapshot, slot)),
        Ok(Reply::Repeat(log)) => Ok(event_stream(&state, log, 0, None, slot)),
        Err(e) => Err(e),
    };
    let status = match &response {
        Ok(_) => 200,
        Err(e) => actix_web::ResponseError::status_code(e).as_u16(),
    };
    metrics.record_request(kind, status);
    response
}

/// The header a request sets to keep its turn running when its connection goes away.
pub const ON_DISCONNECT_HEADER: &str = "x-eventchat-on-disconnect";
/// The response header that names a streaming response's turn.
pub const TURN_HEADER: &str = "x-eventchat-turn";

/// The request's own disconnect policy (`X-Eventchat-On-Disconnect`), else the server's, and
/// its `Idempotency-Key` (a malformed one is a 400 whatever the request).
fn send_options(req: &HttpRequest, state: &AppState) -> Result<SendOptions, ApiError> {
    let on_disconnect = match req.headers().get(ON_DISCONNECT_HEADER) {
        None => state.settings.turns.on_disconnect,
        Some(v) => match v.to_str().map(str::trim) {
            Ok("cancel") => OnDisconnect::Cancel,
            Ok("continue") => OnDisconnect::Continue,
            _ => {
                return Err(ApiError::bad_request(
                    "X-Eventchat-On-Disconnect must be \"cancel\" or \"continue\"",
                ));
            }
        },
    };
    Ok(SendOptions {
        on_disconnect,
        idempotency_key: idempotency::header_key(req)?,
    })
}

/// A `text/event-stream` response that reads `log` after sequence number `after`, naming the
/// turn in `X-Eventchat-Turn`.
pub(crate) fn event_stream(
    state: &AppState,
    log: std::sync::Arc<crate::actors::turn_log::TurnLog>,
    after: u64,
    gone: Option<ClientGone>,
    slot: Option<crate::limits::StreamSlot>,
) -> HttpResponse {
    let keep_alive = Duration::from_secs(state.settings.server.sse_keep_alive_secs);
    let turn_id = log.turn_id.clone();
    let body = sse_body(log, after, keep_alive, gone);
    stream_response(Some(&turn_id), body, slot)
}

/// A stream of one retryable `error` event: the turn a client asks to follow died with its
/// node (cluster only).
fn interrupted_stream() -> HttpResponse {
    let event = crate::chatkit::sse::encode_event(
        &crate::chatkit::event::ThreadStreamEvent::error_stream(true),
    );
    let body = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(event) });
    stream_response(None, body, None)
}

/// A `text/event-stream` response of `body` with the streaming headers (protocol §1), naming
/// the turn it follows, if any, in `X-Eventchat-Turn`.
fn stream_response(
    turn_id: Option<&str>,
    body: impl futures::Stream<Item = Result<bytes::Bytes, std::convert::Infallible>> + 'static,
    slot: Option<crate::limits::StreamSlot>,
) -> HttpResponse {
    let body = Box::pin(body);
    let mut resp = HttpResponse::Ok();
    resp.content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"));
    if let Some(turn_id) = turn_id {
        resp.insert_header((TURN_HEADER, turn_id));
    }
    match slot {
        Some(slot) => resp.streaming(Guarded::new(body, slot)),
        None => resp.streaming(body),
    }
}

/// Phase two of an upload: raw bytes (`PUT` or `POST`) or `multipart/form-data` with a
/// `file` field, authorized by the `X-Upload-Token` header of the upload descriptor.
pub async fn upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // The upload token is a capability, like a bearer token: guesses share the address limit.
    check_address(&req, &state)?;
    let id = path.into_inner();
    let token = req
        .headers()
        .get(UPLOAD_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let max = usize::try_from(state.settings.limits.max_attachment_bytes).unwrap_or(usize::MAX);
    let is_multipart = content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("multipart/form-data"));
    let (bytes, part_type) = if is_multipart {
        read_multipart(&req, payload, max).await?
    } else {
        (read_limited(payload, max).await?, content_type)
    };
    let data = upload_bytes(&state, &id, token.as_deref(), part_type.as_deref(), &bytes).await?;
    Ok(HttpResponse::Ok().json(data))
}

/// Takes a token of the client address's bucket (`limits`), as the `Principal` extractor
/// does for bearer tokens.
fn check_address(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let client = state.limits.client_ip(req.peer_addr(), req.headers());
    state.limits.check_address(client)
}

/// Reads a body of at most `max` bytes.
async fn read_limited(mut payload: web::Payload, max: usize) -> Result<Vec<u8>, ApiError> {
    let mut buf = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
        if buf.len() + chunk.len() > max {
            return Err(ApiError::PayloadTooLarge(format!(
                "the body is larger than the limit of {max} bytes"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

async fn read_multipart(
    req: &HttpRequest,
    payload: web::Payload,
    max: usize,
) -> Result<(Vec<u8>, Option<String>), ApiError> {
    let mut form = actix_multipart::Multipart::new(req.headers(), payload.into_inner());
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| ApiError::bad_request(format!("invalid multipart body: {e}")))?;
        if field.name() != Some("file") {
            continue;
        }
        let part_type = field.content_type().map(|m| m.essence_str().to_owned());
        let mut buf = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| ApiError::bad_request(format!("upload failed: {e}")))?;
            if buf.len() + chunk.len() > max {
                return Err(ApiError::PayloadTooLarge(format!(
                    "attachments are limited to {max} bytes"
                )));
            }
            buf.extend_from_slice(&chunk);
        }
        return Ok((buf, part_type));
    }
    Err(ApiError::bad_request(
        "multipart upload has no `file` field",
    ))
}

#[derive(serde::Deserialize)]
pub struct PreviewQuery {
    #[serde(default)]
    token: String,
}

/// The bytes behind an image attachment's `preview_url`.
pub async fn preview(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PreviewQuery>,
) -> Result<HttpResponse, ApiError> {
    check_address(&req, &state)?;
    let (mime, bytes) = read_bytes(&state, &path.into_inner(), &query.token).await?;
    let content_type = mime
        .parse::<mime::Mime>()
        .map_or(ContentType::octet_stream(), ContentType);
    Ok(HttpResponse::Ok()
        .insert_header(content_type)
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(bytes))
}
