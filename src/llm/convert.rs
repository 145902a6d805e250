//! Translation between our types and async-openai's, in one place; and the assembly of
//! streamed tool-call deltas into complete calls.

use std::collections::BTreeMap;

use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCallChunk,
    ChatCompletionMessageToolCalls, ChatCompletionRequestAssistantMessage,
    ChatCompletionRequestAssistantMessageContent, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestSystemMessageContent,
    ChatCompletionRequestToolMessage, ChatCompletionRequestToolMessageContent,
    ChatCompletionRequestUserMessage, ChatCompletionRequestUserMessageContent,
    ChatCompletionStreamOptions, ChatCompletionTool, ChatCompletionTools,
    CreateChatCompletionRequest, FinishReason, FunctionCall, FunctionObject,
};

use super::error::LlmError;
use super::types::{ChatMessage, ChatRequest, ToolCall};

/// The async-openai request for `req`; `stream` selects streaming with usage reporting.
pub(crate) fn to_openai(req: &ChatRequest, stream: bool) -> CreateChatCompletionRequest {
    let tools: Vec<ChatCompletionTools> = req
        .tools
        .iter()
        .map(|t| {
            ChatCompletionTools::Function(ChatCompletionTool {
                function: FunctionObject {
                    name: t.name.clone(),
                    description: Some(t.description.clone()),
                    parameters: Some(t.parameters.clone()),
                    strict: None,
                },
            })
        })
        .collect();
    let has_tools = !tools.is_empty();
    CreateChatCompletionRequest {
        model: req.model.clone(),
        messages: req.messages.iter().map(to_openai_message).collect(),
        temperature: req.temperature,
        max_completion_tokens: req.max_tokens,
        tools: has_tools.then_some(tools),
        parallel_tool_calls: has_tools.then_some(true),
        stream: stream.then_some(true),
        stream_options: stream.then_some(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        }),
        ..Default::default()
    }
}

fn to_openai_message(message: &ChatMessage) -> ChatCompletionRequestMessage {
    match message {
        ChatMessage::System { text } => {
            ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
                content: ChatCompletionRequestSystemMessageContent::Text(text.clone()),
                name: None,
            })
        }
        ChatMessage::User { text } => {
            ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
                content: ChatCompletionRequestUserMessageContent::Text(text.clone()),
                name: None,
            })
        }
        ChatMessage::Assistant { text, tool_calls } => {
            let calls: Vec<ChatCompletionMessageToolCalls> = tool_calls
                .iter()
                .map(|c| {
                    ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
                        id: c.id.clone(),
                        function: FunctionCall {
                            name: c.name.clone(),
                            arguments: c.arguments.clone(),
                        },
                    })
                })
                .collect();
            // OpenAI wants `content` absent, not empty, on a pure tool-call message.
            let content = (!text.is_empty() || calls.is_empty())
                .then(|| ChatCompletionRequestAssistantMessageContent::Text(text.clone()));
            ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage {
                content,
                tool_calls: (!calls.is_empty()).then_some(calls),
                ..Default::default()
            })
        }
        ChatMessage::Tool {
            tool_call_id,
            content,
        } => ChatCompletionRequestMessage::Tool(ChatCompletionRequestToolMessage {
            content: ChatCompletionRequestToolMessageContent::Text(content.clone()),
            tool_call_id: tool_call_id.clone(),
        }),
    }
}

/// OpenAI's spelling of a finish reason.
pub(crate) fn finish_reason_str(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::FunctionCall => "function_call",
    }
}

#[derive(Debug, Default)]
struct PartialCall {
    id: Option<String>,
    name: String,
    arguments: String,
}

/// Collects tool-call deltas by `index`: the first delta of a call brings its id and name,
/// the following ones pieces of the arguments; parallel calls interleave.
#[derive(Debug, Default)]
pub(crate) struct ToolCallAssembler {
    calls: BTreeMap<u32, PartialCall>,
}

impl ToolCallAssembler {
    pub(crate) fn push(&mut self, chunk: &ChatCompletionMessageToolCallChunk) {
        let call = self.calls.entry(chunk.index).or_default();
        if let Some(id) = chunk.id.as_ref().filter(|id| !id.is_empty()) {
            call.id.get_or_insert_with(|| id.clone());
        }
        if let Some(function) = &chunk.function {
            // The name comes whole with the first delta; some servers repeat it later.
            if let Some(name) = function.name.as_ref().filter(|n| !n.is_empty())
                && call.name.is_empty()
            {
                call.name = name.clone();
            }
            if let Some(arguments) = &function.arguments {
                call.arguments.push_str(arguments);
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The complete calls in index order. A call without a name cannot be run; a
    /// missing id is replaced (some compatible servers omit it) and empty arguments become
    /// `{}`.
    pub(crate) fn finish(self) -> Result<Vec<ToolCall>, LlmError> {
        self.calls
            .into_iter()
            .map(|(index, call)| {
                if call.name.is_empty() {
                    return Err(LlmError::BadToolCall(format!(
                        "tool call {index} has no function name"
                    )));
                }
                let arguments = if call.arguments.trim().is_empty() {
                    "{}".to_owned()
                } else {
                    call.arguments
                };
                Ok(ToolCall {
                    id: call.id.unwrap_or_else(|| format!("call_{index}")),
                    name: call.name,
                    arguments,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use async_openai::types::chat::FunctionCallStream;

    use super::*;

    fn delta(
        index: u32,
        id: Option<&str>,
        name: Option<&str>,
        args: &str,
    ) -> ChatCompletionMessageToolCallChunk {
        ChatCompletionMessageToolCallChunk {
            index,
            id: id.map(str::to_owned),
            r#type: None,
            function: Some(FunctionCallStream {
                name: name.map(str::to_owned),
                arguments: Some(args.to_owned()),
            }),
        }
    }

    #[test]
    fn assembles_interleaved_parallel_calls() {
        let mut a = ToolCallAssembler::default();
        a.push(&delta(0, Some("c0"), Some("getEventDetails"), ""));
        a.push(&delta(1, Some("c1"), Some("viewGuestList"), ""));
        a.push(&delta(0, None, None, "{\"event"));
        a.push(&delta(1, None, None, "{}"));
        a.push(&delta(0, None, None, "Id\":7}"));
        let calls = a.finish().unwrap();
        assert_eq!(calls[0].name, "getEventDetails");
        assert_eq!(calls[0].arguments, "{\"eventId\":7}");
        assert_eq!(calls[1].id, "c1");
        assert_eq!(calls[1].arguments, "{}");
    }

    #[test]
    fn nameless_call_is_invalid() {
        let mut a = ToolCallAssembler::default();
        a.push(&delta(0, Some("c0"), None, "{}"));
        assert!(matches!(a.finish(), Err(LlmError::BadToolCall(_))));
    }
}
