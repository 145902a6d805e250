//! The model's own chat template, rendered with minijinja.
//!
//! A GGUF file carries its chat template (`tokenizer.chat_template`, Jinja as written for
//! Hugging Face's Python `transformers`). We render it as `transformers` does: `messages`
//! in the OpenAI shape (assistant `tool_calls` with `function.name` and `function.arguments`
//! as a JSON *object*, tool results as `role: "tool"`), `tools` as OpenAI function tools,
//! and `add_generation_prompt = true`, so the prompt ends where the assistant's answer
//! starts. Python string methods the templates use (`.strip()`, `.startswith()`, ...) come
//! from minijinja-contrib's pycompat layer.
//!
//! The template renders the tools block itself (Qwen's teaches `<tool_call>` tags); the
//! model's answer then goes through the lenient text tool-call parser like any other
//! text-speaking model.

use minijinja::value::Serde;
use minijinja::{Environment, Value};
use serde_json::{Value as Json, json};

use crate::llm::types::{ChatMessage, ToolSpec};

/// Why a template could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("the model's chat template does not parse: {0}")]
    Parse(String),
    #[error("the model's chat template failed to render: {0}")]
    Render(String),
}

/// A parsed chat template, ready to render prompts. Cheap to share behind an `Arc`.
pub struct ChatTemplate {
    env: Environment<'static>,
}

const NAME: &str = "chat";

impl ChatTemplate {
    /// Parses `source` (the GGUF's `tokenizer.chat_template`).
    pub fn new(source: String) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        // As transformers compiles chat templates.
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| TemplateError::Parse(e.to_string()))?;
        env.set_syntax(syntax);
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        // Templates call raise_exception() on inputs they do not support.
        env.add_function("raise_exception", |message: String| -> Result<Value, _> {
            Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                message,
            ))
        });
        env.add_template_owned(NAME, source)
            .map_err(|e| TemplateError::Parse(e.to_string()))?;
        Ok(Self { env })
    }

    /// The prompt for `messages` with `tools` offered (none: the template's plain form).
    pub fn render(
        &self,
        messages: &[ChatMessage],
        tools: &[ToolSpec],
    ) -> Result<String, TemplateError> {
        let template = self
            .env
            .get_template(NAME)
            .map_err(|e| TemplateError::Render(e.to_string()))?;
        let messages: Vec<Json> = messages.iter().map(message_json).collect();
        let tools: Vec<Json> = tools.iter().map(tool_json).collect();
        let tools = if tools.is_empty() {
            Value::from(())
        } else {
            Value::from(Serde(&tools))
        };
        template
            .render(minijinja::context! {
                messages => Value::from(Serde(&messages)),
                tools => tools,
                add_generation_prompt => true,
            })
            .map_err(|e| TemplateError::Render(e.to_string()))
    }
}

/// One message in the shape `transformers` passes to templates.
fn message_json(message: &ChatMessage) -> Json {
    match message {
        ChatMessage::System { text } => json!({ "role": "system", "content": text }),
        ChatMessage::User { text } => json!({ "role": "user", "content": text }),
        ChatMessage::Assistant { text, tool_calls } if tool_calls.is_empty() => {
            json!({ "role": "assistant", "content": text })
        }
        ChatMessage::Assistant { text, tool_calls } => {
            let calls: Vec<Json> = tool_calls
                .iter()
                .map(|call| {
                    // Templates print `arguments | tojson`: an object, as the model wrote it;
                    // text that is not JSON stays a string rather than being dropped.
                    let arguments = serde_json::from_str::<Json>(&call.arguments)
                        .unwrap_or_else(|_| Json::String(call.arguments.clone()));
                    json!({
                        "id": call.id,
                        "type": "function",
                        "function": { "name": call.name, "arguments": arguments },
                    })
                })
                .collect();
            json!({ "role": "assistant", "content": text, "tool_calls": calls })
        }
        ChatMessage::Tool {
            tool_call_id,
            content,
        } => json!({ "role": "tool", "tool_call_id": tool_call_id, "content": content }),
    }
}

fn tool_json(tool: &ToolSpec) -> Json {
    json!({
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    })
}

#[cfg(test)]
mod tests;
