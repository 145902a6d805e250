//! Idempotent sends: `threads.create` and `threads.add_user_message` with an idempotency key
//! run at most once per user and key within `turns.idempotency_window_secs` (600 s).
//!
//! The key is the request header `Idempotency-Key` or the envelope's `metadata.clientMessageId`
//! (`client_message_id` too): 1 to 200 characters of printable ASCII (space to `~`), not all
//! blank; anything else (and a non-string `clientMessageId`, or a header and a metadata key
//! that differ) is a 400 before anything is written. Keys are per user: another user's same
//! key is another send. The other requests ignore a key (a malformed header is still a 400).
//!
//! A repeat of a key (the same user, within the window) writes nothing: no second thread,
//! message or turn. What it answers:
//!
//! - the first send's turn is queued or running, or ended and still retained
//!   (`turns.retention_secs`): `200`, the same `X-Eventchat-Turn`, and that turn's events from
//!   sequence 0 (what the first response already got, then the live tail). The repeat's
//!   connection is a reader like a resume: its loss cancels nothing (the turn's disconnect
//!   policy follows the first send's connection; `POST turns/{id}/cancel` stops it). So under
//!   the default `cancel` policy a retry after a lost connection gets what the cancelled turn
//!   kept (the partial answer); a client that retries sends should also send
//!   `X-Eventchat-On-Disconnect: continue` to get the whole answer. A turn longer than
//!   `turns.buffer_events` gives the single `error` event a resume gets.
//! - the first send's turn is no longer retained: `409 conflict` naming the turn and the
//!   thread, whose items hold the message and its answer; the client loads the thread.
//! - the first send was taken by the previous process (the server restarted within the
//!   window) or by another node of a cluster: its message is in the store with the key in
//!   its server metadata; `409 conflict` naming the thread and the message. (Looked up only
//!   while this process cannot know every key of the window: in its first window after
//!   start, and always in a cluster.)
//! - the first send is still being started (concurrent duplicates): the repeat waits for its
//!   turn id and attaches as above; after 10 s (`actors::send_keys::START_WAIT`) it gets a
//!   `409 conflict` to try again.
//! - the first send's turn was cancelled while still queued (its connection went away under
//!   the `cancel` policy) and so ended without an event: nothing of it was stored, the key is
//!   released and the repeat runs as a first send.
//! - the first send failed before its turn was queued (a 4xx of validation, a busy thread, a
//!   dropped request): the key is released, and a repeat (also one already waiting) runs as a
//!   first send, with its own checks: the same body fails the same way, a transient failure
//!   gets its retry. A `threads.create` that failed after storing its thread (an actor that
//!   cannot start) leaves that empty thread, as a send without a key does.
//! - the key's first send was a different request (a create, then a message; a message to
//!   another thread): `409 conflict`.
//!
//! Every repeat answered with the first send's outcome counts in `duplicate_sends`.

use std::future::Future;
use std::sync::Arc;

use actix_web::HttpRequest;
use serde_json::{Map, Value};

use super::dispatch::Reply;
use super::streaming::SendOptions;
use crate::actors::send_keys::{Claim, PriorSend, Target};
use crate::actors::turn_log::TurnLog;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;

/// The request header of a send's idempotency key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// The longest accepted key.
pub const MAX_KEY_CHARS: usize = 200;

fn check_key(raw: &str, source: &str) -> Result<String, ApiError> {
    let printable = raw.bytes().all(|b| (b' '..=b'~').contains(&b));
    if printable && raw.len() <= MAX_KEY_CHARS && !raw.trim().is_empty() {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::bad_request(format!(
            "{source} must be 1 to {MAX_KEY_CHARS} characters of printable ASCII"
        )))
    }
}

/// The `Idempotency-Key` header, checked.
pub(super) fn header_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(IDEMPOTENCY_KEY_HEADER) else {
        return Ok(None);
    };
    let raw = value
        .to_str()
        .map_err(|_| ApiError::bad_request("Idempotency-Key must be printable ASCII"))?;
    check_key(raw, "Idempotency-Key").map(Some)
}

/// `opts` with the key of the envelope's `metadata.clientMessageId` when the header has none.
pub(super) fn with_metadata_key(
    opts: &SendOptions,
    meta: &Map<String, Value>,
) -> Result<SendOptions, ApiError> {
    let from_meta = match meta
        .get("clientMessageId")
        .or_else(|| meta.get("client_message_id"))
    {
        None | Some(Value::Null) => None,
        Some(Value::String(raw)) => Some(check_key(raw, "metadata.clientMessageId")?),
        Some(_) => {
            return Err(ApiError::bad_request(
                "metadata.clientMessageId must be a string",
            ));
        }
    };
    let key = match (&opts.idempotency_key, from_meta) {
        (Some(h), Some(m)) if *h != m => {
            return Err(ApiError::bad_request(
                "Idempotency-Key and metadata.clientMessageId differ",
            ));
        }
        (Some(h), _) => Some(h.clone()),
        (None, m) => m,
    };
    Ok(SendOptions {
        idempotency_key: key,
        ..opts.clone()
    })
}

/// Runs `send` unless its key's first send is known (see the module doc). `send` is not
/// polled for a repeat, so nothing of it is written.
pub(super) async fn once(
    state: &AppState,
    p: &Principal,
    opts: &SendOptions,
    target: Target,
    send: impl Future<Output = Result<Reply, ApiError>>,
) -> Result<Reply, ApiError> {
    // A window of 0 remembers nothing: keys are off.
    let key = opts
        .idempotency_key
        .as_deref()
        .filter(|_| state.settings.turns.idempotency_window_secs > 0);
    let Some(key) = key else {
        return send.await;
    };
    let sends = state.registry.sends();
    // Bounded: each release is of a turn that ended without an event, which takes another
    // send's cancel while queued in between.
    let mut releases = 0;
    let guard = loop {
        match sends.claim(&p.user_id, key, target.clone()).await? {
            Claim::First(guard) => break guard,
            Claim::Repeat(prior) => {
                let log = state.registry.turn(&prior.turn_id);
                if releases < 3 && log.as_deref().is_some_and(never_started) {
                    sends.release(&p.user_id, key, &prior.turn_id);
                    releases += 1;
                    continue;
                }
                crate::metrics::global().duplicate_sends.inc();
                tracing::debug!(turn_id = %prior.turn_id, "repeat send attaches to its first turn");
                return attach(key, &prior, log);
            }
        }
    };
    // A first send for this process's memory may still be a repeat of one the previous
    // process (or another node) took: its message in the store says so. An error drops the
    // guard, which releases the key.
    if state.settings.cluster.enabled || !sends.covers_window() {
        stored_send(state, p, key, &target).await?;
    }
    let reply = send.await?;
    if let Reply::Stream(stream) = &reply {
        guard.started(PriorSend {
            turn_id: stream.log.turn_id.clone(),
            thread_id: stream.log.thread_id.clone(),
        });
    }
    Ok(reply)
}

/// The 409 for a key whose message is in the store though not in this process's memory: its
/// turn ran in a process that has since stopped (or on another node), so its events are not
/// here to attach to.
async fn stored_send(
    state: &AppState,
    p: &Principal,
    key: &str,
    target: &Target,
) -> Result<(), ApiError> {
    let window = state.settings.turns.idempotency_window_secs;
    let since = chrono::Utc::now()
        - chrono::Duration::seconds(i64::try_from(window).unwrap_or(i64::MAX / 1000));
    let thread = match target {
        Target::NewThread => None,
        Target::Thread(id) => Some(id.as_str()),
    };
    let found = state
        .stores
        .items
        .sent_with_key(&p.user_id, thread, key, since)
        .await?;
    match found {
        None => Ok(()),
        Some((thread_id, item_id)) => {
            crate::metrics::global().duplicate_sends.inc();
            tracing::debug!(%thread_id, %item_id, "repeat send of a message stored before this process");
            Err(ApiError::Conflict(format!(
                "this message was already sent (idempotency key {key:?}) as item {item_id} of thread {thread_id}; its answer is in the thread's items"
            )))
        }
    }
}

/// Whether a turn ended without a single event: it was cancelled while still queued (its
/// connection went away under the `cancel` policy), so nothing of it was stored.
fn never_started(log: &TurnLog) -> bool {
    log.ended_at().is_some() && log.last_seq() == 0
}

/// The first send's turn, or the 409 that says where its message is.
fn attach(key: &str, prior: &PriorSend, log: Option<Arc<TurnLog>>) -> Result<Reply, ApiError> {
    match log {
        Some(log) => Ok(Reply::Repeat(log)),
        None => Err(ApiError::Conflict(format!(
            "this message was already sent (idempotency key {key:?}) and answered in turn {} of thread {}; its events are no longer kept, load the thread's items instead",
            prior.turn_id, prior.thread_id
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::OnDisconnect;
    use serde_json::json;

    fn opts(key: Option<&str>) -> SendOptions {
        SendOptions {
            on_disconnect: OnDisconnect::Cancel,
            idempotency_key: key.map(str::to_owned),
        }
    }

    fn meta(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn keys_are_short_printable_ascii() {
        assert_eq!(check_key("msg-1 a~", "k").unwrap(), "msg-1 a~");
        assert!(check_key(&"x".repeat(MAX_KEY_CHARS), "k").is_ok());
        for bad in ["", "   ", "caf\u{e9}", "a\tb", "a\nb"] {
            assert!(check_key(bad, "k").is_err(), "{bad:?}");
        }
        assert!(check_key(&"x".repeat(MAX_KEY_CHARS + 1), "k").is_err());
    }

    #[test]
    fn the_metadata_key_fills_in_for_the_header() {
        let m = meta(json!({"clientMessageId": "m1"}));
        let got = with_metadata_key(&opts(None), &m).unwrap();
        assert_eq!(got.idempotency_key.as_deref(), Some("m1"));
        let got = with_metadata_key(&opts(Some("m1")), &m).unwrap();
        assert_eq!(got.idempotency_key.as_deref(), Some("m1"));
        assert!(with_metadata_key(&opts(Some("h1")), &m).is_err());
        let got = with_metadata_key(&opts(Some("h1")), &Map::new()).unwrap();
        assert_eq!(got.idempotency_key.as_deref(), Some("h1"));
        let snake = meta(json!({"client_message_id": "m2"}));
        let got = with_metadata_key(&opts(None), &snake).unwrap();
        assert_eq!(got.idempotency_key.as_deref(), Some("m2"));
        assert!(with_metadata_key(&opts(None), &meta(json!({"clientMessageId": 7}))).is_err());
        let null = meta(json!({"clientMessageId": null}));
        assert_eq!(
            with_metadata_key(&opts(None), &null)
                .unwrap()
                .idempotency_key,
            None
        );
    }
}
