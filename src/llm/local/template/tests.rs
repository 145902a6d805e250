use serde_json::json;

use super::ChatTemplate;
use crate::llm::types::{ChatMessage, ToolCall, ToolSpec};

/// Qwen2.5 Instruct's template, as its GGUF file carries it.
const QWEN: &str = include_str!("qwen2.5.jinja");

fn qwen() -> ChatTemplate {
    ChatTemplate::new(QWEN.to_owned()).expect("the Qwen template parses")
}

fn tool() -> ToolSpec {
    ToolSpec {
        name: "getEventDetails".into(),
        description: "Details of an event.".into(),
        parameters: json!({
            "type": "object",
            "properties": { "eventId": { "type": "string" } },
            "required": ["eventId"],
        }),
    }
}

#[test]
fn a_first_turn_has_the_system_prompt_the_tools_block_and_the_generation_prompt() {
    let prompt = qwen()
        .render(
            &[
                ChatMessage::system("You help Jane."),
                ChatMessage::user("Show me my event details"),
            ],
            &[tool()],
        )
        .expect("renders");
    assert!(
        prompt.starts_with("<|im_start|>system\nYou help Jane.\n\n# Tools\n"),
        "{prompt}"
    );
    assert!(prompt.contains("<tools>\n{"), "{prompt}");
    assert!(prompt.contains(r#""name": "getEventDetails""#), "{prompt}");
    assert!(
        prompt.contains("<tool_call></tool_call> XML tags"),
        "{prompt}"
    );
    assert!(
        prompt.ends_with(
            "<|im_start|>user\nShow me my event details<|im_end|>\n<|im_start|>assistant\n"
        ),
        "{prompt}"
    );
}

#[test]
fn without_tools_the_template_has_no_tools_block() {
    let prompt = qwen()
        .render(&[ChatMessage::system("S"), ChatMessage::user("Hi")], &[])
        .expect("renders");
    assert_eq!(
        prompt,
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
}

#[test]
fn tool_calls_and_results_render_in_the_form_the_model_was_trained_on() {
    let messages = [
        ChatMessage::system("S"),
        ChatMessage::user("Details?"),
        ChatMessage::Assistant {
            text: String::new(),
            tool_calls: vec![
                ToolCall {
                    id: "call_1".into(),
                    name: "getEventDetails".into(),
                    arguments: r#"{"eventId":"evt_1"}"#.into(),
                },
                ToolCall {
                    id: "call_2".into(),
                    name: "getEventDetails".into(),
                    arguments: "not json".into(),
                },
            ],
        },
        ChatMessage::tool("call_1", r#"{"name":"Smith Wedding"}"#),
        ChatMessage::tool("call_2", r#"{"error":"bad arguments"}"#),
    ];
    let prompt = qwen().render(&messages, &[tool()]).expect("renders");
    let expected_tail = concat!(
        "<|im_start|>assistant\n",
        "<tool_call>\n{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"evt_1\"}}\n</tool_call>\n",
        "<tool_call>\n{\"name\": \"getEventDetails\", \"arguments\": \"not json\"}\n</tool_call><|im_end|>\n",
        // Consecutive tool results share one user turn.
        "<|im_start|>user\n<tool_response>\n{\"name\":\"Smith Wedding\"}\n</tool_response>\n",
        "<tool_response>\n{\"error\":\"bad arguments\"}\n</tool_response><|im_end|>\n",
        "<|im_start|>assistant\n",
    );
    assert!(prompt.ends_with(expected_tail), "{prompt}");
}

/// The KV cache of a thread is reused when the next turn's prompt starts with the tokens
/// already evaluated: turn 1's prompt plus its answer must be a prefix of turn 2's.
#[test]
fn a_later_turn_extends_the_earlier_prompt_and_answer() {
    let template = qwen();
    let mut messages = vec![ChatMessage::system("S"), ChatMessage::user("Hi")];
    let first = template.render(&messages, &[tool()]).expect("renders");
    messages.push(ChatMessage::assistant("Hello Jane."));
    messages.push(ChatMessage::user("Thanks"));
    let second = template.render(&messages, &[tool()]).expect("renders");
    assert!(
        second.starts_with(&format!("{first}Hello Jane.<|im_end|>")),
        "{second}"
    );
}

#[test]
fn raise_exception_and_broken_templates_are_errors_not_panics() {
    let raising =
        ChatTemplate::new("{{ raise_exception('no system role') }}".to_owned()).expect("parses");
    let error = raising
        .render(&[ChatMessage::user("x")], &[])
        .expect_err("raises");
    assert!(error.to_string().contains("no system role"), "{error}");
    assert!(ChatTemplate::new("{% for %}".to_owned()).is_err());
}

#[test]
fn python_string_methods_work_as_in_transformers() {
    let template = ChatTemplate::new(
        "{% for m in messages %}{{ m.content.strip().upper() }}|{{ m.role.startswith('us') }};{% endfor %}"
            .to_owned(),
    )
    .expect("parses");
    let out = template
        .render(&[ChatMessage::user("  hi  ")], &[])
        .expect("renders");
    // Booleans print as Python does.
    assert_eq!(out, "HI|True;");
}
