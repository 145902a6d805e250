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
//! Faults go on the wire as a faulty server sends them: HTTP errors with OpenAI's error body,
//! any status with any bytes ([`Reply::raw`]: an HTML page, an empty body, bytes that are not
//! SSE), and streams that go wrong after `n` data lines: a reset, an `{"error":...}` line,
//! raw bytes such as a chunk that is not JSON, a clean end without `finish_reason` or
//! `[DONE]`, or a stall that holds the connection open (see `reply`).
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
//!
//! Parts: `reply` (the script's vocabulary, [`Reply`] and [`MockToolCall`]), `server`
//! ([`MockLlm`]: the HTTP server, the script and what it records), `wire` (OpenAI's body and
//! stream formats, and the pacing of a stream).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod reply;
mod server;
mod wire;

pub use reply::{MockToolCall, Reply};
pub use server::MockLlm;
