//! The HTTP side: [`MockLlm`] runs an actix server on its own thread, keeps the script and
//! what it recorded (request bodies, client addresses, counts, service intervals) behind one
//! mutex, and answers each chat-completions request with the next reply, the responder's
//! choice or the fallback. Turning the chosen reply into a body is `wire`'s part.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, MessageBody};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, dev::ServerHandle, web};
use bytes::Bytes;
use serde_json::Value;

use crate::reply::{Reply, ReplyKind};
use crate::wire::{StreamClock, completion_body, error_body, stream_response};

/// Picks a reply from the request body; `None` falls through to the fallback.
type Responder = Arc<dyn Fn(&Value) -> Option<Reply> + Send + Sync>;

pub(crate) struct Script {
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
    /// Streamed replies whose client went away before the last frame: (request number,
    /// 0-based in arrival order; when the body was dropped).
    pub(crate) closed_early: Vec<(usize, Instant)>,
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
            closed_early: Vec::new(),
        }
    }
}

pub(crate) type Shared = Arc<Mutex<Script>>;

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
                    // A client that closes the model request (a cancelled turn) is seen at its
                    // EOF, not at the next write, so `closed_early` times the close itself.
                    .h1_allow_half_closed(false)
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

    /// The streamed replies whose client closed the connection before the reply's last
    /// frame: the request's number (0-based, in arrival order) and when the mock saw it go.
    pub fn closed_early(&self) -> Vec<(usize, Instant)> {
        lock(&self.shared).closed_early.clone()
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

/// Records `(arrived, now)` when interval recording is on.
pub(crate) fn record_interval(shared: &Shared, arrived: Instant) {
    let mut script = lock(shared);
    if script.record_intervals {
        script.intervals.push((arrived, Instant::now()));
    }
}

pub(crate) fn record_early_close(shared: &Shared, index: usize) {
    lock(shared).closed_early.push((index, Instant::now()));
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
    let (reply, responder, index) = {
        let mut script = lock(shared);
        let index = script.request_count;
        script.request_count += 1;
        if script.recording {
            script.requests.push((request.clone(), peer));
        }
        match script.replies.pop_front() {
            Some(reply) => (Some(reply), None, index),
            None => (None, script.responder.clone(), index),
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
        ReplyKind::HttpError {
            status,
            message,
            kind,
            code,
            retry_after_secs,
        } => {
            let status = actix_web::http::StatusCode::from_u16(*status)
                .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
            let default_kind = if status.is_server_error() {
                "server_error"
            } else {
                "invalid_request_error"
            };
            let kind = kind.as_deref().unwrap_or(default_kind);
            let mut response = HttpResponse::build(status);
            if let Some(secs) = retry_after_secs {
                response.insert_header(("retry-after", secs.to_string()));
            }
            return response.json(error_body(message, kind, code.as_deref()));
        }
        ReplyKind::Raw {
            status,
            content_type,
            body,
        } => {
            let status = actix_web::http::StatusCode::from_u16(*status)
                .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
            return HttpResponse::build(status)
                .content_type(content_type.as_str())
                .body(body.clone());
        }
        ReplyKind::Stream { .. } | ReplyKind::Generated(_) => {}
    }
    let model = request["model"].as_str().unwrap_or("mock-model").to_owned();
    if request["stream"].as_bool() == Some(true) {
        let include_usage = request["stream_options"]["include_usage"].as_bool() == Some(true);
        let stream = StreamClock {
            arrived,
            shared: shared.clone(),
            index,
        };
        stream_response(&reply, &model, include_usage, body.len(), stream)
    } else {
        HttpResponse::Ok().json(completion_body(&reply, &model, body.len()))
    }
}
