//! Thread items (protocol §6.2): the 11 `ThreadItem` types.
//!
//! Every item has `id`, `thread_id`, `created_at` and a `type`; the rest depends on the type:
//!
//! | `type` | fields |
//! | --- | --- |
//! | `user_message` | `content`, `attachments` (full objects, `[]`), `quoted_text?`, `inference_options` (`{}`) |
//! | `assistant_message` | `content` (`output_text` parts) |
//! | `client_tool_call` | `status` (`pending`), `call_id`, `name`, `arguments`, `output?` |
//! | `widget` | `widget` (opaque JSON root), `copy_text?` |
//! | `generated_image` | `image?` (`{id,url}`, absent while generating) |
//! | `structured_input` | `status`, `inputs` |
//! | `workflow` | `workflow` |
//! | `task` | `task` |
//! | `end_of_turn` | nothing |
//! | `hidden_context_item` | `content` (any JSON) — never sent to the client |
//! | `sdk_hidden_context` | `content` (string) — never sent to the client |

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attachment::Attachment;
use super::content::{OutputText, UserMessageContent};
use super::serde_util::{empty_object, null_as_default, null_as_empty_object};
use super::structured::{StructuredInputQuestion, StructuredInputStatus};
use super::task::{Task, Workflow};
use crate::vocab::ItemType;

/// A thread item: the common fields plus the typed body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadItem {
    /// Item id (`msg_…`, `tc_…`, `wf_…`, ...).
    pub id: String,
    /// The owning thread.
    pub thread_id: String,
    /// Creation time.
    #[serde(with = "super::time")]
    pub created_at: DateTime<Utc>,
    /// The typed body (carries `type`).
    #[serde(flatten)]
    pub body: ItemBody,
}

impl ThreadItem {
    /// Builds an item.
    pub fn new(
        id: impl Into<String>,
        thread_id: impl Into<String>,
        created_at: DateTime<Utc>,
        body: ItemBody,
    ) -> Self {
        ThreadItem {
            id: id.into(),
            thread_id: thread_id.into(),
            created_at,
            body,
        }
    }

    /// The wire `type` of the item.
    pub fn type_name(&self) -> &'static str {
        self.body.type_name()
    }

    /// `true` for `hidden_context_item` and `sdk_hidden_context`, which are stored but never
    /// sent to the client (filtered from lists, `get_by_id` and `thread.item.done`).
    pub fn is_hidden(&self) -> bool {
        self.body.is_hidden()
    }
}

/// The type-specific part of a thread item, discriminated by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemBody {
    /// A message from the user.
    UserMessage {
        /// Text and tag parts.
        #[serde(default, deserialize_with = "null_as_default")]
        content: Vec<UserMessageContent>,
        /// Full attachment objects (default `[]`).
        #[serde(default, deserialize_with = "null_as_default")]
        attachments: Vec<Attachment>,
        /// Text the user replied to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quoted_text: Option<String>,
        /// Tool choice and model (default `{}`).
        #[serde(default, deserialize_with = "null_as_default")]
        inference_options: InferenceOptions,
    },
    /// A message from the assistant.
    AssistantMessage {
        /// `output_text` parts.
        #[serde(default, deserialize_with = "null_as_default")]
        content: Vec<OutputText>,
    },
    /// A tool the client must run.
    ClientToolCall {
        /// `pending` until the client sends the output.
        #[serde(default, deserialize_with = "null_as_default")]
        status: ClientToolCallStatus,
        /// The model's call id.
        call_id: String,
        /// Tool name.
        name: String,
        /// Tool arguments (an object; default `{}`).
        #[serde(default = "empty_object", deserialize_with = "null_as_empty_object")]
        arguments: Value,
        /// The client's result, once completed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<Value>,
    },
    /// A widget (opaque JSON root: `Card`, `ListView`, `Basic`).
    Widget {
        /// The widget root.
        widget: Value,
        /// What the copy button copies.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        copy_text: Option<String>,
    },
    /// An image produced by the model.
    GeneratedImage {
        /// The image; absent while it is being generated.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<GeneratedImage>,
    },
    /// Questions for the user.
    StructuredInput {
        /// `pending`, `answered` or `skipped`.
        #[serde(default, deserialize_with = "null_as_default")]
        status: StructuredInputStatus,
        /// The questions.
        #[serde(default, deserialize_with = "null_as_default")]
        inputs: Vec<StructuredInputQuestion>,
    },
    /// A list of steps.
    Workflow {
        /// The workflow.
        workflow: Workflow,
    },
    /// A single step shown on its own.
    Task {
        /// The task.
        task: Task,
    },
    /// End-of-turn marker.
    EndOfTurn {},
    /// Integration-written context for the model; never sent to the client.
    HiddenContextItem {
        /// Any JSON.
        #[serde(default)]
        content: Value,
    },
    /// Server-written context for the model (e.g. the cancellation note); never sent.
    SdkHiddenContext {
        /// The text.
        #[serde(default, deserialize_with = "null_as_default")]
        content: String,
    },
}

impl ItemBody {
    /// The wire `type`.
    pub fn type_name(&self) -> &'static str {
        self.item_type().as_str()
    }

    /// The wire `type`, as the stored `item_type` column's value.
    pub fn item_type(&self) -> ItemType {
        match self {
            ItemBody::UserMessage { .. } => ItemType::UserMessage,
            ItemBody::AssistantMessage { .. } => ItemType::AssistantMessage,
            ItemBody::ClientToolCall { .. } => ItemType::ClientToolCall,
            ItemBody::Widget { .. } => ItemType::Widget,
            ItemBody::GeneratedImage { .. } => ItemType::GeneratedImage,
            ItemBody::StructuredInput { .. } => ItemType::StructuredInput,
            ItemBody::Workflow { .. } => ItemType::Workflow,
            ItemBody::Task { .. } => ItemType::Task,
            ItemBody::EndOfTurn {} => ItemType::EndOfTurn,
            ItemBody::HiddenContextItem { .. } => ItemType::HiddenContextItem,
            ItemBody::SdkHiddenContext { .. } => ItemType::SdkHiddenContext,
        }
    }

    /// `true` for the two hidden context types.
    pub fn is_hidden(&self) -> bool {
        self.item_type().is_hidden()
    }
}

/// `inference_options`: `{"tool_choice"?:{"id"},"model"?}`; `{}` when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InferenceOptions {
    /// The tool picked in the composer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// The model picked in the composer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// `{"id": tool id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolChoice {
    /// Tool id.
    pub id: String,
}

/// Status of a client tool call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientToolCallStatus {
    /// Waiting for `threads.add_client_tool_output` (the default).
    #[default]
    Pending,
    /// The output was received.
    Completed,
}

/// A generated image: `{"id","url"}` (a data URL or a link).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedImage {
    /// Image id.
    pub id: String,
    /// Image URL.
    pub url: String,
}
