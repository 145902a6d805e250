//! The script's vocabulary: [`Reply`] (what the mock answers to one request, built with its
//! constructors and refined with its builder methods) and [`MockToolCall`]. Plain data: the
//! server (`server`) picks a reply per request, the wire format (`wire`) turns it into bytes.

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
    pub(crate) kind: ReplyKind,
    pub(crate) usage: Option<(u32, u32)>,
    pub(crate) first_token_delay: Duration,
    pub(crate) token_delay: Duration,
    pub(crate) disconnect_after: Option<usize>,
    pub(crate) error_after: Option<(usize, String)>,
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
