//! Request parameters (protocol §3): one struct per request type, plus the shared
//! [`UserMessageInput`] (§3.1), [`Action`] (§6.4) and list paging ([`Order`], limit).
//!
//! Parsing is lenient: unknown fields are ignored, optional or defaulted fields accept an
//! explicit `null` as "unset", lists and objects default to empty, `limit` missing or `0`
//! means [`DEFAULT_PAGE_SIZE`], `order` defaults to `desc`.
//!
//! Serialization (used by tests and by Rust clients) mirrors what the ChatKit client sends:
//! `attachments` and `inference_options` are always written, while `order: desc`, a null
//! action `payload` and an unset `item_id` are omitted.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::content::UserMessageContent;
use super::item::InferenceOptions;
use super::serde_util::{is_default, null_as_default};
use super::structured::StructuredInputSubmission;

/// Page size used when `limit` is missing, `null` or `0`.
pub const DEFAULT_PAGE_SIZE: usize = 20;

/// A new user message: `{"content","attachments","quoted_text"?,"inference_options"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserMessageInput {
    /// Text and tag parts (default `[]`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub content: Vec<UserMessageContent>,
    /// Ids of attachments uploaded earlier (default `[]`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub attachments: Vec<String>,
    /// Text the user replied to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted_text: Option<String>,
    /// Tool choice and model (default `{}`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub inference_options: InferenceOptions,
}

/// A widget or custom action: `{"type","payload"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Action type chosen by the integration.
    #[serde(rename = "type")]
    pub kind: String,
    /// Any JSON; `null` when absent (and then omitted on output).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub payload: Value,
}

/// Sort order of a list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first (the default).
    #[default]
    Desc,
}

/// Feedback kind of `items.feedback`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    /// Thumbs up.
    Positive,
    /// Thumbs down.
    Negative,
}

fn default_limit() -> usize {
    DEFAULT_PAGE_SIZE
}

/// `limit`: missing, `null` or `0` → [`DEFAULT_PAGE_SIZE`].
fn limit_or_default<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    Ok(match Option::<u64>::deserialize(deserializer)? {
        None | Some(0) => DEFAULT_PAGE_SIZE,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    })
}

/// `threads.create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateThreadParams {
    /// The first message.
    pub input: UserMessageInput,
}

/// `threads.add_user_message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddUserMessageParams {
    /// Target thread.
    pub thread_id: String,
    /// The message.
    pub input: UserMessageInput,
}

/// `threads.add_client_tool_output`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddClientToolOutputParams {
    /// Target thread.
    pub thread_id: String,
    /// Whatever the client's tool handler returned (any JSON; `null` when absent).
    #[serde(default)]
    pub result: Value,
}

/// `threads.retry_after_item`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryAfterItemParams {
    /// Target thread.
    pub thread_id: String,
    /// The user message whose turn is regenerated.
    pub item_id: String,
}

/// `threads.custom_action` and `threads.sync_custom_action`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomActionParams {
    /// Target thread.
    pub thread_id: String,
    /// The widget item that fired the action, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    /// The action.
    pub action: Action,
}

/// `threads.add_structured_input`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddStructuredInputParams {
    /// Target thread.
    pub thread_id: String,
    /// The `structured_input` item answered.
    pub item_id: String,
    /// The answers.
    pub input: StructuredInputSubmission,
}

/// `threads.get_by_id` and `threads.delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadIdParams {
    /// Target thread.
    pub thread_id: String,
}

/// `threads.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListThreadsParams {
    /// Page size (never 0; default 20).
    #[serde(default = "default_limit", deserialize_with = "limit_or_default")]
    pub limit: usize,
    /// Sort order (default `desc`).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_default"
    )]
    pub order: Order,
    /// Cursor: a thread id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl Default for ListThreadsParams {
    fn default() -> Self {
        ListThreadsParams {
            limit: DEFAULT_PAGE_SIZE,
            order: Order::Desc,
            after: None,
        }
    }
}

/// `items.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListItemsParams {
    /// Target thread.
    pub thread_id: String,
    /// Page size (never 0; default 20).
    #[serde(default = "default_limit", deserialize_with = "limit_or_default")]
    pub limit: usize,
    /// Sort order (default `desc`).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_default"
    )]
    pub order: Order,
    /// Cursor: an item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// `items.feedback`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackParams {
    /// Target thread.
    pub thread_id: String,
    /// Items rated (default `[]`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub item_ids: Vec<String>,
    /// Positive or negative.
    pub kind: FeedbackKind,
}

/// `attachments.create`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAttachmentParams {
    /// File name.
    pub name: String,
    /// Size in bytes (default 0).
    #[serde(default, deserialize_with = "null_as_default")]
    pub size: u64,
    /// MIME type.
    pub mime_type: String,
}

/// `attachments.delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteAttachmentParams {
    /// The attachment.
    pub attachment_id: String,
}

/// `threads.update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateThreadParams {
    /// Target thread.
    pub thread_id: String,
    /// The new title (`None` when missing or `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// `input.transcribe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscribeParams {
    /// Base64 audio.
    pub audio_base64: String,
    /// MIME type, possibly with parameters (`audio/webm;codecs=opus`).
    pub mime_type: String,
}

impl TranscribeParams {
    /// The MIME type without parameters (`audio/webm`).
    pub fn media_type(&self) -> &str {
        self.mime_type
            .split(';')
            .next()
            .map_or(self.mime_type.as_str(), str::trim)
    }
}
