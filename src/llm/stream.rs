//! One streamed answer as a state machine: open the stream, turn chunks into [`LlmEvent`]s,
//! retry failures that happen before the caller saw anything, and stop on the clocks.
//!
//! Guarantees:
//! - events come in the order documented on [`LlmEvent`]; `Finished` is only sent for a
//!   stream that reported a `finish_reason`, so an answer that merely stopped arriving is an
//!   error, never a silently truncated success;
//! - once an event reached the caller nothing is retried; a later failure ends the stream with
//!   [`LlmError::Interrupted`] and the caller keeps what it has;
//! - the clocks of `clock.rs`: first token per attempt, then idle between chunks, and the
//!   turn clock over all attempts and backoff sleeps;
//! - a stream that never produced a readable chunk (empty, not SSE, a first chunk that is
//!   not JSON) is not the protocol and is not retried; one that broke after good chunks
//!   (a damaged chunk, an early end) is retried while nothing reached the caller.

use std::collections::VecDeque;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionResponseStream, CreateChatCompletionRequest, CreateChatCompletionStreamResponse,
};
use futures::StreamExt;
use tokio::time::Instant;

use super::clock::{Clocks, Timeouts};
use super::convert::{ToolCallAssembler, finish_reason_str};
use super::error::{LlmError, classify};
use super::retry::RetryPolicy;
use super::types::LlmEvent;

/// A failure of one step and whether our retry loop may retry it.
type StepError = (LlmError, bool);

pub(crate) struct Turn {
    client: Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
    policy: RetryPolicy,
    clocks: Clocks,
    span: tracing::Span,
    retries: u32,
    upstream: Option<ChatCompletionResponseStream>,
    /// An event has been handed to the caller: no more retries.
    produced: bool,
    /// This attempt received a content or tool-call delta: the first-token clock stops.
    output_seen: bool,
    /// Chunks this attempt has read.
    chunks: usize,
    tools: ToolCallAssembler,
    finish_reason: Option<String>,
    saw_finish: bool,
    usage: Option<(u32, u32)>,
    pending: VecDeque<LlmEvent>,
    done: bool,
}

impl Turn {
    pub(crate) fn new(
        client: Client<OpenAIConfig>,
        request: CreateChatCompletionRequest,
        policy: RetryPolicy,
        timeouts: Timeouts,
        span: tracing::Span,
    ) -> Self {
        Self {
            client,
            request,
            policy,
            clocks: Clocks::start(timeouts),
            span,
            retries: 0,
            upstream: None,
            produced: false,
            output_seen: false,
            chunks: 0,
            tools: ToolCallAssembler::default(),
            finish_reason: None,
            saw_finish: false,
            usage: None,
            pending: VecDeque::new(),
            done: false,
        }
    }

    pub(crate) fn span(&self) -> tracing::Span {
        self.span.clone()
    }

    /// The next event, or `None` after `Finished` or after an error.
    pub(crate) async fn next(&mut self) -> Option<Result<LlmEvent, LlmError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                self.produced = true;
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            if let Err((error, retry)) = self.step().await
                && let Some(error) = self.fail(error, retry).await
            {
                self.done = true;
                return Some(Err(error));
            }
        }
    }

    /// Opens the stream or consumes one chunk.
    async fn step(&mut self) -> Result<(), StepError> {
        let (deadline, stage) = self.clocks.deadline();
        let Some(upstream) = self.upstream.as_mut() else {
            tracing::debug!(attempt = self.retries + 1, "opening LLM stream");
            let chat = self.client.chat();
            let opened =
                tokio::time::timeout_at(deadline, chat.create_stream(self.request.clone()));
            return match opened.await {
                Err(_) => Err((self.clocks.expired(stage), false)),
                Ok(Err(error)) => Err(classify(error)),
                Ok(Ok(stream)) => {
                    self.upstream = Some(stream);
                    Ok(())
                }
            };
        };
        match tokio::time::timeout_at(deadline, upstream.next()).await {
            Err(_) => Err((self.clocks.expired(stage), false)),
            Ok(Some(Ok(chunk))) => {
                self.on_chunk(chunk);
                Ok(())
            }
            // The answer was complete; a failure while waiting for `[DONE]` loses nothing.
            Ok(Some(Err(_))) if self.saw_finish => self.end_of_stream(),
            Ok(Some(Err(error))) => Err(self.damaged(classify(error))),
            Ok(None) => self.end_of_stream(),
        }
    }

    /// An unreadable stream after good chunks was damaged on the way (a proxy, a glitch),
    /// not a server that speaks something else: worth another attempt.
    fn damaged(&self, (error, retry): StepError) -> StepError {
        match error {
            LlmError::InvalidResponse(message) if self.chunks > 0 => {
                (LlmError::CorruptChunk(message), true)
            }
            other => (other, retry),
        }
    }

    fn on_chunk(&mut self, chunk: CreateChatCompletionStreamResponse) {
        self.chunks += 1;
        if let Some(usage) = chunk.usage {
            self.usage = Some((usage.prompt_tokens, usage.completion_tokens));
        }
        // We never ask for `n > 1`, so only choice 0 exists.
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            let delta = choice.delta;
            for text in [delta.content, delta.refusal].into_iter().flatten() {
                if !text.is_empty() {
                    self.output_seen = true;
                    self.pending.push_back(LlmEvent::TextDelta(text));
                }
            }
            for call in delta.tool_calls.iter().flatten() {
                self.output_seen = true;
                self.tools.push(call);
            }
            if let Some(reason) = choice.finish_reason {
                self.saw_finish = true;
                self.finish_reason = Some(finish_reason_str(reason).to_owned());
            }
        }
        self.clocks.chunk(self.output_seen);
    }

    fn end_of_stream(&mut self) -> Result<(), StepError> {
        if !self.saw_finish {
            return Err(if self.chunks == 0 {
                let error = "the stream ended without a single chunk (an empty body, or not SSE)";
                (LlmError::InvalidResponse(error.into()), false)
            } else {
                (LlmError::EndedEarly, true)
            });
        }
        self.upstream = None;
        let tools = std::mem::take(&mut self.tools);
        if !tools.is_empty() {
            let calls = tools.finish().map_err(|error| (error, false))?;
            self.pending.push_back(LlmEvent::ToolCalls(calls));
        }
        if let Some((prompt_tokens, completion_tokens)) = self.usage {
            self.pending.push_back(LlmEvent::Usage {
                prompt_tokens,
                completion_tokens,
            });
        }
        self.pending.push_back(LlmEvent::Finished {
            finish_reason: self.finish_reason.take(),
        });
        tracing::debug!(attempts = self.retries + 1, "LLM stream finished");
        self.done = true;
        Ok(())
    }

    /// Decides what a failure means: `Some(error)` ends the stream; `None` means a retry has
    /// been prepared (after sleeping the backoff).
    async fn fail(&mut self, error: LlmError, retry: bool) -> Option<LlmError> {
        self.upstream = None;
        if self.produced {
            tracing::warn!(error = %error, "LLM stream interrupted after output");
            return Some(error.interrupted());
        }
        if !retry || self.retries >= self.policy.max_retries {
            tracing::warn!(error = %error, attempts = self.retries + 1, "LLM request failed");
            return Some(error);
        }
        let delay = self.policy.delay(self.retries);
        if Instant::now() + delay >= self.clocks.turn_deadline() {
            tracing::warn!(error = %error, "LLM request failed; no time left to retry");
            return Some(error);
        }
        tracing::warn!(
            error = %error,
            attempt = self.retries + 1,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "LLM request failed before any output; retrying"
        );
        tokio::time::sleep(delay).await;
        self.retries += 1;
        self.span.record("attempt", self.retries + 1);
        self.clocks.new_attempt();
        self.output_seen = false;
        self.chunks = 0;
        self.tools = ToolCallAssembler::default();
        self.finish_reason = None;
        self.saw_finish = false;
        self.usage = None;
        None
    }
}
