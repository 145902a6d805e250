//! [`HostedClient`]: the hosted provider, api.openai.com or any OpenAI-compatible server.
//!
//! Built once from [`LlmSettings`] and cheap to clone (what it holds is reference counted).
//! It works with api.openai.com (empty `base_url`, an `api_key`) or any OpenAI-compatible
//! server (`base_url`, key optional). Without either it still builds, so the server starts,
//! but every call fails with [`LlmError::NotConfigured`], whose message says how to
//! configure a model.
//!
//! Connections: each thread that calls the model gets its own HTTP client (and so its own
//! connection pool). hyper drives a connection on the runtime that opened it, so with one
//! shared pool a turn on arbiter A would often read its model's stream through a connection
//! driven by arbiter B: every chunk of the answer would cross threads (a wake-up each) before
//! the turn saw it. Per-thread pools keep a turn's reads on the turn's own thread.
//!
//! Logging: spans carry the model and the attempt number; the API key never appears (it is a
//! `SecretString`) and message contents are never logged.

use std::pin::Pin;
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::{OPENAI_API_BASE, OpenAIConfig};
use async_openai::types::chat::CreateChatCompletionResponse;
use dashmap::DashMap;
use futures::Stream;
use secrecy::ExposeSecret;
use tokio::time::Instant;
use tracing::Instrument;

use super::clock::Timeouts;
use super::convert::to_openai;
use super::error::{LlmError, TimeoutStage, classify};
use super::http_check;
use super::http_retry::HttpRetry;
use super::retry::RetryPolicy;
use super::stream::Turn;
use super::types::{ChatRequest, LlmEvent};
use crate::config::LlmSettings;

/// A streamed answer; see [`LlmEvent`] for the order of events.
pub type LlmStream = Pin<Box<dyn Stream<Item = Result<LlmEvent, LlmError>> + Send + 'static>>;

#[derive(Debug, Clone)]
pub struct HostedClient {
    config: OpenAIConfig,
    connect_timeout: Duration,
    /// One async-openai client per calling thread (see the module docs).
    clients: Arc<DashMap<ThreadId, Client<OpenAIConfig>>>,
    configured: bool,
    policy: RetryPolicy,
    timeouts: Timeouts,
}

/// Header values must be visible ASCII; async-openai would panic on anything else.
fn header_safe(value: &str) -> bool {
    value.chars().all(|c| c.is_ascii_graphic())
}

impl HostedClient {
    pub fn new(settings: &LlmSettings) -> Result<Self, LlmError> {
        let base_url = settings.base_url.trim().trim_end_matches('/');
        let scheme_ok = base_url.starts_with("http://") || base_url.starts_with("https://");
        if !(base_url.is_empty() || scheme_ok) {
            return Err(LlmError::InvalidConfig(
                "llm.base_url must start with http:// or https://".into(),
            ));
        }
        let api_key = settings.api_key.expose_secret().trim();
        if !header_safe(api_key) {
            return Err(LlmError::InvalidConfig(
                "llm.api_key contains characters not allowed in an HTTP header".into(),
            ));
        }
        let organization = settings.organization.trim();
        if !header_safe(organization) {
            return Err(LlmError::InvalidConfig(
                "llm.organization contains characters not allowed in an HTTP header".into(),
            ));
        }
        // Every field is set explicitly so OPENAI_* environment variables cannot leak in.
        let config = OpenAIConfig::new()
            .with_api_base(if base_url.is_empty() {
                OPENAI_API_BASE
            } else {
                base_url
            })
            .with_api_key(api_key)
            .with_org_id(organization)
            .with_project_id("");
        let client = Self {
            config,
            connect_timeout: Duration::from_secs(settings.connect_timeout_secs.max(1)),
            clients: Arc::new(DashMap::new()),
            configured: settings.is_configured(),
            policy: RetryPolicy::from_settings(settings),
            timeouts: Timeouts::from_settings(settings),
        };
        // Fails here, at startup, if the HTTP client cannot be built at all.
        client.build_client()?;
        Ok(client)
    }

    /// Our HTTP client (connect timeout) behind our retry layer, instead of async-openai's
    /// fixed one, and the check of what a response is (`http_check`).
    fn build_client(&self) -> Result<Client<OpenAIConfig>, LlmError> {
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .build()
            .map_err(|e| LlmError::InvalidConfig(format!("cannot build the HTTP client: {e}")))?;
        let service = tower::ServiceBuilder::new()
            .retry(HttpRetry::new(self.policy))
            .map_result(http_check::check)
            .service(async_openai::middleware::ReqwestService::new(http));
        Ok(Client::with_config(self.config.clone()).with_http_service(service))
    }

    /// The calling thread's client, built on its first call.
    fn client(&self) -> Result<Client<OpenAIConfig>, LlmError> {
        let thread = std::thread::current().id();
        if let Some(client) = self.clients.get(&thread) {
            return Ok(client.clone());
        }
        let client = self.build_client()?;
        Ok(self.clients.entry(thread).or_insert(client).clone())
    }

    /// Whether a model is configured (a base URL or an API key).
    pub fn is_configured(&self) -> bool {
        self.configured
    }

    fn check(&self, req: &ChatRequest) -> Result<(), LlmError> {
        if !self.configured {
            return Err(LlmError::NotConfigured);
        }
        if req.messages.is_empty() {
            return Err(LlmError::InvalidRequest(
                "a request needs at least one message".into(),
            ));
        }
        Ok(())
    }

    /// Streams the answer to `req`. Failures before the first event are retried (see
    /// `retry.rs`); a failure after it ends the stream with [`LlmError::Interrupted`].
    pub fn stream_chat(&self, req: ChatRequest) -> LlmStream {
        if let Err(error) = self.check(&req) {
            return Box::pin(futures::stream::once(async move { Err(error) }));
        }
        let client = match self.client() {
            Ok(client) => client,
            Err(error) => return Box::pin(futures::stream::once(async move { Err(error) })),
        };
        let span = tracing::info_span!(
            "llm.stream",
            model = %req.model,
            tools = req.tools.len(),
            attempt = 1_u32,
        );
        let turn = Turn::new(
            client,
            to_openai(&req, true),
            self.policy,
            self.timeouts,
            span,
        );
        Box::pin(futures::stream::unfold(turn, |mut turn| async move {
            let span = turn.span();
            let event = turn.next().instrument(span).await?;
            Some((event, turn))
        }))
    }

    /// Sends `req` unstreamed and returns the answer's text (for short things such as
    /// thread titles). Retries like `stream_chat`; bounded by the turn timeout.
    pub async fn complete(&self, req: ChatRequest) -> Result<String, LlmError> {
        self.check(&req)?;
        let client = self.client()?;
        let span = tracing::info_span!("llm.complete", model = %req.model, attempt = 1_u32);
        let request = to_openai(&req, false);
        async move {
            let deadline = Instant::now() + self.timeouts.turn;
            let mut retries = 0_u32;
            loop {
                let chat = client.chat();
                let call = chat.create(request.clone());
                let (error, retry) = match tokio::time::timeout_at(deadline, call).await {
                    Ok(Ok(response)) => return answer_text(response),
                    Ok(Err(error)) => classify(error),
                    Err(_) => {
                        let stage = TimeoutStage::Turn;
                        (LlmError::Timeout { stage, after: self.timeouts.turn }, false)
                    }
                };
                let delay = self.policy.delay(retries);
                if !retry || retries >= self.policy.max_retries || Instant::now() + delay >= deadline
                {
                    tracing::warn!(error = %error, attempts = retries + 1, "LLM completion failed");
                    return Err(error);
                }
                tracing::warn!(error = %error, attempt = retries + 1, "LLM completion failed; retrying");
                tokio::time::sleep(delay).await;
                retries += 1;
                tracing::Span::current().record("attempt", retries + 1);
            }
        }
        .instrument(span)
        .await
    }
}

fn answer_text(response: CreateChatCompletionResponse) -> Result<String, LlmError> {
    let message = response
        .choices
        .into_iter()
        .next()
        .map(|choice| choice.message)
        .ok_or_else(|| LlmError::InvalidResponse("the completion has no choices".into()))?;
    message
        .content
        .or(message.refusal)
        .ok_or_else(|| LlmError::InvalidResponse("the completion has no text".into()))
}
