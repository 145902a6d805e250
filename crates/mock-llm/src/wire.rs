//! The OpenAI wire format of a reply: the one `chat.completion` body of a non-streamed answer,
//! the `chat.completion.chunk` data lines of a streamed one (role chunk, content deltas, tool-call
//! deltas split the way OpenAI splits them, finish and usage chunks, `[DONE]`), the error body,
//! and the pacing of a stream on absolute deadlines from the request's arrival.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::HttpResponse;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::reply::{MockToolCall, Reply, ReplyKind};
use crate::server::{Shared, record_interval};

/// An OpenAI error body, `{"error":{"message","type","param","code"}}`.
pub(crate) fn error_body(message: &str, kind: &str, code: Option<&str>) -> Value {
    json!({ "error": { "message": message, "type": kind, "param": null, "code": code } })
}

fn text_pieces(reply: &Reply) -> Vec<String> {
    match &reply.kind {
        ReplyKind::Stream { text, .. } => text.clone(),
        ReplyKind::Generated(n) => (0..*n).map(|i| format!("tok{i} ")).collect(),
        _ => Vec::new(),
    }
}

fn tool_calls_of(reply: &Reply) -> &[MockToolCall] {
    match &reply.kind {
        ReplyKind::Stream { tool_calls, .. } => tool_calls,
        _ => &[],
    }
}

fn usage_json(reply: &Reply, request_bytes: usize, pieces: usize) -> Value {
    let (prompt, completion) = reply
        .usage
        .unwrap_or(((request_bytes / 4) as u32, pieces as u32));
    json!({ "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion })
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn completion_body(reply: &Reply, model: &str, request_bytes: usize) -> Value {
    let pieces = text_pieces(reply);
    let calls = tool_calls_of(reply);
    let mut message = json!({ "role": "assistant", "content": pieces.concat() });
    if !calls.is_empty() {
        message["tool_calls"] = calls
            .iter()
            .map(|c| {
                json!({ "id": c.id, "type": "function",
                        "function": { "name": c.name, "arguments": c.arguments.to_string() } })
            })
            .collect();
    }
    json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": now_secs(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": message,
            "finish_reason": if calls.is_empty() { "stop" } else { "tool_calls" },
        }],
        "usage": usage_json(reply, request_bytes, pieces.len()),
    })
}

/// Splits `s` into about `parts` pieces on character boundaries.
fn split_into(s: &str, parts: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let size = chars.len().div_ceil(parts.max(1)).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// The data payloads of a streamed reply, in order, without `[DONE]`.
fn stream_payloads(
    reply: &Reply,
    model: &str,
    include_usage: bool,
    request_bytes: usize,
) -> Vec<String> {
    let created = now_secs();
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": "chatcmpl-mock",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        })
        .to_string()
    };
    let pieces = text_pieces(reply);
    let calls = tool_calls_of(reply);
    let mut out = vec![chunk(
        json!({ "role": "assistant", "content": "" }),
        Value::Null,
    )];
    out.extend(
        pieces
            .iter()
            .map(|p| chunk(json!({ "content": p }), Value::Null)),
    );
    // Parallel calls: all headers first, then the argument pieces round-robin by index.
    for (index, call) in calls.iter().enumerate() {
        let header = json!({ "index": index, "id": call.id, "type": "function",
                             "function": { "name": call.name, "arguments": "" } });
        out.push(chunk(json!({ "tool_calls": [header] }), Value::Null));
    }
    let split: Vec<Vec<String>> = calls
        .iter()
        .map(|c| split_into(&c.arguments.to_string(), 3))
        .collect();
    let rounds = split.iter().map(Vec::len).max().unwrap_or(0);
    for round in 0..rounds {
        for (index, parts) in split.iter().enumerate() {
            if let Some(part) = parts.get(round) {
                let delta = json!({ "index": index, "function": { "arguments": part } });
                out.push(chunk(json!({ "tool_calls": [delta] }), Value::Null));
            }
        }
    }
    let finish = if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    out.push(chunk(json!({}), json!(finish)));
    if include_usage {
        out.push(
            json!({
                "id": "chatcmpl-mock",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage_json(reply, request_bytes, pieces.len()),
            })
            .to_string(),
        );
    }
    out
}

enum Frame {
    Data(String),
    Abort,
}

/// Where a streamed reply's frames are timed from, and where its interval is recorded.
pub(crate) struct StreamClock {
    pub(crate) arrived: Instant,
    pub(crate) shared: Shared,
    /// The request's number, for [`EarlyClose`].
    pub(crate) index: usize,
}

/// Lives as long as a streamed body: dropped before the last frame was produced, the client
/// went away (a cancelled turn closes its model request), which is recorded with the time.
struct EarlyClose {
    shared: Shared,
    index: usize,
    finished: bool,
}

impl Drop for EarlyClose {
    fn drop(&mut self) {
        if !self.finished {
            crate::server::record_early_close(&self.shared, self.index);
        }
    }
}

/// When frame `i` of the payloads is due, as an offset from the request's arrival: the role
/// chunk (0) with the first token, token `k` (payload `k + 1`) at `first + k × between`; the
/// other frames (tool-call chunks, finish, usage) have no deadline of their own.
fn deadline_of(i: usize, tokens: usize, first: Duration, between: Duration) -> Option<Duration> {
    match i {
        0 => Some(first),
        i if i <= tokens => Some(first + between * (i - 1) as u32),
        _ => None,
    }
}

pub(crate) fn stream_response(
    reply: &Reply,
    model: &str,
    include_usage: bool,
    request_bytes: usize,
    stream: StreamClock,
) -> HttpResponse {
    let payloads = stream_payloads(reply, model, include_usage, request_bytes);
    let tokens = text_pieces(reply).len();
    let (first, between) = (reply.first_token_delay, reply.token_delay);
    let mut frames: Vec<(Frame, Option<Duration>)> = Vec::with_capacity(payloads.len() + 1);
    let cut = reply.disconnect_after.unwrap_or(usize::MAX);
    let error_at = reply
        .error_after
        .as_ref()
        .map(|(n, _)| *n)
        .unwrap_or(usize::MAX);
    // An abort or error line that replaces a frame keeps that frame's deadline.
    let mut replaced = None;
    for (i, payload) in payloads.into_iter().enumerate() {
        let due = deadline_of(i, tokens, first, between);
        if i == cut {
            frames.push((Frame::Abort, due));
            break;
        }
        if i == error_at {
            replaced = due;
            break;
        }
        frames.push((Frame::Data(format!("data: {payload}\n\n")), due));
    }
    if let Some((_, message)) = &reply.error_after {
        let error = error_body(message, "server_error", None);
        frames.push((Frame::Data(format!("data: {error}\n\n")), replaced));
    } else if !matches!(frames.last(), Some((Frame::Abort, _))) {
        if cut != usize::MAX {
            frames.push((Frame::Abort, None));
        } else {
            frames.push((Frame::Data("data: [DONE]\n\n".to_owned()), None));
        }
    }
    let start = tokio::time::Instant::from_std(stream.arrived);
    let close = EarlyClose {
        shared: stream.shared.clone(),
        index: stream.index,
        finished: false,
    };
    let body = futures::stream::unfold(
        (frames.into_iter().peekable(), stream, close),
        move |(mut it, stream, mut close)| async move {
            // The last frame marked the body finished (see below).
            let (frame, due) = it.next()?;
            let mut at = due.map(|d| start + d);
            if matches!(frame, Frame::Abort) {
                // actix drops unflushed output when a body fails: let what was sent reach the peer.
                let grace = tokio::time::Instant::now() + Duration::from_millis(50);
                at = Some(at.map_or(grace, |a| a.max(grace)));
            }
            if let Some(at) = at
                && at > tokio::time::Instant::now()
            {
                tokio::time::sleep_until(at).await;
            }
            if it.peek().is_none() || matches!(frame, Frame::Abort) {
                record_interval(&stream.shared, stream.arrived);
            }
            let item = match frame {
                Frame::Data(line) => Ok(Bytes::from(line)),
                Frame::Abort => Err(std::io::Error::other("mock llm: disconnect")),
            };
            if it.peek().is_none() {
                close.finished = true;
            }
            Some((item, (it, stream, close)))
        },
    );
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .streaming(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frames' deadlines are absolute: token `k` is due at `first + k × between` whatever
    /// the frames before it cost, and frames after the last token have none of their own.
    #[test]
    fn deadlines_are_offsets_from_the_arrival() {
        let (first, between) = (Duration::from_millis(100), Duration::from_millis(20));
        let due = |i| deadline_of(i, 3, first, between);
        assert_eq!(
            due(0),
            Some(first),
            "the role chunk goes with the first token"
        );
        assert_eq!(due(1), Some(first));
        assert_eq!(due(3), Some(first + between * 2));
        assert_eq!(due(4), None, "the finish chunk follows the last token");
    }

    /// Parallel tool calls stream as OpenAI sends them: every header first, then the argument
    /// pieces round-robin by index, which put back together give each call's arguments.
    #[test]
    fn parallel_tool_calls_are_headers_then_interleaved_arguments() {
        let calls = vec![
            MockToolCall::new("call_a", "first", json!({"event": "e1", "note": "été"})),
            MockToolCall::new("call_b", "second", json!({})),
        ];
        let payloads = stream_payloads(&Reply::tool_calls(calls.clone()), "m", true, 40);
        let chunks: Vec<Value> = payloads
            .iter()
            .map(|p| serde_json::from_str(p).unwrap_or(Value::Null))
            .collect();
        let delta = |c: &Value| c["choices"][0]["delta"].clone();
        assert_eq!(delta(&chunks[0])["role"], "assistant");
        assert_eq!(delta(&chunks[1])["tool_calls"][0]["id"], "call_a");
        assert_eq!(delta(&chunks[2])["tool_calls"][0]["id"], "call_b");
        let mut arguments = [String::new(), String::new()];
        let mut order = Vec::new();
        for chunk in &chunks[3..chunks.len() - 2] {
            let call = &delta(chunk)["tool_calls"][0];
            let index = call["index"].as_u64().unwrap_or(9) as usize;
            order.push(index);
            arguments[index].push_str(call["function"]["arguments"].as_str().unwrap_or(""));
        }
        assert_eq!(order[..2], [0, 1], "the first pieces alternate by index");
        for (call, got) in calls.iter().zip(&arguments) {
            assert_eq!(*got, call.arguments.to_string());
        }
        let finish = &chunks[chunks.len() - 2];
        assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
        let usage = &chunks[chunks.len() - 1];
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(
            usage["usage"]["prompt_tokens"], 10,
            "a quarter of the request's bytes"
        );
    }

    /// Argument pieces never cut a character in two.
    #[test]
    fn split_keeps_characters_whole() {
        let pieces = split_into("aé€😀b", 3);
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces.concat(), "aé€😀b");
        assert_eq!(split_into("", 3), Vec::<String>::new());
    }
}
