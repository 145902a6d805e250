//! Identifiers.
//!
//! Every id is `<prefix>_<suffix>`. The reference server uses 8 hex characters of a UUIDv4
//! (`thr_e74751ae`); the client treats ids as opaque strings. This server generates
//! `<prefix>_` + a UUIDv7 as 32 lowercase hex digits, so ids sort by creation time. Prefixes
//! follow the reference (protocol §8.1): `thr`, `msg`, `tc`, `wf`, `tsk`, `atc`, `shcx`.
//! Ids coming from clients are checked with [`validate_id`], which also accepts the
//! reference's short ids and other opaque ids of the same shape.

use uuid::Uuid;

/// Longest accepted suffix (after `prefix_`) in [`validate_id`].
pub const MAX_SUFFIX_LEN: usize = 64;

/// The id prefixes this server generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdPrefix {
    /// `thr`: threads.
    Thread,
    /// `msg`: messages and most other items.
    Message,
    /// `tc`: client tool calls.
    ToolCall,
    /// `wf`: workflows.
    Workflow,
    /// `tsk`: standalone task items.
    Task,
    /// `atc`: attachments.
    Attachment,
    /// `shcx`: server-written hidden context (`sdk_hidden_context`).
    SdkHiddenContext,
    /// `trn`: a turn (our own: the `X-Eventchat-Turn` header, resume and cancel URLs).
    Turn,
}

impl IdPrefix {
    /// The prefix text, without the underscore.
    pub const fn as_str(self) -> &'static str {
        match self {
            IdPrefix::Thread => "thr",
            IdPrefix::Message => "msg",
            IdPrefix::ToolCall => "tc",
            IdPrefix::Workflow => "wf",
            IdPrefix::Task => "tsk",
            IdPrefix::Attachment => "atc",
            IdPrefix::SdkHiddenContext => "shcx",
            IdPrefix::Turn => "trn",
        }
    }
}

impl std::fmt::Display for IdPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A new time-sortable id: `"<prefix>_"` + UUIDv7 as 32 lowercase hex digits.
pub fn new_id(prefix: IdPrefix) -> String {
    format!("{}_{}", prefix.as_str(), Uuid::now_v7().simple())
}

/// The prefix for an item id, given either a thread item `type` (`"user_message"`,
/// `"client_tool_call"`, `"workflow"`, ...) or one of the reference's generator names
/// (`"message"`, `"tool_call"`, `"workflow"`, `"task"`, `"attachment"`,
/// `"sdk_hidden_context"`, `"thread"`). Anything else gets `msg`, as in the reference.
pub fn item_prefix_for(item_type: &str) -> IdPrefix {
    match item_type {
        "client_tool_call" | "tool_call" => IdPrefix::ToolCall,
        "workflow" => IdPrefix::Workflow,
        "task" => IdPrefix::Task,
        "attachment" => IdPrefix::Attachment,
        "sdk_hidden_context" => IdPrefix::SdkHiddenContext,
        "thread" => IdPrefix::Thread,
        _ => IdPrefix::Message,
    }
}

/// Checks the shape of an id received from a client: ASCII `[a-z]+_[A-Za-z0-9_-]{1,64}`,
/// and, when `expected` is given, that the prefix (the text before the first `_`) matches.
pub fn validate_id(id: &str, expected: Option<IdPrefix>) -> bool {
    let Some((prefix, suffix)) = id.split_once('_') else {
        return false;
    };
    let prefix_ok = !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_lowercase());
    let suffix_ok = !suffix.is_empty()
        && suffix.len() <= MAX_SUFFIX_LEN
        && suffix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    prefix_ok && suffix_ok && expected.is_none_or(|p| p.as_str() == prefix)
}
