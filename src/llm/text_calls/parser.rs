//! The parser: a complete text and the offered tools in, the tool calls written in it out
//! (or the reason the text is just text). Pure: no I/O, no state.
//!
//! The forms and the rule for invalid candidates are described in the module docs
//! (`text_calls`).

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::llm::types::{ToolCall, ToolSpec};
use crate::tools::schema;

pub(super) const OPEN_TAG: &str = "<tool_call>";
pub(super) const CLOSE_TAG: &str = "</tool_call>";
pub(super) const FENCE: &str = "```";

/// Tool calls found in a text, and the text around them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The prose around the calls, each piece trimmed, joined by a blank line (may be empty).
    pub text: String,
    /// At least one call, in the order written.
    pub calls: Vec<ToolCall>,
}

/// Why a text is not a tool call (kept as text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotACall {
    #[error("the text holds no tool call")]
    NoCandidate,
    #[error("a tool-call candidate is not a call: {0}")]
    Malformed(String),
    #[error("a tool-call candidate is not JSON: {0}")]
    NotJson(String),
    #[error("the text calls a tool that is not offered: {0}")]
    UnknownTool(String),
    #[error("the arguments of {tool} do not fit its schema: {reason}")]
    InvalidArguments { tool: String, reason: String },
}

/// Finds the tool calls written in `text`. An invalid first call, or anything that is not
/// JSON, makes the whole text plain text (`Err`). After valid calls, a JSON value that is
/// not a valid call (an unknown tool, arguments that break the schema, or no call at all:
/// the 0.5B model sometimes echoes the tool result after repeating its call) ends the list: the valid leading calls run
/// and the rest is dropped, neither run nor shown. Small models (Qwen2.5 0.5B, greedy) often
/// write the call that was asked for and then chain invented ones with made-up arguments;
/// the model sees the results of the first ones and answers or calls again.
pub fn parse(text: &str, tools: &[ToolSpec]) -> Result<Recovered, NotACall> {
    let (outside, candidates) = split(text)?;
    let mut calls = Vec::new();
    for candidate in candidates {
        let (found, error) = calls_in(candidate, tools);
        calls.extend(found);
        match error {
            // Prose or broken JSON after a call is not an invented call: all text.
            Some(error) if calls.is_empty() || matches!(error, NotACall::NotJson(_)) => {
                return Err(error);
            }
            Some(error) => {
                tracing::info!(error = %error, kept = calls.len(), "text tool calls: dropped an invalid tail");
                break;
            }
            None => {}
        }
    }
    dedup(&mut calls);
    if calls.is_empty() {
        return Err(NotACall::NoCandidate);
    }
    Ok(Recovered {
        text: prose(&outside),
        calls,
    })
}

/// The prose pieces around the calls, each trimmed, joined by a blank line.
fn prose(outside: &[&str]) -> String {
    outside
        .iter()
        .map(|piece| piece.trim())
        .filter(|piece| !piece.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// A text whose first call [`parse`] refused for its tool (not offered) or its arguments
/// (against the schema), but which is still plainly a call: a JSON object with an
/// identifier `name` and an `arguments` (or `parameters`) member. It is not shown (raw JSON
/// the user cannot use) and not run: it goes to the tool round as written, like a hosted
/// model's invalid call, which refuses it and tells the model why (the tools it may call,
/// or the schema's complaint), so the model can correct it in its next round. Anything less
/// call-like (`{"name": "Parker Rehearsal Dinner", ...}`: the model showing data) is `None`
/// and stays text.
pub(super) fn rejected_call(text: &str) -> Option<Recovered> {
    let (outside, candidates) = split(text).ok()?;
    let body = without_fence(candidates.first()?);
    let value = serde_json::Deserializer::from_str(body)
        .into_iter::<Value>()
        .next()?
        .ok()?;
    let value = match value {
        Value::Array(items) => items.into_iter().next()?,
        other => other,
    };
    let name = value.get("name")?.as_str()?;
    let identifier = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !identifier {
        return None;
    }
    let arguments = match value.get("arguments").or_else(|| value.get("parameters"))? {
        Value::String(raw) => raw.clone(),
        other => other.to_string(),
    };
    Some(Recovered {
        text: prose(&outside),
        calls: vec![ToolCall {
            id: new_call_id(),
            name: name.to_owned(),
            arguments: crate::json_text::sanitize_model_json(&arguments).into_owned(),
        }],
    })
}

/// A candidate's body, without the fence around it if it has one.
fn without_fence(candidate: &str) -> &str {
    let body = candidate.trim();
    match body.strip_prefix(FENCE) {
        Some(inner) => {
            let inner = skip_language(inner);
            inner.strip_suffix(FENCE).unwrap_or(inner).trim()
        }
        None => body,
    }
}

/// The calls of a held text whose first call is complete already: `<tool_call>{...}`, a
/// fence opening `{...}` or `[...]`, or bare `{...}` / `[...]`, once that first JSON value is
/// closed and is a valid call (or a list of them). `None` while it is unfinished, or when it
/// is not a valid call (the whole answer is then resolved by [`parse`] at its end). What
/// follows the first value is not looked at: small models chain invented calls after the
/// one that was asked for, and the answer is cut here (see `events`).
pub(super) fn first_calls(held: &str, tools: &[ToolSpec]) -> Option<Vec<ToolCall>> {
    let mut body = held.trim_start();
    if let Some(after) = body.strip_prefix(OPEN_TAG) {
        body = after.trim_start();
    }
    if let Some(after) = body.strip_prefix(FENCE) {
        body = skip_language(after).trim_start();
    }
    if !(body.starts_with('{') || body.starts_with('[')) {
        return None;
    }
    let value = serde_json::Deserializer::from_str(body)
        .into_iter::<Value>()
        .next()?
        .ok()?;
    let mut calls = Vec::new();
    match value {
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                calls.push(call_of(item, tools).ok()?);
            }
        }
        Value::Object(_) => calls.push(call_of(value, tools).ok()?),
        _ => return None,
    }
    dedup(&mut calls);
    Some(calls)
}

/// Drops a call that repeats an earlier one of the same answer (same tool, same arguments):
/// small models write the asked call twice, and once null or unknown arguments are dropped
/// an invented variant can become the same call.
fn dedup(calls: &mut Vec<ToolCall>) {
    let mut seen: Vec<(String, String)> = Vec::with_capacity(calls.len());
    calls.retain(|call| {
        let key = (call.name.clone(), call.arguments.clone());
        let new = !seen.contains(&key);
        if new {
            seen.push(key);
        }
        new
    });
}

/// The prose pieces and the call candidates of `text`, by form.
fn split(text: &str) -> Result<(Vec<&str>, Vec<&str>), NotACall> {
    let trimmed = text.trim();
    if text.contains(OPEN_TAG) {
        Ok(split_tags(text))
    } else if trimmed.starts_with(FENCE) {
        Ok(split_fences(trimmed))
    } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
        Ok((Vec::new(), vec![trimmed]))
    } else {
        Err(NotACall::NoCandidate)
    }
}

/// `<tool_call>…</tool_call>` blocks. A block without its closing tag ends at the next
/// opening tag or at the end of the text (models often stop right before `</tool_call>`).
fn split_tags(text: &str) -> (Vec<&str>, Vec<&str>) {
    let mut outside = Vec::new();
    let mut candidates = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN_TAG) {
        outside.push(&rest[..start]);
        let body = &rest[start + OPEN_TAG.len()..];
        let close = body.find(CLOSE_TAG);
        let reopen = body.find(OPEN_TAG);
        match (close, reopen) {
            (Some(end), Some(next)) if next < end => {
                candidates.push(&body[..next]);
                rest = &body[next..];
            }
            (Some(end), _) => {
                candidates.push(&body[..end]);
                rest = &body[end + CLOSE_TAG.len()..];
            }
            (None, Some(next)) => {
                candidates.push(&body[..next]);
                rest = &body[next..];
            }
            (None, None) => {
                candidates.push(body);
                rest = "";
            }
        }
    }
    outside.push(rest);
    (outside, candidates)
}

/// ```` ```lang … ``` ```` blocks of a text that starts with a fence. An unclosed last fence
/// runs to the end of the text.
fn split_fences(text: &str) -> (Vec<&str>, Vec<&str>) {
    let mut outside = Vec::new();
    let mut candidates = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(FENCE) {
        outside.push(&rest[..start]);
        let body = skip_language(&rest[start + FENCE.len()..]);
        match body.find(FENCE) {
            Some(end) => {
                candidates.push(&body[..end]);
                rest = &body[end + FENCE.len()..];
            }
            None => {
                candidates.push(body);
                rest = "";
            }
        }
    }
    outside.push(rest);
    (outside, candidates)
}

/// The text after a fence's info string (`json`, `JSON`, `tool_call`, or none).
pub(super) fn skip_language(after_fence: &str) -> &str {
    after_fence.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || "_+-".contains(c))
}

/// The calls of one candidate: one or more JSON values (objects or arrays of objects),
/// optionally inside a fence (a tag may hold a fenced block).
/// The valid calls found before the first invalid one, and that error if there was one.
fn calls_in(candidate: &str, tools: &[ToolSpec]) -> (Vec<ToolCall>, Option<NotACall>) {
    let mut calls = Vec::new();
    let error = collect_calls(candidate, tools, &mut calls).err();
    (calls, error)
}

fn collect_calls(
    candidate: &str,
    tools: &[ToolSpec],
    calls: &mut Vec<ToolCall>,
) -> Result<(), NotACall> {
    let body = without_fence(candidate);
    if body.is_empty() {
        return Err(NotACall::Malformed("an empty candidate".into()));
    }
    for value in serde_json::Deserializer::from_str(body).into_iter::<Value>() {
        // JSON cut off at the end (the answer hit its token limit) is an unfinished value,
        // not prose: after a valid call it is a droppable tail like an invented call.
        let value = value.map_err(|e| {
            if e.is_eof() {
                NotACall::Malformed(format!("unfinished JSON: {e}"))
            } else {
                NotACall::NotJson(e.to_string())
            }
        })?;
        match value {
            Value::Array(items) if items.is_empty() => {
                return Err(NotACall::Malformed("an empty list of calls".into()));
            }
            Value::Array(items) => {
                for item in items {
                    calls.push(call_of(item, tools)?);
                }
            }
            other => calls.push(call_of(other, tools)?),
        }
    }
    Ok(())
}

/// One call object, checked against the offered tools.
fn call_of(value: Value, tools: &[ToolSpec]) -> Result<ToolCall, NotACall> {
    let Value::Object(mut object) = value else {
        return Err(NotACall::Malformed("a call must be a JSON object".into()));
    };
    let Some(Value::String(name)) = object.remove("name") else {
        return Err(NotACall::Malformed("a call needs a string `name`".into()));
    };
    let arguments = match (object.remove("arguments"), object.remove("parameters")) {
        (Some(_), Some(_)) => {
            return Err(NotACall::Malformed(
                "a call has both `arguments` and `parameters`".into(),
            ));
        }
        (Some(a), None) | (None, Some(a)) => arguments_of(a)?,
        (None, None) => Map::new(),
    };
    let spec = tools
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| NotACall::UnknownTool(name.clone()))?;
    let arguments = valid_arguments(&spec.parameters, arguments).map_err(|reason| {
        NotACall::InvalidArguments {
            tool: name.clone(),
            reason,
        }
    })?;
    // The call never passed `LlmClient`'s U+0000 rule as a call (it came as text, where
    // `\u0000` is six plain characters), so its arguments get the rule here (protocol §2.10).
    let arguments = arguments.to_string();
    Ok(ToolCall {
        id: new_call_id(),
        name,
        arguments: crate::json_text::sanitize_model_json(&arguments).into_owned(),
    })
}

/// The arguments if they pass the tool's schema, else the same arguments without the keys
/// small models add that carry nothing (a `null` for an optional parameter, a key the tool
/// does not have: Qwen2.5 writes `"tableNumber": null` and copies schema keywords such as
/// `"required": []` into its arguments), if those pass. A key is never renamed or a value
/// changed: what runs is what the model wrote, less what the tool would not read.
fn valid_arguments(schema: &Value, arguments: Map<String, Value>) -> Result<Value, String> {
    let arguments = Value::Object(arguments);
    let Err(reason) = schema::validate(schema, &arguments) else {
        return Ok(arguments);
    };
    let Value::Object(mut map) = arguments else {
        return Err(reason);
    };
    let known = schema.get("properties").and_then(Value::as_object);
    let before = map.len();
    map.retain(|key, value| !value.is_null() && known.is_some_and(|k| k.contains_key(key)));
    if map.len() == before {
        return Err(reason);
    }
    let repaired = Value::Object(map);
    match schema::validate(schema, &repaired) {
        Ok(()) => {
            tracing::debug!(dropped = before - repaired.as_object().map_or(0, Map::len), %reason,
                "text tool call: dropped null and unknown arguments");
            Ok(repaired)
        }
        Err(_) => Err(reason),
    }
}

/// Arguments as an object, or as a JSON string holding one (what the model would have put in
/// a real `tool_calls` delta); `null` means none.
fn arguments_of(value: Value) -> Result<Map<String, Value>, NotACall> {
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        Value::String(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(NotACall::Malformed(
                "`arguments` is a string that is not a JSON object".into(),
            )),
        },
        _ => Err(NotACall::Malformed("`arguments` must be an object".into())),
    }
}

/// `call_` and 12 hex digits: unique within a conversation, short like OpenAI's.
fn new_call_id() -> String {
    let suffix: String = Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(12)
        .collect();
    format!("call_{suffix}")
}
