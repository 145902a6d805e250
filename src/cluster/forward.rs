//! Forwarding a request to the node that owns its thread (issue #17).
//!
//! ChatKit posts every request to one URL and a cross-origin redirect drops the
//! `Authorization` header, so a node never redirects: it sends the request on to the owner
//! over internal HTTP and streams the owner's answer back byte for byte (status, the headers
//! a client reads, the body as it arrives, SSE frames included, flushed as they come).
//!
//! The forwarded request carries the body unchanged, the headers that change how it is
//! served (`Content-Type`, `Idempotency-Key`, `X-Eventchat-On-Disconnect`,
//! `Accept-Language`), and instead of the bearer token the already-verified principal,
//! signed (`signing.rs`). The owner never forwards a forwarded request again: if the thread
//! moved meanwhile it answers 503, and the client's retry starts over at any node.
//!
//! Failures before the owner answers (it cannot be reached, or gives no headers within
//! `cluster.forward_timeout_ms`) are a 503 with `Retry-After: 1`: the owner is probably dying,
//! and once its heartbeat is older than the timeout the thread is taken over. A failure in
//! the middle of an event stream ends the stream with one retryable `error` event, so the
//! widget does not wait forever. When the client goes away, its response is dropped, which
//! drops the internal request, and the owner sees the disconnect as if the client had been
//! its own.

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use bytes::Bytes;
use futures::{Stream, StreamExt};

use super::Cluster;
use super::signing::PRINCIPAL_HEADER;
use crate::auth::Principal;
use crate::chatkit::event::ThreadStreamEvent;
use crate::chatkit::sse::encode_event;
use crate::error::ApiError;

/// Request headers passed on to the owner.
const PASSED_REQUEST: [&str; 5] = [
    "content-type",
    "idempotency-key",
    "x-eventchat-on-disconnect",
    "accept-language",
    "accept",
];

/// Response headers passed back to the client.
const PASSED_RESPONSE: [&str; 5] = [
    "content-type",
    "cache-control",
    "x-accel-buffering",
    "x-eventchat-turn",
    "retry-after",
];

/// One request to hand to the owner.
pub struct Forward<'a> {
    /// The owner's internal `host:port`.
    pub address: &'a str,
    pub method: reqwest::Method,
    /// Path and query, as the client sent them.
    pub path_and_query: &'a str,
    pub headers: &'a HeaderMap,
    pub principal: &'a Principal,
    pub body: Bytes,
    /// The client's stream slot, held until the forwarded stream ends.
    pub slot: Option<crate::limits::StreamSlot>,
}

/// Sends `f` to the owner and answers with what it answers (see the module doc).
pub async fn forward(cluster: &Cluster, f: Forward<'_>) -> Result<HttpResponse, ApiError> {
    let metrics = crate::metrics::global();
    metrics.cluster_forwards.inc();
    let url = format!("http://{}{}", f.address, f.path_and_query);
    let now = chrono::Utc::now().timestamp();
    let mut req = cluster
        .http()
        .request(f.method, &url)
        .header(
            PRINCIPAL_HEADER,
            cluster.signer().sign(f.principal, cluster.node_id(), now),
        )
        .body(f.body);
    for name in PASSED_REQUEST {
        if let Some(v) = f.headers.get(name)
            && let Ok(v) = v.to_str()
        {
            req = req.header(name, v);
        }
    }
    let wait = Duration::from_millis(cluster.settings().forward_timeout_ms.max(100));
    let resp = match tokio::time::timeout(wait, req.send()).await {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) => {
            metrics.cluster_forward_errors.inc();
            tracing::warn!(owner = f.address, error = %e, "cannot forward to the thread's owner");
            return Err(owner_unavailable());
        }
        Err(_) => {
            metrics.cluster_forward_errors.inc();
            tracing::warn!(
                owner = f.address,
                "the thread's owner did not answer in time"
            );
            return Err(owner_unavailable());
        }
    };
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = HttpResponse::build(status);
    let mut is_stream = false;
    for name in PASSED_RESPONSE {
        if let Some(v) = resp.headers().get(name)
            && let Ok(v) = v.to_str()
        {
            if name == "content-type" && v.starts_with("text/event-stream") {
                is_stream = true;
            }
            out.insert_header((name, v));
        }
    }
    let body = resp.bytes_stream();
    if !is_stream {
        return Ok(out.streaming(body));
    }
    let body = Box::pin(ending_with_error(body));
    Ok(match f.slot {
        Some(slot) => out.streaming(crate::limits::Guarded::new(body, slot)),
        None => out.streaming(body),
    })
}

/// The owner's event stream; if it breaks off (the owner died), one retryable `error` event
/// ends it instead.
fn ending_with_error(
    body: impl Stream<Item = reqwest::Result<Bytes>> + Unpin + 'static,
) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + 'static {
    futures::stream::unfold(Some(body), |state| async move {
        let mut body = state?;
        match body.next().await {
            Some(Ok(bytes)) => Some((Ok(bytes), Some(body))),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "the owner's event stream broke off");
                crate::metrics::global().cluster_forward_errors.inc();
                Some((
                    Ok(encode_event(&ThreadStreamEvent::error_stream(true))),
                    None,
                ))
            }
            None => None,
        }
    })
}

fn owner_unavailable() -> ApiError {
    ApiError::Unavailable(Box::new(std::io::Error::other(
        "the node that serves this conversation cannot be reached; try again in a moment",
    )))
}
