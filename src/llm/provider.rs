//! [`LlmClient`]: the one way the crate talks to a model, whichever provider answers.
//!
//! `llm.provider` picks it once at startup: the hosted endpoint ([`HostedClient`]) or the
//! model in this process ([`LocalClient`]); `auto` takes the hosted one when a key or base
//! URL is set. Both give the same [`LlmStream`] of events, so the turn runner does not know
//! which one it talks to, except that a local model writes its tool calls as text (see
//! `LlmSettings::text_tool_calls_enabled`).

use super::client::{HostedClient, LlmStream};
use super::error::LlmError;
use super::local::LocalClient;
use super::types::ChatRequest;
use crate::config::{LlmProvider, LlmSettings};

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
        match self {
            Self::Hosted(client) => client.stream_chat(req),
            Self::Local(client) => client.stream_chat(req),
        }
    }

    /// The answer to `req` as text, unstreamed (thread titles).
    pub async fn complete(&self, req: ChatRequest) -> Result<String, LlmError> {
        match self {
            Self::Hosted(client) => client.complete(req).await,
            Self::Local(client) => client.complete(req).await,
        }
    }
}
