//! The repeat guard: a way out for a model that keeps asking for what it already has.
//!
//! Small models (the ones that write tool calls as text) often loop: they call a tool, get
//! its result, and call it again with the same arguments instead of answering. The call
//! cache of `tool_round` already keeps a repeat from running twice, but the model would go
//! on asking until the step cap and the user would get the cap's message instead of an
//! answer. The guard notices a round whose every call was already answered in this turn;
//! the runner then asks the model once more, without tools, so that it must answer in text
//! from the results it has.
//!
//! Only a round made entirely of repeats counts: a round that also asks for something new
//! makes progress (its repeats are answered from the cache, never run again). Calls are the
//! same when the tool and the canonical arguments (`tool_round::canonical`) are. Plain
//! state, no I/O; the runner uses it only when `llm.text_tool_calls` is enabled.

use std::collections::HashSet;

use super::tool_round::canonical;
use crate::llm::ToolCall;

/// What the runner does with a round of calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Run the round (repeats in it come from the cache).
    Run,
    /// Every call was already answered: ask the model again without tools.
    AnswerWithoutTools,
}

/// The calls answered so far in one turn.
#[derive(Debug, Default)]
pub struct RepeatGuard {
    answered: HashSet<(String, String)>,
}

fn key(call: &ToolCall) -> (String, String) {
    (call.name.clone(), canonical(&call.arguments))
}

impl RepeatGuard {
    /// The verdict on a round the model asked for.
    pub fn check(&self, calls: &[ToolCall]) -> Verdict {
        if !calls.is_empty() && calls.iter().all(|c| self.answered.contains(&key(c))) {
            Verdict::AnswerWithoutTools
        } else {
            Verdict::Run
        }
    }

    /// Records the calls of a round that ran (their results went back to the model).
    pub fn answered(&mut self, calls: &[ToolCall]) {
        self.answered.extend(calls.iter().map(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, arguments: &str) -> ToolCall {
        ToolCall {
            id: format!("call_{name}"),
            name: name.to_owned(),
            arguments: arguments.to_owned(),
        }
    }

    #[test]
    fn a_new_call_runs() {
        let guard = RepeatGuard::default();
        assert_eq!(guard.check(&[call("getEventDetails", "{}")]), Verdict::Run);
        assert_eq!(guard.check(&[]), Verdict::Run);
    }

    #[test]
    fn a_repeat_of_an_answered_call_asks_for_an_answer() {
        let mut guard = RepeatGuard::default();
        guard.answered(&[call("getEventDetails", r#"{"eventId": "e1"}"#)]);
        // Same tool, same arguments up to formatting: a new id changes nothing.
        let again = call("getEventDetails", "{\n  \"eventId\":\"e1\"\n}");
        assert_eq!(
            guard.check(std::slice::from_ref(&again)),
            Verdict::AnswerWithoutTools
        );
        assert_eq!(
            guard.check(&[again.clone(), again]),
            Verdict::AnswerWithoutTools
        );
    }

    #[test]
    fn other_arguments_or_tools_run() {
        let mut guard = RepeatGuard::default();
        guard.answered(&[call("getEventDetails", r#"{"eventId": "e1"}"#)]);
        let other_event = call("getEventDetails", r#"{"eventId": "e2"}"#);
        let other_tool = call("viewGuestList", r#"{"eventId": "e1"}"#);
        assert_eq!(guard.check(&[other_event]), Verdict::Run);
        assert_eq!(guard.check(std::slice::from_ref(&other_tool)), Verdict::Run);
        // A round that also asks for something new makes progress.
        let repeat = call("getEventDetails", r#"{"eventId":"e1"}"#);
        assert_eq!(guard.check(&[repeat, other_tool]), Verdict::Run);
    }

    #[test]
    fn arguments_that_are_not_json_compare_as_trimmed_text() {
        let mut guard = RepeatGuard::default();
        guard.answered(&[call("listEvents", "not json ")]);
        assert_eq!(
            guard.check(&[call("listEvents", " not json")]),
            Verdict::AnswerWithoutTools
        );
        assert_eq!(
            guard.check(&[call("listEvents", "not  json")]),
            Verdict::Run
        );
    }
}
