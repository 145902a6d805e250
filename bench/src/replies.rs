//! What the mock LLM answers in the load scenarios, and how long that takes it. Plain replies
//! are the mock's fallback; with `--tool-call-first` a responder looks at each request: a
//! request whose last message is a tool result gets the text, any other request first gets a
//! `getEventDetails` call for the thread's event (read from eventchat's system prompt), so
//! every turn is two model requests with a tool run in between, on both servers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mock_llm::{MockLlm, MockToolCall, Reply};
use serde_json::{Value, json};

/// The tool both servers offer and the mock calls first (eventchat: src/tools/events.rs;
/// reference: scripts/bench/reference_server.py).
pub const TOOL: &str = "getEventDetails";

/// The model's pacing for one load scenario.
#[derive(Clone, Copy)]
pub struct Pace {
    pub tokens: usize,
    pub first: Duration,
    pub per_token: Duration,
    pub tool_call_first: bool,
}

impl Pace {
    /// The mock's own time for one turn, by its pacing rule: the text reply's last token at
    /// `first + (tokens - 1) × per_token`, the frames after it at once; a tool-call reply (no
    /// tokens) ends at `first`. The best turn time a server can reach.
    pub fn mock_time(&self) -> Duration {
        let text = self.first + self.per_token * self.tokens.saturating_sub(1) as u32;
        if self.tool_call_first {
            text + self.first
        } else {
            text
        }
    }

    fn text(&self) -> Reply {
        Reply::generated(self.tokens)
            .first_token_delay(self.first)
            .token_delay(self.per_token)
    }
}

/// Sets the mock up for a load scenario: the text as fallback, plus the tool-call-first
/// responder when asked. `event_ids` are the seeded events (a fallback for finding the id).
pub fn script_load(mock: &MockLlm, pace: Pace, event_ids: Vec<String>) {
    mock.set_fallback(pace.text());
    if !pace.tool_call_first {
        mock.clear_responder();
        return;
    }
    let text = pace.text();
    let first = pace.first;
    let calls = AtomicU64::new(0);
    mock.set_responder(move |request: &Value| {
        let messages = request["messages"].as_array()?;
        if messages.last().is_some_and(|m| m["role"] == "tool") {
            return Some(text.clone());
        }
        let event = event_id(messages, &event_ids).unwrap_or("bench-event");
        let n = calls.fetch_add(1, Ordering::Relaxed);
        let call = MockToolCall::new(format!("call_bench_{n}"), TOOL, json!({"eventId": event}));
        Some(Reply::tool_calls(vec![call]).first_token_delay(first))
    });
}

/// Sets the mock up for the one-token replies of (c) and (d).
pub fn script_short(mock: &MockLlm) {
    mock.clear_responder();
    mock.set_fallback(Reply::generated(1));
}

/// The event of the thread: eventchat's system prompt says "Event: NAME (id ID), ..."; else
/// the first seeded event id found in it. The reference's prompt has neither.
fn event_id<'a>(messages: &'a [Value], known: &'a [String]) -> Option<&'a str> {
    let system = messages
        .iter()
        .find(|m| m["role"] == "system")?
        .get("content")?
        .as_str()?;
    let parsed = system
        .split_once("Event: ")
        .and_then(|(_, rest)| rest.split_once("(id "))
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(id, _)| id.trim());
    if let Some(id) = parsed
        && known.iter().any(|k| k == id)
    {
        return Some(id);
    }
    known
        .iter()
        .find(|id| system.contains(id.as_str()))
        .map(String::as_str)
        .or(parsed)
}
