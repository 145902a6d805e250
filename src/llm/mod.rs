//! The LLM client: chat completions against OpenAI or any OpenAI-compatible server, through
//! async-openai, behind types of our own.
//!
//! - `types`: [`ChatRequest`], [`ChatMessage`], [`ToolSpec`], [`ToolCall`], [`LlmEvent`];
//!   callers never see an async-openai type.
//! - `provider`: [`LlmClient`] (`stream_chat`, `complete`), built from `LlmSettings`: the
//!   hosted endpoint or the local model.
//! - `client`: [`HostedClient`], api.openai.com or any OpenAI-compatible server.
//! - `local`: the in-process llama.cpp model ([`LocalClient`]).
//! - `stream`: one streamed answer as a state machine (tool-call assembly, retries before
//!   the first event, `Interrupted` after it).
//! - `clock`: the first-token, idle and turn clocks of an answer, for both providers.
//! - `retry`: backoff with jitter, and the split of retries between async-openai and us.
//! - `http_check`: an HTML page or a non-JSON client error named before async-openai reads it.
//! - `convert`: the translation to and from async-openai's types.
//! - `error`: [`LlmError`], classified once; `fault`: the one table of model faults
//!   ([`Fault`]: the user's message and `allow_retry`, protocol §10.3).
//! - `text_calls`: tool calls a model wrote as text, recovered from the stream before the
//!   text reaches the user ([`recover_tool_calls`]; on for OpenAI-compatible servers, see
//!   `llm.text_tool_calls`).

mod client;
mod clock;
mod convert;
mod error;
mod fault;
mod http_check;
mod http_retry;
pub mod local;
mod provider;
mod retry;
mod stream;
pub mod text_calls;
pub mod types;

pub use client::{HostedClient, LlmStream};
pub use error::{LlmError, TimeoutStage};
pub use fault::Fault;
pub use local::LocalClient;
pub use provider::LlmClient;
pub use retry::RetryPolicy;
pub use text_calls::recover_tool_calls;
pub use types::{ChatMessage, ChatRequest, LlmEvent, ToolCall, ToolSpec};
