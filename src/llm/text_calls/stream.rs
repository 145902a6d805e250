//! The incremental filter: text deltas in, the text that may be shown now out. Text that may
//! be a tool call is held back until the answer ends, when [`TextCallFilter::finish`] parses
//! it. Plain data, no I/O; `events` drives it.
//!
//! What is held:
//! - at the start of the message: leading whitespace (invisible, so holding it costs
//!   nothing), then a message that opens like a call: `{"`, `[{`, or a fence whose body opens
//!   with `{` or `[`. Anything else (`[a link](…)`, a fenced code sample) is released at
//!   once and the message continues as prose.
//! - in prose: from a `<tool_call>` tag on, and a partial `<tool_call>` prefix at the end of
//!   the text (the tag may be split over deltas at any byte), which is released as soon as
//!   the next delta shows it is not the tag.
//!
//! Held text is bounded by [`HOLD_LIMIT`]: past it, everything held is released as text and
//! the filter passes the rest of the answer through untouched (no call is that long).

use super::parser::{FENCE, NotACall, OPEN_TAG, first_calls, parse, rejected_call, skip_language};
use crate::llm::types::{ToolCall, ToolSpec};

/// The most text held back while it may still be a call (bytes).
pub const HOLD_LIMIT: usize = 8 * 1024;

/// What the held text turned out to be when the answer ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Text to show (before the calls); empty when there is none.
    pub text: String,
    /// The recovered calls; empty when the held text was plain text.
    pub calls: Vec<ToolCall>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    /// Nothing but whitespace so far: the message may still open like a call.
    #[default]
    Start,
    /// Ordinary text; watching for a `<tool_call>` tag.
    Prose,
    /// Holding text that may be a call until the answer ends.
    Holding,
    /// Past the bound or finished: everything passes through.
    Off,
}

/// Whether the start of a message (leading whitespace removed) looks like a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opening {
    /// Too short to tell.
    Undecided,
    /// Opens like a call object, an array of them, or a fence holding one.
    Call,
    /// Cannot be a call.
    Prose,
}

fn opening(text: &str) -> Opening {
    let after = |rest: &str, starts: &[char]| match rest.trim_start().chars().next() {
        None => Opening::Undecided,
        Some(c) if starts.contains(&c) => Opening::Call,
        Some(_) => Opening::Prose,
    };
    if let Some(rest) = text.strip_prefix('{') {
        after(rest, &['"'])
    } else if let Some(rest) = text.strip_prefix('[') {
        after(rest, &['{'])
    } else if let Some(rest) = text.strip_prefix(FENCE) {
        let body = skip_language(rest);
        // The language may still be arriving (```js … on).
        if body.is_empty() {
            Opening::Undecided
        } else {
            after(body, &['{', '['])
        }
    } else if text.is_empty() || FENCE.starts_with(text) {
        Opening::Undecided
    } else {
        Opening::Prose
    }
}

/// Bytes at the end of `text` that are a proper prefix of `<tool_call>`.
fn partial_tag(text: &str) -> usize {
    (1..OPEN_TAG.len())
        .rev()
        .find(|&k| text.ends_with(&OPEN_TAG[..k]))
        .unwrap_or(0)
}

/// The filter over one answer's text deltas.
#[derive(Debug, Default)]
pub struct TextCallFilter {
    held: String,
    state: State,
}

impl TextCallFilter {
    /// Feeds one delta; returns the text that may be shown now (often all of it, possibly
    /// none).
    pub fn push(&mut self, delta: &str) -> String {
        self.held.push_str(delta);
        let released = self.advance();
        if self.held.len() > HOLD_LIMIT {
            tracing::debug!(
                held = self.held.len(),
                "text held as a possible tool call passed the bound; released as text"
            );
            self.state = State::Off;
            return released + &std::mem::take(&mut self.held);
        }
        released
    }

    fn advance(&mut self) -> String {
        match self.state {
            State::Start => match opening(self.held.trim_start()) {
                Opening::Undecided => String::new(),
                Opening::Call => {
                    self.state = State::Holding;
                    String::new()
                }
                Opening::Prose => {
                    self.state = State::Prose;
                    self.advance()
                }
            },
            State::Prose => {
                if let Some(at) = self.held.find(OPEN_TAG) {
                    self.state = State::Holding;
                    let rest = self.held.split_off(at);
                    return std::mem::replace(&mut self.held, rest);
                }
                // The tag is ASCII and starts with '<', so this is a char boundary.
                let keep = partial_tag(&self.held);
                let rest = self.held.split_off(self.held.len() - keep);
                std::mem::replace(&mut self.held, rest)
            }
            State::Holding => String::new(),
            State::Off => std::mem::take(&mut self.held),
        }
    }

    /// Whether text is being held back.
    pub fn is_holding(&self) -> bool {
        !self.held.is_empty()
    }

    /// The answer failed: returns the held text that may still be shown (a partial tag
    /// prefix, leading whitespace), and drops a call in progress, which is not something the
    /// model said to the user. The filter passes everything through afterwards.
    pub fn abandon(&mut self) -> String {
        let state = std::mem::replace(&mut self.state, State::Off);
        let held = std::mem::take(&mut self.held);
        if state == State::Holding {
            tracing::debug!(
                held = held.len(),
                "the answer failed during a tool call written as text; the call is dropped"
            );
            return String::new();
        }
        held
    }

    /// Once the held text's first call is complete and valid: those calls, and the filter
    /// passes everything through afterwards (the caller ends the answer there).
    pub fn complete_calls(&mut self, tools: &[ToolSpec]) -> Option<Resolution> {
        // Parsing the held text again per delta is cheap: it is at most HOLD_LIMIT bytes.
        if self.state != State::Holding {
            return None;
        }
        let calls = first_calls(&self.held, tools)?;
        self.state = State::Off;
        self.held.clear();
        Some(Resolution {
            text: String::new(),
            calls,
        })
    }

    /// The answer ended: parses what was held as a possible call. The filter passes
    /// everything through afterwards.
    pub fn finish(&mut self, tools: &[ToolSpec]) -> Resolution {
        let state = std::mem::replace(&mut self.state, State::Off);
        let held = std::mem::take(&mut self.held);
        if !matches!(state, State::Start | State::Holding) {
            return Resolution {
                text: held,
                calls: Vec::new(),
            };
        }
        match parse(&held, tools) {
            Ok(recovered) => Resolution {
                text: recovered.text,
                calls: recovered.calls,
            },
            Err(reason @ (NotACall::UnknownTool(_) | NotACall::InvalidArguments { .. })) => {
                match rejected_call(&held) {
                    Some(call) => {
                        tracing::info!(%reason, "an invalid tool call written as text goes to the tool round, which refuses it");
                        Resolution {
                            text: call.text,
                            calls: call.calls,
                        }
                    }
                    None => Resolution {
                        text: held,
                        calls: Vec::new(),
                    },
                }
            }
            Err(reason) => {
                if !held.trim().is_empty() {
                    tracing::debug!(%reason, "held text is not a tool call; shown as text");
                }
                Resolution {
                    text: held,
                    calls: Vec::new(),
                }
            }
        }
    }
}
