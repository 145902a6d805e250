//! The LLM vocabulary the rest of the crate speaks: requests, messages, tool specs and the
//! events of a streamed answer. No async-openai type appears here, so callers (the turn
//! runner, title generation, tests) stay independent of the client library's version.

use serde::{Deserialize, Serialize};

/// One chat-completion request. `stream_chat` always streams with usage reporting and
/// allows parallel tool calls; `complete` sends the same request unstreamed.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    pub temperature: Option<f32>,
    /// Upper bound on generated tokens (sent as `max_completion_tokens`).
    pub max_tokens: Option<u32>,
    pub messages: Vec<ChatMessage>,
    /// Function tools offered to the model; empty means no tools.
    /// Shared: an agent's tool list is built once and offered on every request.
    pub tools: std::sync::Arc<[ToolSpec]>,
    /// The conversation this request continues (a thread id): the local model keeps its
    /// evaluated prompt under this key, so the next turn only reads what is new. Hosted
    /// endpoints ignore it.
    pub cache_key: Option<String>,
}

impl ChatRequest {
    /// A request for `model` with no sampling settings, messages or tools yet.
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            temperature: None,
            max_tokens: None,
            messages: Vec::new(),
            tools: std::sync::Arc::from([]),
            cache_key: None,
        }
    }
}

/// A message of the conversation sent to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum ChatMessage {
    System {
        text: String,
    },
    User {
        text: String,
    },
    /// An earlier answer of the model: its text and the tools it called.
    Assistant {
        text: String,
        tool_calls: Vec<ToolCall>,
    },
    /// The result of one tool call, answering `tool_call_id`.
    Tool {
        tool_call_id: String,
        content: String,
    },
}

impl ChatMessage {
    pub fn system(text: impl Into<String>) -> Self {
        Self::System { text: text.into() }
    }

    pub fn user(text: impl Into<String>) -> Self {
        Self::User { text: text.into() }
    }

    pub fn assistant(text: impl Into<String>) -> Self {
        Self::Assistant {
            text: text.into(),
            tool_calls: Vec::new(),
        }
    }

    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self::Tool {
            tool_call_id: tool_call_id.into(),
            content: content.into(),
        }
    }
}

/// A function tool: its name, what it does, and a JSON schema of its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

/// A tool call made by the model. `arguments` is the JSON text exactly as the model wrote
/// it; it may be invalid JSON, which the tool runner reports back to the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// One step of a streamed answer, in this order: any number of `TextDelta`s, then at most one
/// `ToolCalls` (complete calls, assembled from the deltas), at most one `Usage`, and
/// `Finished` last.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmEvent {
    TextDelta(String),
    ToolCalls(Vec<ToolCall>),
    Usage {
        prompt_tokens: u32,
        completion_tokens: u32,
    },
    /// The model finished; `finish_reason` is OpenAI's (`stop`, `tool_calls`, `length`,
    /// `content_filter`).
    Finished {
        finish_reason: Option<String>,
    },
}
