//! [`recover_tool_calls`]: the text filter applied to a streamed answer.
//!
//! Keeps the order documented on [`LlmEvent`]: text deltas (what the filter releases), then
//! the held text once resolved, then at most one `ToolCalls` (the upstream's real calls
//! followed by the recovered ones), `Usage`, and `Finished` last, whose `finish_reason` is
//! `tool_calls` when calls were recovered.
//!
//! The answer ends at its first complete, valid call written as text: the upstream is
//! dropped there (for the local model that ends the generation at the next step; for a
//! server, the connection), the call is resolved at once and `Finished` follows. Small models
//! chain invented calls with made-up arguments after the one that was asked for, and each
//! costs seconds of generation on a CPU; the model sees the first call's result in the next
//! round and calls again if it needs to. (The upstream's `Usage` of such a cut answer is not
//! known and not sent.)
//!
//! Every piece of text also passes the markup filter (`markup`): a tool result the model
//! echoes in `<tool_response>` tags, and `<HiddenContext>` tags it copies from the prompt, are
//! not shown.
//!
//! An upstream error releases held text that is not a call in progress (whitespace, a
//! partial tag prefix), so the runner keeps what was said, as for any interrupted answer; a
//! call in progress is dropped, never shown as raw JSON.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::StreamExt;

use super::markup::MarkupFilter;
use super::stream::{Resolution, TextCallFilter};
use crate::llm::{LlmError, LlmEvent, LlmStream, ToolCall, ToolSpec};

/// Wraps `upstream` so that tool calls the model wrote as text (see the module docs of
/// `text_calls`) arrive as [`LlmEvent::ToolCalls`] and are never shown as text.
pub fn recover_tool_calls(upstream: LlmStream, tools: Arc<[ToolSpec]>) -> LlmStream {
    let recovery = Recovery {
        upstream,
        tools,
        filter: TextCallFilter::default(),
        markup: MarkupFilter::default(),
        pending: VecDeque::new(),
        real_calls: Vec::new(),
        usage: None,
        done: false,
    };
    Box::pin(futures::stream::unfold(recovery, |mut r| async move {
        let event = r.next().await?;
        Some((event, r))
    }))
}

struct Recovery {
    upstream: LlmStream,
    tools: Arc<[ToolSpec]>,
    filter: TextCallFilter,
    /// After the call filter: prompt markup the model copied is not shown (`markup`).
    markup: MarkupFilter,
    pending: VecDeque<Result<LlmEvent, LlmError>>,
    /// The upstream's own tool calls, kept until the end to be merged with recovered ones.
    real_calls: Vec<ToolCall>,
    usage: Option<LlmEvent>,
    done: bool,
}

impl Recovery {
    async fn next(&mut self) -> Option<Result<LlmEvent, LlmError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.done {
                return None;
            }
            match self.upstream.next().await {
                Some(Ok(LlmEvent::TextDelta(delta))) => {
                    let shown = self.filter.push(&delta);
                    let shown = self.markup.push(&shown);
                    if let Some(resolution) = self.filter.complete_calls(&self.tools) {
                        self.cut(shown, resolution);
                        continue;
                    }
                    if !shown.is_empty() {
                        return Some(Ok(LlmEvent::TextDelta(shown)));
                    }
                }
                Some(Ok(LlmEvent::ToolCalls(calls))) => self.real_calls.extend(calls),
                Some(Ok(usage @ LlmEvent::Usage { .. })) => self.usage = Some(usage),
                Some(Ok(LlmEvent::Finished { finish_reason })) => self.end(Some(finish_reason)),
                // The upstream guarantees `Finished` or an error; should it just stop, what
                // it said is still resolved.
                None => self.end(None),
                Some(Err(error)) => {
                    let held = self.filter.abandon();
                    self.queue(Resolution {
                        text: held,
                        calls: Vec::new(),
                    });
                    self.pending.push_back(Err(error));
                    self.done = true;
                }
            }
        }
    }

    /// The first call is complete: the rest of the answer is not read.
    fn cut(&mut self, shown: String, resolution: Resolution) {
        let names: Vec<&str> = resolution.calls.iter().map(|c| c.name.as_str()).collect();
        tracing::info!(
            calls = resolution.calls.len(),
            tools = ?names,
            "tool calls recovered from the model's text; the answer ends at the first"
        );
        self.upstream = Box::pin(futures::stream::empty());
        if !shown.is_empty() {
            self.pending.push_back(Ok(LlmEvent::TextDelta(shown)));
        }
        self.queue(resolution);
        self.pending.push_back(Ok(LlmEvent::Finished {
            finish_reason: Some("tool_calls".to_owned()),
        }));
        self.done = true;
    }

    /// The answer is complete: resolves the held text and queues the closing events.
    fn end(&mut self, finished: Option<Option<String>>) {
        let resolution = self.filter.finish(&self.tools);
        let recovered = resolution.calls.len();
        if recovered > 0 {
            let names: Vec<&str> = resolution.calls.iter().map(|c| c.name.as_str()).collect();
            tracing::info!(
                calls = recovered,
                tools = ?names,
                "tool calls recovered from the model's text"
            );
        }
        self.queue(resolution);
        if let Some(finish_reason) = finished {
            let finish_reason = if recovered > 0 {
                Some("tool_calls".to_owned())
            } else {
                finish_reason
            };
            self.pending
                .push_back(Ok(LlmEvent::Finished { finish_reason }));
        }
        self.done = true;
    }

    /// Queues the resolved text, the merged calls and the usage, in the documented order.
    fn queue(&mut self, resolution: Resolution) {
        let text = self.markup.push(&resolution.text) + &self.markup.finish();
        if self.markup.removed() {
            tracing::debug!("prompt markup the model copied into its answer was not shown");
        }
        if !text.is_empty() {
            self.pending.push_back(Ok(LlmEvent::TextDelta(text)));
        }
        let mut calls = std::mem::take(&mut self.real_calls);
        calls.extend(resolution.calls);
        if !calls.is_empty() {
            self.pending.push_back(Ok(LlmEvent::ToolCalls(calls)));
        }
        if let Some(usage) = self.usage.take() {
            self.pending.push_back(Ok(usage));
        }
    }
}
