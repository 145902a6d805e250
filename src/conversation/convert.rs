//! Between the store's records and the wire types.
//!
//! A stored item's `content` column is the item exactly as it goes on the wire, so reading it
//! back is a plain deserialization; the other columns (`item_type`, `role`, `status`) are
//! derived from it for querying. Thread records carry server-only metadata that never
//! reaches the wire: [`thread_to_wire`] leaves it out (protocol §2.5).

use serde_json::Value;

use crate::chatkit::attachment::Attachment;
use crate::chatkit::content::UserMessageContent;
use crate::chatkit::item::{ClientToolCallStatus, ItemBody, ThreadItem};
use crate::chatkit::params::UserMessageInput;
use crate::chatkit::thread::{Page, Thread};
use crate::store::{ItemRecord, ThreadRecord};
use crate::vocab::ItemStatus;

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("stored item {id} is not a valid ChatKit item: {source}")]
    Item {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot encode item: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The wire thread for a record, with the given items page.
pub fn thread_to_wire(
    t: &ThreadRecord,
    items: Vec<ThreadItem>,
    has_more: bool,
    after: Option<String>,
) -> Thread {
    let mut wire = Thread::new(t.id.clone(), t.created_at);
    wire.title = t.title.clone();
    wire.status = t.status.clone();
    wire.allowed_image_domains = t.allowed_image_domains.clone();
    wire.with_items(Page::new(items, has_more, after))
}

/// Decodes a stored item.
pub fn item_from_record(r: &ItemRecord) -> Result<ThreadItem, ConvertError> {
    serde_json::from_value(r.content.clone()).map_err(|source| ConvertError::Item {
        id: r.id.clone(),
        source,
    })
}

/// Encodes an item for storing, with its server-side metadata.
pub fn item_to_record(item: &ThreadItem, metadata: Value) -> Result<ItemRecord, ConvertError> {
    let (role, status) = match &item.body {
        ItemBody::UserMessage { .. } => (Some("user"), None),
        ItemBody::AssistantMessage { .. } => (Some("assistant"), None),
        ItemBody::ClientToolCall { status, .. } => (
            None,
            Some(match status {
                ClientToolCallStatus::Pending => ItemStatus::Pending,
                ClientToolCallStatus::Completed => ItemStatus::Completed,
            }),
        ),
        ItemBody::StructuredInput { status, .. } => (
            None,
            Some(match status {
                crate::chatkit::structured::StructuredInputStatus::Pending => ItemStatus::Pending,
                crate::chatkit::structured::StructuredInputStatus::Answered => ItemStatus::Answered,
                crate::chatkit::structured::StructuredInputStatus::Skipped => ItemStatus::Skipped,
            }),
        ),
        _ => (None, None),
    };
    Ok(ItemRecord {
        id: item.id.clone(),
        thread_id: item.thread_id.clone(),
        item_type: item.body.item_type(),
        role: role.map(str::to_owned),
        status,
        content: serde_json::to_value(item)?,
        metadata,
        created_at: item.created_at,
    })
}

impl ThreadItem {
    /// A user message built from a request's input and the resolved attachments (their
    /// client JSON, already stamped with the thread id).
    pub fn user_message(
        id: String,
        thread_id: String,
        created_at: chrono::DateTime<chrono::Utc>,
        input: UserMessageInput,
        attachments: Vec<Value>,
    ) -> Result<Self, ConvertError> {
        let attachments = attachments
            .into_iter()
            .map(serde_json::from_value::<Attachment>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ThreadItem::new(
            id,
            thread_id,
            created_at,
            ItemBody::UserMessage {
                content: input.content,
                attachments,
                quoted_text: input.quoted_text,
                inference_options: input.inference_options,
            },
        ))
    }

    pub fn is_user_message(&self) -> bool {
        matches!(self.body, ItemBody::UserMessage { .. })
    }

    pub fn is_pending_client_tool_call(&self) -> bool {
        matches!(
            self.body,
            ItemBody::ClientToolCall {
                status: ClientToolCallStatus::Pending,
                ..
            }
        )
    }

    /// An assistant message with some non-blank text (what a cancelled stream keeps).
    pub fn is_assistant_with_text(&self) -> bool {
        match &self.body {
            ItemBody::AssistantMessage { content } => {
                content.iter().any(|p| !p.text.trim().is_empty())
            }
            _ => false,
        }
    }

    /// Records the client's output on a client tool call; `false` if this is not one.
    pub fn complete_client_tool_call(&mut self, result: Value) -> bool {
        match &mut self.body {
            ItemBody::ClientToolCall { status, output, .. } => {
                *status = ClientToolCallStatus::Completed;
                *output = Some(result);
                true
            }
            _ => false,
        }
    }

    /// The plain text of a user or assistant message (tags rendered as `@text`).
    pub fn plain_text(&self) -> String {
        match &self.body {
            ItemBody::UserMessage { content, .. } => content
                .iter()
                .map(|c| match c {
                    UserMessageContent::InputText { text } => text.clone(),
                    UserMessageContent::InputTag { text, .. } => format!("@{text}"),
                })
                .collect::<Vec<_>>()
                .join(""),
            ItemBody::AssistantMessage { content } => content
                .iter()
                .map(|p| p.text.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        }
    }
}
