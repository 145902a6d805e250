//! The OpenAI wire format of a reply: the one `chat.completion` body of a non-streamed answer,
//! the `chat.completion.chunk` data lines of a streamed one (role chunk, content deltas, tool-call
//! deltas split the way OpenAI splits them, finish and usage chunks, `[DONE]`), the error body,
//! the pacing of a stream on absolute deadlines from the request's arrival, and a stream's
//! fault in place of a frame (a reset, an error line, raw bytes, a stall).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::HttpResponse;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::reply::{Cut, MockToolCall, Reply, ReplyKind};
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

#[derive(Debug, PartialEq)]
enum Frame {
    Data(String),
    /// Fails the body: the connection is reset.
    Abort,
    /// Sends nothing for [`STALL`], then ends the body.
    Stall,
}

/// How long a stalled stream holds its connection open: longer than any test runs.
const STALL: Duration = Duration::from_secs(3600);

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

/// The frames of a streamed reply and when each is due: the payloads as `data:` lines, then
/// `[DONE]`, or the reply's fault in place of payload `n` (keeping its deadline) or, past the
/// last payload, in place of `[DONE]`.
fn frames_of(reply: &Reply, payloads: Vec<String>) -> Vec<(Frame, Option<Duration>)> {
    let tokens = text_pieces(reply).len();
    let (first, between) = (reply.first_token_delay, reply.token_delay);
    let mut frames: Vec<(Frame, Option<Duration>)> = Vec::with_capacity(payloads.len() + 1);
    let cut_at = reply.cut.as_ref().map_or(usize::MAX, |(n, _)| *n);
    let mut replaced = None;
    for (i, payload) in payloads.into_iter().enumerate() {
        let due = deadline_of(i, tokens, first, between);
        if i == cut_at {
            replaced = due;
            break;
        }
        frames.push((Frame::Data(format!("data: {payload}\n\n")), due));
    }
    match reply.cut.as_ref().map(|(_, cut)| cut) {
        None => frames.push((Frame::Data("data: [DONE]\n\n".to_owned()), None)),
        Some(Cut::Disconnect) => frames.push((Frame::Abort, replaced)),
        Some(Cut::Error(message)) => {
            let error = error_body(message, "server_error", None);
            frames.push((Frame::Data(format!("data: {error}\n\n")), replaced));
        }
        Some(Cut::Raw(bytes)) => frames.push((Frame::Data(bytes.clone()), replaced)),
        Some(Cut::Stall) => frames.push((Frame::Stall, replaced)),
    }
    frames
}

pub(crate) fn stream_response(
    reply: &Reply,
    model: &str,
    include_usage: bool,
    request_bytes: usize,
    stream: StreamClock,
) -> HttpResponse {
    let payloads = stream_payloads(reply, model, include_usage, request_bytes);
    let frames = frames_of(reply, payloads);
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
            if matches!(frame, Frame::Stall) {
                at = Some(at.unwrap_or_else(tokio::time::Instant::now) + STALL);
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
                Frame::Stall => Ok(Bytes::new()),
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

    /// A fault takes the place of data line `n` with that line's deadline (a stall after two
    /// tokens starts when the third token was due); past the last line it replaces `[DONE]`.
    #[test]
    fn a_fault_replaces_its_frame_and_done() {
        let between = Duration::from_millis(10);
        let reply = Reply::text(["a", "b", "c"]).token_delay(between);
        let frames = |r: &Reply| frames_of(r, stream_payloads(r, "m", false, 0));
        let kinds = |f: &[(Frame, Option<Duration>)]| {
            f.iter()
                .map(|(frame, _)| match frame {
                    Frame::Data(line) if line == "data: [DONE]\n\n" => "done".to_owned(),
                    Frame::Data(line) if line.starts_with("data: {\"error\"") => "error".to_owned(),
                    Frame::Data(line) if line.contains("chat.completion.chunk") => {
                        "chunk".to_owned()
                    }
                    Frame::Data(line) => format!("raw {line:?}"),
                    Frame::Abort => "abort".to_owned(),
                    Frame::Stall => "stall".to_owned(),
                })
                .collect::<Vec<_>>()
        };
        // Role, three tokens, finish.
        assert_eq!(
            kinds(&frames(&reply)),
            ["chunk"; 5]
                .iter()
                .map(|s| s.to_string())
                .chain(["done".to_owned()])
                .collect::<Vec<_>>()
        );
        let stalled = frames(&reply.clone().stall_after(3));
        assert_eq!(kinds(&stalled), ["chunk", "chunk", "chunk", "stall"]);
        assert_eq!(
            stalled[3].1,
            Some(between * 2),
            "the third token's deadline"
        );
        assert_eq!(
            kinds(&frames(&reply.clone().raw_after(2, "data: {oops\n\n"))),
            ["chunk", "chunk", "raw \"data: {oops\\n\\n\""]
        );
        assert_eq!(
            kinds(&frames(&reply.clone().end_after(2))),
            ["chunk", "chunk", "raw \"\""]
        );
        assert_eq!(
            kinds(&frames(&reply.clone().error_after(1, "x"))),
            ["chunk", "error"]
        );
        let late = frames(&reply.disconnect_after(99));
        assert_eq!(kinds(&late).last().map(String::as_str), Some("abort"));
        assert_eq!(
            late.len(),
            6,
            "every payload, then the abort instead of [DONE]"
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
