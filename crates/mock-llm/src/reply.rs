//! The script's vocabulary: [`Reply`] (what the mock answers to one request, built with its
//! constructors and refined with its builder methods) and [`MockToolCall`]. Plain data: the
//! server (`server`) picks a reply per request, the wire format (`wire`) turns it into bytes.
//!
//! Faults are part of the vocabulary, each as a real faulty server puts it on the wire: HTTP
//! errors with an OpenAI error body ([`Reply::http_error`], [`Reply::api_error`],
//! [`Reply::rate_limited`]), any status with any body ([`Reply::raw`]: an HTML page, an empty
//! body, bytes that are not SSE), and a stream that goes wrong after `n` data lines
//! ([`Reply::disconnect_after`], [`Reply::error_after`], [`Reply::raw_after`],
//! [`Reply::end_after`], [`Reply::stall_after`]).

use std::time::Duration;

use serde_json::Value;

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
pub(crate) enum ReplyKind {
    /// Content deltas, then tool calls (either may be empty).
    Stream {
        text: Vec<String>,
        tool_calls: Vec<MockToolCall>,
    },
    /// `n` content deltas `"tok0 "`, `"tok1 "`, ... (benchmarks).
    Generated(usize),
    /// An OpenAI error body `{"error":{"message","type","param","code"}}`.
    HttpError {
        status: u16,
        message: String,
        /// `error.type`; `None`: `server_error` for 5xx, else `invalid_request_error`.
        kind: Option<String>,
        code: Option<String>,
        retry_after_secs: Option<u64>,
    },
    /// Exactly these bytes with this status and content type.
    Raw {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
}

/// How a streamed reply goes wrong after its first `n` data lines.
#[derive(Clone, Debug)]
pub(crate) enum Cut {
    /// The connection is aborted (a reset), without `[DONE]`.
    Disconnect,
    /// An `{"error":...}` data line, then the body ends.
    Error(String),
    /// These bytes as they are, then the body ends.
    Raw(String),
    /// Nothing more is sent and the connection stays open (an hour, or until the client
    /// closes it).
    Stall,
}

/// What the mock answers to one request. Build with the constructors, refine with the
/// builder methods.
#[derive(Clone, Debug)]
pub struct Reply {
    pub(crate) kind: ReplyKind,
    pub(crate) usage: Option<(u32, u32)>,
    pub(crate) first_token_delay: Duration,
    pub(crate) token_delay: Duration,
    /// The fault after `n` data lines (the role chunk counts); an `n` past the last payload
    /// replaces `[DONE]`.
    pub(crate) cut: Option<(usize, Cut)>,
}

impl Reply {
    fn of(kind: ReplyKind) -> Self {
        Self {
            kind,
            usage: None,
            first_token_delay: Duration::ZERO,
            token_delay: Duration::ZERO,
            cut: None,
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

    /// An HTTP error with an OpenAI error body `{"error":{"message","type","code"}}`
    /// (`type`: `server_error` for 5xx, else `invalid_request_error`).
    pub fn http_error(status: u16, message: impl Into<String>) -> Self {
        Self::of(ReplyKind::HttpError {
            status,
            message: message.into(),
            kind: None,
            code: None,
            retry_after_secs: None,
        })
    }

    /// An HTTP error with an OpenAI error body of this `type` and `code`, as OpenAI sends
    /// `context_length_exceeded` (400) or `insufficient_quota` (429).
    pub fn api_error(
        status: u16,
        kind: impl Into<String>,
        code: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self::of(ReplyKind::HttpError {
            status,
            message: message.into(),
            kind: Some(kind.into()),
            code: code.map(str::to_owned),
            retry_after_secs: None,
        })
    }

    /// HTTP 429 `rate_limit_exceeded` with a `retry-after` header.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self::of(ReplyKind::HttpError {
            status: 429,
            message: "mock llm: rate limit reached".to_owned(),
            kind: Some("requests".to_owned()),
            code: Some("rate_limit_exceeded".to_owned()),
            retry_after_secs: Some(retry_after_secs),
        })
    }

    /// HTTP `status` with exactly `body` as `content_type`, whatever the request asked for:
    /// an HTML page (a wrong base URL, a proxy's page), an empty body, bytes that are not SSE.
    pub fn raw(status: u16, content_type: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Self::of(ReplyKind::Raw {
            status,
            content_type: content_type.into(),
            body: body.into(),
        })
    }

    /// Streams `after_chunks` data lines of generated text (the role chunk counts), then an
    /// `{"error":...}` data line, then ends without `[DONE]`.
    pub fn stream_error(after_chunks: usize, message: impl Into<String>) -> Self {
        Self::generated(after_chunks).error_after(after_chunks, message)
    }

    /// Sends an `{"error":...}` data line after `n_chunks` data lines and ends the stream.
    pub fn error_after(mut self, n_chunks: usize, message: impl Into<String>) -> Self {
        self.cut = Some((n_chunks, Cut::Error(message.into())));
        self
    }

    /// Sends `bytes` as they are after `n_chunks` data lines (e.g. `"data: {oops\n\n"`, a
    /// chunk that is not JSON) and ends the stream without `[DONE]`.
    pub fn raw_after(mut self, n_chunks: usize, bytes: impl Into<String>) -> Self {
        self.cut = Some((n_chunks, Cut::Raw(bytes.into())));
        self
    }

    /// Ends the body cleanly after `n_chunks` data lines: no `finish_reason`, no `[DONE]`.
    pub fn end_after(self, n_chunks: usize) -> Self {
        self.raw_after(n_chunks, "")
    }

    /// Stops sending after `n_chunks` data lines and holds the connection open (an hour, or
    /// until the client closes it): a model that stalls mid-answer.
    pub fn stall_after(mut self, n_chunks: usize) -> Self {
        self.cut = Some((n_chunks, Cut::Stall));
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
        self.cut = Some((n_chunks, Cut::Disconnect));
        self
    }
}
