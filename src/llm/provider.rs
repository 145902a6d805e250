//! [`LlmClient`]: the one way the crate talks to a model, whichever provider answers.
//!
//! `llm.provider` picks it once at startup: the hosted endpoint ([`HostedClient`]) or the
//! model in this process ([`LocalClient`]); `auto` takes the hosted one when a key or base
//! URL is set. Both give the same [`LlmStream`] of events, so the turn runner does not know
//! which one it talks to, except that a local model writes its tool calls as text (see
//! `LlmSettings::text_tool_calls_enabled`).
//!
//! What a model writes is shown, stored and run, and cannot be refused the way a client's
//! U+0000 is (protocol §2.10): so both providers' text, tool calls and titles leave here with
//! U+FFFD in place of U+0000 (and of a lone surrogate escape in tool-call arguments), and
//! every later step (the runner, the store on either database, the tools) sees safe text.

use std::borrow::Cow;

use futures::StreamExt;

use super::client::{HostedClient, LlmStream};
use super::error::LlmError;
use super::local::LocalClient;
use super::types::{ChatRequest, LlmEvent, ToolCall};
use crate::config::{LlmProvider, LlmSettings};
use crate::json_text;

#[derive(Debug, Clone)]
pub enum LlmClient {
    /// Boxed: it is ten times the size of the local handle.
    Hosted(Box<HostedClient>),
    Local(LocalClient),
}

impl LlmClient {
    pub fn new(settings: &LlmSettings) -> Result<Self, LlmError> {
        Ok(match settings.resolved_provider() {
            LlmProvider::Local => {
                tracing::info!(model = %settings.local.model, "LLM provider: the local model");
                Self::Local(LocalClient::new(settings))
            }
            LlmProvider::Openai | LlmProvider::Auto => {
                Self::Hosted(Box::new(HostedClient::new(settings)?))
            }
        })
    }

    /// Whether a model is configured: a local model always is (its turns say what is
    /// missing); a hosted one needs a key or a base URL.
    pub fn is_configured(&self) -> bool {
        match self {
            Self::Hosted(client) => client.is_configured(),
            Self::Local(_) => true,
        }
    }

    /// The local provider, if that is the one answering.
    pub fn local(&self) -> Option<&LocalClient> {
        match self {
            Self::Local(client) => Some(client),
            Self::Hosted(_) => None,
        }
    }

    /// Streams the answer to `req`; see [`super::LlmEvent`] for the order of events.
    pub fn stream_chat(&self, req: ChatRequest) -> LlmStream {
        let stream = match self {
            Self::Hosted(client) => client.stream_chat(req),
            Self::Local(client) => client.stream_chat(req),
        };
        Box::pin(stream.map(|event| event.map(storable_event)))
    }

    /// The answer to `req` as text, unstreamed (thread titles).
    pub async fn complete(&self, req: ChatRequest) -> Result<String, LlmError> {
        let text = match self {
            Self::Hosted(client) => client.complete(req).await,
            Self::Local(client) => client.complete(req).await,
        }?;
        Ok(rewritten(text, json_text::replace_nul))
    }
}

/// `event` with U+FFFD in place of U+0000 (and, in tool-call arguments, of its escape and of
/// lone surrogate escapes), so that it stores on both databases.
fn storable_event(event: LlmEvent) -> LlmEvent {
    match event {
        LlmEvent::TextDelta(text) => LlmEvent::TextDelta(rewritten(text, json_text::replace_nul)),
        LlmEvent::ToolCalls(calls) => LlmEvent::ToolCalls(
            calls
                .into_iter()
                .map(|call| ToolCall {
                    id: rewritten(call.id, json_text::replace_nul),
                    name: rewritten(call.name, json_text::replace_nul),
                    arguments: rewritten(call.arguments, json_text::sanitize_model_json),
                })
                .collect(),
        ),
        other => other,
    }
}

/// `text` by `rule`, reusing its allocation when the rule changes nothing (nearly always).
fn rewritten(text: String, rule: impl for<'a> Fn(&'a str) -> Cow<'a, str>) -> String {
    let changed = match rule(&text) {
        Cow::Owned(fixed) => Some(fixed),
        Cow::Borrowed(_) => None,
    };
    changed.unwrap_or(text)
}
