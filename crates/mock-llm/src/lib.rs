//! A scripted, OpenAI-compatible chat-completions server for tests and benchmarks.
//!
//! [`MockLlm::start`] binds `127.0.0.1:0` and serves `POST /v1/chat/completions` (and
//! `/chat/completions`) from its own thread with its own actix system, so the server under
//! test never shares a runtime with it. Each request pops the next scripted [`Reply`]; when the
//! script is empty the fallback is used, and without a fallback the mock answers HTTP 500
//! "mock llm: no scripted reply left" so that a test which forgot a reply fails loudly.
//!
//! Streaming replies follow OpenAI's wire format: `data: {chat.completion.chunk}\n\n` lines,
//! a first chunk carrying `role: "assistant"`, tool-call deltas split the way OpenAI splits
//! them, a final chunk with `finish_reason`, a usage chunk with `choices: []` when the request
//! asked for `stream_options.include_usage`, then `data: [DONE]\n\n`. Requests without
//! `stream: true` get one `chat.completion` JSON body.
//!
//! Pacing of a streamed reply is on absolute deadlines from the moment the request reached the
//! handler (`start`): the role chunk and the first content token at `start + first_token_delay`,
//! content token `k` (0-based) at `start + first_token_delay + k × token_delay`, and every other
//! frame (tool-call chunks, the finish and usage chunks, `[DONE]`) right after the frame before
//! it. So `generated(32).token_delay(20 ms)` lasts 31 × 20 ms and no timer slop accumulates.
//!
//! For benchmarks: [`MockLlm::start_with_workers`] serves from several threads,
//! [`MockLlm::set_recording`]`(false)` keeps only a request count instead of every body,
//! [`MockLlm::set_interval_recording`] + [`MockLlm::take_intervals`] give each request's service
//! interval (the mock's own time), and [`MockLlm::set_responder`] picks a reply from the request
//! itself (e.g. a tool call first, then text once the request carries the tool result).
//!
//! Used by the integration tests (`tests/api`, a dev-dependency of the server) and by the
//! benchmark (`bench/`); the server itself never depends on it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::body::{BodySize, MessageBody};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, dev::ServerHandle, web};
use bytes::Bytes;
use serde_json::{Value, json};

/// One tool call the mock model makes.
#[derive(Clone, Debug)]
pub struct MockToolCall {
    pub id: String,
    pub name: String,
    pub arguments: Value,
}

impl MockToolCall {
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: Value) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            arguments,
        }
    }
}

#[derive(Clone, Debug)]
enum ReplyKind {
    /// Content deltas, then tool calls (either may be empty).
    Stream {
        text: Vec<String>,
        tool_calls: Vec<MockToolCall>,
    },
    /// `n` content deltas `"tok0 "`, `"tok1 "`, ... (benchmarks).
    Generated(usize),
    HttpError {
        status: u16,
        message: String,
    },
    RateLimited {
        retry_after_secs: u64,
    },
}

/// What the mock answers to one request. Build with the constructors, refine with the
/// builder methods.
#[derive(Clone, Debug)]
pub struct Reply {
    kind: ReplyKind,
    usage: Option<(u32, u32)>,
    first_token_delay: Duration,
    token_delay: Duration,
    disconnect_after: Option<usize>,
    error_after: Option<(usize, String)>,
}

impl Reply {
    fn of(kind: ReplyKind) -> Self {
        Self {
            kind,
            usage: None,
            first_token_delay: Duration::ZERO,
            token_delay: Duration::ZERO,
            disconnect_after: None,
            error_after: None,
        }
    }

    /// Streams each piece as one content delta.
    pub fn text<I, S>(pieces: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::of(ReplyKind::Stream {
            text: pieces.into_iter().map(Into::into).collect(),
            tool_calls: Vec::new(),
        })
    }

    /// Streams tool calls (interleaved by index, arguments split over several chunks) and
    /// finishes with `finish_reason: "tool_calls"`.
    pub fn tool_calls(calls: Vec<MockToolCall>) -> Self {
        Self::of(ReplyKind::Stream {
            text: Vec::new(),
            tool_calls: calls,
        })
    }

    /// Adds tool calls after the text of a text reply.
    pub fn then_tool_calls(mut self, calls: Vec<MockToolCall>) -> Self {
        if let ReplyKind::Stream { tool_calls, .. } = &mut self.kind {
            tool_calls.extend(calls);
        }
        self
    }

    /// `n_tokens` content deltas `"tok0 "`, `"tok1 "`, ...
    pub fn generated(n_tokens: usize) -> Self {
        Self::of(ReplyKind::Generated(n_tokens))
    }

    /// An HTTP error with an OpenAI error body `{"error":{"message","type","code"}}`.
    pub fn http_error(status: u16, message: impl Into<String>) -> Self {
        Self::of(ReplyKind::HttpError {
            status,
            message: message.into(),
        })
    }

    /// HTTP 429 with a `retry-after` header.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self::of(ReplyKind::RateLimited { retry_after_secs })
    }

    /// Streams `after_chunks` data lines of generated text (the role chunk counts), then an
    /// `{"error":...}` data line, then ends without `[DONE]`.
    pub fn stream_error(after_chunks: usize, message: impl Into<String>) -> Self {
        Self::generated(after_chunks).error_after(after_chunks, message)
    }

    /// Sends an `{"error":...}` data line after `n_chunks` data lines and ends the stream.
    pub fn error_after(mut self, n_chunks: usize, message: impl Into<String>) -> Self {
        self.error_after = Some((n_chunks, message.into()));
        self
    }

    /// Token usage reported in the final chunk (default: a rough estimate).
    pub fn usage(mut self, prompt_tokens: u32, completion_tokens: u32) -> Self {
        self.usage = Some((prompt_tokens, completion_tokens));
        self
    }

    /// Delay before the first data line, measured from the request's arrival (response
    /// headers are sent at once).
    pub fn first_token_delay(mut self, delay: Duration) -> Self {
        self.first_token_delay = delay;
        self
    }

    /// Delay between content tokens: token `k` goes at `first_token_delay + k × delay` after
    /// the request's arrival; other data lines add no delay of their own.
    pub fn token_delay(mut self, delay: Duration) -> Self {
        self.token_delay = delay;
        self
    }

    /// Aborts the connection after `n_chunks` data lines (the role chunk counts), without
    /// `[DONE]`.
    pub fn disconnect_after(mut self, n_chunks: usize) -> Self {
        self.disconnect_after = Some(n_chunks);
        self
    }
}

/// Picks a reply from the request body; `None` falls through to the fallback.
type Responder = Arc<dyn Fn(&Value) -> Option<Reply> + Send + Sync>;

struct Script {
    replies: VecDeque<Reply>,
    fallback: Option<Reply>,
    responder: Option<Responder>,
    /// Keep every request body in `requests` (tests); off in benchmarks.
    recording: bool,
    /// Each recorded request's body and its client's address (which connection it came on).
    requests: Vec<(Value, Option<SocketAddr>)>,
    request_count: usize,
    /// Record `(arrived, last frame produced)` per request in `intervals`.
    record_intervals: bool,
    intervals: Vec<(Instant, Instant)>,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            replies: VecDeque::new(),
            fallback: None,
            responder: None,
            recording: true,
            requests: Vec::new(),
            request_count: 0,
            record_intervals: false,
            intervals: Vec::new(),
        }
    }
}

type Shared = Arc<Mutex<Script>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Script> {
    // A test that panicked while holding the lock must not hide the mock from the others.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running mock server; dropping it stops the server.
pub struct MockLlm {
    addr: SocketAddr,
    shared: Shared,
    handle: ServerHandle,
}

impl MockLlm {
    /// Starts the server on its own thread, with one worker, and waits until it is listening.
    pub fn start() -> Self {
        Self::start_with_workers(1)
    }

    /// Like [`MockLlm::start`], with `workers` actix worker threads (each its own runtime), for
    /// benchmarks that stream more frames per second than one thread sends.
    pub fn start_with_workers(workers: usize) -> Self {
        let workers = workers.max(1);
        let shared: Shared = Arc::default();
        let (tx, rx) = mpsc::channel();
        let for_server = shared.clone();
        std::thread::Builder::new()
            .name("mock-llm".into())
            .spawn(move || {
                let system = actix_rt::System::new();
                system.block_on(async move {
                    let data = web::Data::new(for_server);
                    let server = HttpServer::new(move || {
                        App::new()
                            .app_data(data.clone())
                            .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                            .route("/v1/chat/completions", web::post().to(chat_completions))
                            .route("/chat/completions", web::post().to(chat_completions))
                    })
                    .workers(workers)
                    // A benchmark opens a thousand connections at once, from clients that may
                    // be too busy to send a request head or reuse a connection within actix's
                    // 5 s defaults: a deep accept queue, no request-head timeout, long keep-alive.
                    .backlog(4096)
                    .client_request_timeout(Duration::ZERO)
                    .keep_alive(Duration::from_secs(300))
                    .disable_signals()
                    .shutdown_timeout(0)
                    .bind(("127.0.0.1", 0));
                    let server = match server {
                        Ok(server) => server,
                        Err(err) => {
                            let _ = tx.send(Err(err.to_string()));
                            return;
                        }
                    };
                    let addr = server.addrs()[0];
                    let running = server.run();
                    let _ = tx.send(Ok((addr, running.handle())));
                    let _ = running.await;
                });
            })
            .expect("spawn the mock llm thread");
        let (addr, handle) = rx
            .recv()
            .expect("mock llm thread ended before listening")
            .expect("bind the mock llm");
        Self {
            addr,
            shared,
            handle,
        }
    }

    /// `http://127.0.0.1:PORT/v1`, the base URL to give an OpenAI client.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Appends a reply to the script.
    pub fn push(&self, reply: Reply) -> &Self {
        lock(&self.shared).replies.push_back(reply);
        self
    }

    /// The reply used once the script is empty (for benchmarks and chatty tests).
    pub fn set_fallback(&self, reply: Reply) -> &Self {
        lock(&self.shared).fallback = Some(reply);
        self
    }

    /// Picks the reply from the request body once the script is empty; when it returns
    /// `None` the fallback answers. For benchmarks whose replies depend on the request (a
    /// tool call first, then text once the last message is the tool result).
    pub fn set_responder(
        &self,
        responder: impl Fn(&Value) -> Option<Reply> + Send + Sync + 'static,
    ) -> &Self {
        lock(&self.shared).responder = Some(Arc::new(responder));
        self
    }

    /// Removes the responder set by [`MockLlm::set_responder`].
    pub fn clear_responder(&self) -> &Self {
        lock(&self.shared).responder = None;
        self
    }

    /// Whether to keep every request body for [`MockLlm::requests`] (default on). Benchmarks
    /// turn it off: only [`MockLlm::request_count`] is kept.
    pub fn set_recording(&self, on: bool) -> &Self {
        lock(&self.shared).recording = on;
        self
    }

    /// Whether to record each request's service interval for [`MockLlm::take_intervals`]
    /// (default off).
    pub fn set_interval_recording(&self, on: bool) -> &Self {
        lock(&self.shared).record_intervals = on;
        self
    }

    /// The service intervals recorded since the last call, in completion order: when the
    /// request reached the handler and when the last frame of its body was produced (for a
    /// non-streamed answer: when the answer was built). The mock's own time for the request.
    pub fn take_intervals(&self) -> Vec<(Instant, Instant)> {
        std::mem::take(&mut lock(&self.shared).intervals)
    }

    /// Every request body received so far, in order (while recording is on).
    pub fn requests(&self) -> Vec<Value> {
        let script = lock(&self.shared);
        script
            .requests
            .iter()
            .map(|(body, _)| body.clone())
            .collect()
    }

    /// The client address (so, the connection) of every recorded request, in order.
    pub fn request_peers(&self) -> Vec<Option<SocketAddr>> {
        let script = lock(&self.shared);
        script.requests.iter().map(|(_, peer)| *peer).collect()
    }

    /// Requests received so far, recorded or not.
    pub fn request_count(&self) -> usize {
        lock(&self.shared).request_count
    }

    /// Scripted replies not consumed yet.
    pub fn remaining(&self) -> usize {
        lock(&self.shared).replies.len()
    }
}

impl Drop for MockLlm {
    fn drop(&mut self) {
        // Sends the stop command at once; nobody needs to wait for it.
        drop(self.handle.stop(false));
    }
}

fn error_body(message: &str, kind: &str, code: Option<&str>) -> Value {
    json!({ "error": { "message": message, "type": kind, "param": null, "code": code } })
}

/// Records `(arrived, now)` when interval recording is on.
fn record_interval(shared: &Shared, arrived: Instant) {
    let mut script = lock(shared);
    if script.record_intervals {
        script.intervals.push((arrived, Instant::now()));
    }
}

async fn chat_completions(
    req: HttpRequest,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let arrived = Instant::now();
    let response = answer(arrived, &body, req.peer_addr(), shared.get_ref());
    // A streamed body records its interval when its last frame is produced.
    if !matches!(response.body().size(), BodySize::Stream) {
        record_interval(shared.get_ref(), arrived);
    }
    response
}

fn answer(
    arrived: Instant,
    body: &Bytes,
    peer: Option<SocketAddr>,
    shared: &Shared,
) -> HttpResponse {
    let request: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(err) => {
            return HttpResponse::BadRequest().json(error_body(
                &format!("mock llm: invalid JSON body: {err}"),
                "invalid_request_error",
                None,
            ));
        }
    };
    let (reply, responder) = {
        let mut script = lock(shared);
        script.request_count += 1;
        if script.recording {
            script.requests.push((request.clone(), peer));
        }
        match script.replies.pop_front() {
            Some(reply) => (Some(reply), None),
            None => (None, script.responder.clone()),
        }
    };
    // The responder runs outside the lock; its `None` means the fallback.
    let reply = reply
        .or_else(|| responder.and_then(|r| r(&request)))
        .or_else(|| lock(shared).fallback.clone());
    let Some(reply) = reply else {
        return HttpResponse::InternalServerError().json(error_body(
            "mock llm: no scripted reply left",
            "server_error",
            None,
        ));
    };
    match &reply.kind {
        ReplyKind::HttpError { status, message } => {
            let status = actix_web::http::StatusCode::from_u16(*status)
                .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
            let kind = if status.is_server_error() {
                "server_error"
            } else {
                "invalid_request_error"
            };
            return HttpResponse::build(status).json(error_body(message, kind, None));
        }
        ReplyKind::RateLimited { retry_after_secs } => {
            return HttpResponse::TooManyRequests()
                .insert_header(("retry-after", retry_after_secs.to_string()))
                .json(error_body(
                    "mock llm: rate limit reached",
                    "requests",
                    Some("rate_limit_exceeded"),
                ));
        }
        ReplyKind::Stream { .. } | ReplyKind::Generated(_) => {}
    }
    let model = request["model"].as_str().unwrap_or("mock-model").to_owned();
    if request["stream"].as_bool() == Some(true) {
        let include_usage = request["stream_options"]["include_usage"].as_bool() == Some(true);
        let stream = StreamClock {
            arrived,
            shared: shared.clone(),
        };
        stream_response(&reply, &model, include_usage, body.len(), stream)
    } else {
        HttpResponse::Ok().json(completion_body(&reply, &model, body.len()))
    }
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

fn completion_body(reply: &Reply, model: &str, request_bytes: usize) -> Value {
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
struct StreamClock {
    arrived: Instant,
    shared: Shared,
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

fn stream_response(
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
    let body = futures::stream::unfold(
        (frames.into_iter().peekable(), stream),
        move |(mut it, stream)| async move {
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
            Some((item, (it, stream)))
        },
    );
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .streaming(body)
}
