//! Tool calls written as text: recovering them before the text reaches the user.
//!
//! Small local models (Qwen2.5 0.5B/1.5B behind llama.cpp's `llama-server`, and the like)
//! often answer with a tool call written as plain text instead of a `tool_calls` delta. The
//! user would see raw JSON and no tool would run. This module finds such calls in the text
//! stream and turns them into real [`ToolCall`](crate::llm::ToolCall)s.
//!
//! The protocol (what counts as a call written as text):
//! - **tag form**, as Qwen's chat template teaches: `<tool_call>{"name": ..., "arguments":
//!   {...}}</tool_call>`, one or more, anywhere in the message; the last tag may be left
//!   open at the end of the text. Prose around the tags stays text.
//! - **fenced form**: the message starts with a ```` ```json ```` (or bare ```` ``` ````)
//!   fence holding one call object or an array of them.
//! - **bare form**: the whole message (trimmed) is a call object or an array of them.
//!
//! A call object has a `name` and `arguments` (an object, or a JSON string holding one;
//! `parameters` is accepted as a synonym; missing means `{}`). A fence or bare JSON only
//! counts at the start of the message: after prose the model is showing JSON, not calling.
//!
//! Guarantees:
//! - every call that runs names an offered tool and its arguments pass the tool's schema
//!   (`tools::schema::validate`). A first call that names a tool not offered, or breaks the
//!   schema, but is plainly a call (an identifier `name` and `arguments`) is not shown: it
//!   goes to the tool round as written, which refuses it like a hosted model's invalid call
//!   and tells the model why, so it can correct itself. Prose or broken JSON anywhere, or a
//!   JSON object that is not call-like, keeps the whole text as text, exactly as the model
//!   wrote it. After valid calls, a JSON
//!   value that is not a valid call (an invented call, an echoed tool result, JSON cut off by
//!   the token limit: what Qwen2.5 0.5B writes) ends the list and is dropped, never run and
//!   never shown. The user never sees half a recovered answer.
//! - the answer ends at the first complete, valid call (or list of calls in one JSON array):
//!   the rest is not generated or read, so invented follow-up calls cost nothing and never
//!   run. The model sees the result in the next round and calls again if it must.
//! - text that cannot start a call streams through at once, so ordinary answers still arrive
//!   token by token; only text that may be a call is held, and never more than
//!   [`HOLD_LIMIT`] bytes of it.
//!
//! Parts: `parser` (pure: a complete text -> calls or a reason it is text), `stream` (the
//! incremental filter over text deltas), `markup` (prompt markup copied into an answer,
//! removed), `events` ([`recover_tool_calls`], the filter applied
//! to an [`LlmStream`](crate::llm::LlmStream) of events).

mod events;
mod markup;
mod parser;
mod stream;

pub use events::recover_tool_calls;
pub use parser::{NotACall, Recovered, parse};
pub use stream::{HOLD_LIMIT, Resolution, TextCallFilter};

#[cfg(test)]
mod tests;
