//! The model's view of a thread: stored items rebuilt into chat messages, within a budget.
//!
//! User and assistant messages map directly; a workflow item carries, in its server-side
//! metadata, the tool calls of one round and their results, which become an assistant
//! message with tool calls followed by one tool message per call, so the model sees earlier
//! results again. Completed client tool calls likewise. Hidden context becomes a user
//! message wrapped in `<HiddenContext>`. When over budget the oldest groups are dropped
//! (a tool round is dropped whole, never leaving a tool result without its call); the newest
//! user message always stays.

use serde_json::Value;

use crate::chatkit::{ItemBody, ThreadItem};
use crate::conversation::transcript::TranscriptEntry;
use crate::llm::{ChatMessage, ToolCall};

/// A rough token estimate (4 characters per token), enough for budgeting.
pub fn estimate_tokens(m: &ChatMessage) -> usize {
    let chars = match m {
        ChatMessage::System { text } | ChatMessage::User { text } => text.len(),
        ChatMessage::Assistant { text, tool_calls } => {
            text.len()
                + tool_calls
                    .iter()
                    .map(|c| c.name.len() + c.arguments.len())
                    .sum::<usize>()
        }
        ChatMessage::Tool { content, .. } => content.len(),
    };
    chars / 4 + 4
}

/// Converts stored items (oldest first) into groups of messages that must stay together.
fn groups(entries: &[TranscriptEntry]) -> Vec<Vec<ChatMessage>> {
    entries
        .iter()
        .filter_map(|e| group_for(&e.item, &e.metadata))
        .collect()
}

fn group_for(item: &ThreadItem, metadata: &Value) -> Option<Vec<ChatMessage>> {
    match &item.body {
        ItemBody::UserMessage {
            attachments,
            quoted_text,
            ..
        } => {
            let mut text = item.plain_text();
            if let Some(q) = quoted_text {
                text = format!("(replying to: \"{q}\")\n{text}");
            }
            for a in attachments {
                text.push_str(&format!("\n[attached file: {} ({})]", a.name, a.mime_type));
            }
            Some(vec![ChatMessage::user(text)])
        }
        ItemBody::AssistantMessage { .. } => {
            let text = item.plain_text();
            (!text.trim().is_empty()).then(|| vec![ChatMessage::assistant(text)])
        }
        ItemBody::Workflow { .. } => {
            let calls = metadata.get("tool_calls")?.as_array()?;
            let mut tool_calls = Vec::new();
            let mut results = Vec::new();
            for c in calls {
                let id = c.get("id")?.as_str()?.to_owned();
                tool_calls.push(ToolCall {
                    id: id.clone(),
                    name: c.get("name")?.as_str()?.to_owned(),
                    arguments: c.get("arguments")?.as_str()?.to_owned(),
                });
                let result = c.get("result").cloned().unwrap_or(Value::Null);
                results.push(ChatMessage::tool(id, result.to_string()));
            }
            if tool_calls.is_empty() {
                return None;
            }
            let mut g = vec![ChatMessage::Assistant {
                text: String::new(),
                tool_calls,
            }];
            g.extend(results);
            Some(g)
        }
        ItemBody::ClientToolCall {
            call_id,
            name,
            arguments,
            output: Some(output),
            ..
        } => Some(vec![
            ChatMessage::Assistant {
                text: String::new(),
                tool_calls: vec![ToolCall {
                    id: call_id.clone(),
                    name: name.clone(),
                    arguments: arguments.to_string(),
                }],
            },
            ChatMessage::tool(call_id.clone(), output.to_string()),
        ]),
        ItemBody::HiddenContextItem { content } => {
            let text = match content {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some(vec![ChatMessage::user(format!(
                "<HiddenContext>{text}</HiddenContext>"
            ))])
        }
        ItemBody::SdkHiddenContext { content } => Some(vec![ChatMessage::user(format!(
            "<HiddenContext>{content}</HiddenContext>"
        ))]),
        ItemBody::StructuredInput { status, inputs } => {
            let answers: Vec<String> = inputs
                .iter()
                .map(|q| {
                    let a = q.answer.as_ref().map_or("(no answer)".to_owned(), |a| {
                        if a.skipped {
                            "(skipped)".to_owned()
                        } else {
                            a.values.join(", ")
                        }
                    });
                    format!("{}: {a}", q.question)
                })
                .collect();
            Some(vec![ChatMessage::user(format!(
                "Structured input ({status:?}): {}",
                answers.join("; ")
            ))])
        }
        _ => None,
    }
}

/// The history messages for the model, newest kept first when over `budget` tokens.
pub fn build(entries: &[TranscriptEntry], budget: usize) -> Vec<ChatMessage> {
    let groups = groups(entries);
    let mut kept: Vec<Vec<ChatMessage>> = Vec::new();
    let mut used = 0;
    let newest_user = groups
        .iter()
        .rposition(|g| matches!(g.first(), Some(ChatMessage::User { .. })));
    for (i, g) in groups.into_iter().enumerate().rev() {
        let cost: usize = g.iter().map(estimate_tokens).sum();
        let must_keep = Some(i) == newest_user;
        if used + cost > budget && !must_keep {
            // Everything older goes too, so the model never sees a gap in the middle.
            if i < newest_user.unwrap_or(0) {
                break;
            }
            continue;
        }
        used += cost;
        kept.push(g);
    }
    kept.reverse();
    kept.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::transcript::Transcript;
    use crate::store::ItemRecord;
    use chrono::Utc;
    use serde_json::json;

    fn build_from(records: Vec<ItemRecord>, budget: usize) -> Vec<ChatMessage> {
        build(Transcript::from_records(records).entries(), budget)
    }

    fn record(id: &str, content: Value, metadata: Value) -> ItemRecord {
        ItemRecord {
            id: id.into(),
            thread_id: "thr_1".into(),
            item_type: content["type"].as_str().unwrap_or("").parse().unwrap(),
            role: None,
            status: None,
            content,
            metadata,
            created_at: Utc::now(),
        }
    }

    fn user(id: &str, text: &str) -> ItemRecord {
        record(
            id,
            json!({"id": id, "thread_id": "thr_1", "created_at": "2026-11-25T10:00:00.000000Z", "type": "user_message",
                   "content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}),
            json!({}),
        )
    }

    fn assistant(id: &str, text: &str) -> ItemRecord {
        record(
            id,
            json!({"id": id, "thread_id": "thr_1", "created_at": "2026-11-25T10:00:00.000000Z", "type": "assistant_message",
                   "content": [{"type": "output_text", "text": text, "annotations": []}]}),
            json!({}),
        )
    }

    fn workflow(id: &str, call: &str) -> ItemRecord {
        record(
            id,
            json!({"id": id, "thread_id": "thr_1", "created_at": "2026-11-25T10:00:00.000000Z", "type": "workflow",
                   "workflow": {"type": "custom", "tasks": [], "expanded": false}}),
            json!({"tool_calls": [{"id": call, "name": "viewGuestList", "arguments": "{}", "result": {"guests": 3}}]}),
        )
    }

    #[test]
    fn tool_rounds_replay_as_calls_and_results() {
        let records = vec![
            user("m1", "hi"),
            workflow("w1", "call_1"),
            assistant("m2", "3 guests"),
            user("m3", "and now?"),
        ];
        let msgs = build_from(records.clone(), 10_000);
        assert_eq!(msgs.len(), 5);
        assert!(
            matches!(&msgs[1], ChatMessage::Assistant { tool_calls, .. } if tool_calls[0].id == "call_1")
        );
        assert!(
            matches!(&msgs[2], ChatMessage::Tool { tool_call_id, content } if tool_call_id == "call_1" && content.contains("guests"))
        );
    }

    #[test]
    fn over_budget_drops_the_oldest_whole_groups_and_keeps_the_newest_user_message() {
        let long = "x".repeat(4_000);
        let records = vec![
            user("m1", &long),
            workflow("w1", "call_1"),
            assistant("m2", &long),
            user("m3", &long),
        ];
        let msgs = build_from(records.clone(), 1_200);
        // Only the newest user message fits; no tool result is left without its call.
        assert_eq!(msgs.len(), 1);
        assert!(matches!(&msgs[0], ChatMessage::User { .. }));
        let msgs = build_from(records.clone(), 2_200);
        assert!(!matches!(msgs.first(), Some(ChatMessage::Tool { .. })));
        assert!(matches!(msgs.last(), Some(ChatMessage::User { .. })));
    }
}
