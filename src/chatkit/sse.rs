//! Server-sent-event framing (protocol §1).
//!
//! Each event is exactly the bytes `data: ` + compact JSON + `\n\n`: no `event:` or `id:`
//! lines and no terminal sentinel; the end of the HTTP body ends the response. JSON never
//! contains a raw newline, so an event is always a single `data:` line.
//!
//! The reference sends no keep-alives; [`KEEP_ALIVE`] is an SSE comment frame that
//! EventSource-style parsers ignore, for use during long silences behind proxies.

use bytes::Bytes;

use super::event::ThreadStreamEvent;

/// An SSE comment frame, ignored by clients.
pub const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// The generic retryable ChatKit `error` event as a frame: sent when an event cannot be
/// serialized (which cannot happen for these types) and when a stream ends without its
/// turn's end (the actor died).
pub const STREAM_ERROR_FRAME: &[u8] =
    b"data: {\"type\":\"error\",\"code\":\"stream.error\",\"allow_retry\":true}\n\n";

/// Encodes one event as `data: <compact json>\n\n`.
pub fn encode_event(event: &ThreadStreamEvent) -> Bytes {
    let mut frame = Vec::with_capacity(256);
    frame.extend_from_slice(b"data: ");
    match serde_json::to_writer(&mut frame, event) {
        Ok(()) => {
            frame.extend_from_slice(b"\n\n");
            Bytes::from(frame)
        }
        Err(_) => Bytes::from_static(STREAM_ERROR_FRAME),
    }
}
