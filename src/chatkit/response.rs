//! Non-streaming response bodies that are not a [`Thread`](super::Thread),
//! [`Page`](super::Page), [`ThreadItem`] or
//! [`Attachment`](super::Attachment) (protocol §3.8, §3.13–3.17):
//!
//! * `{}` for `items.feedback`, `attachments.delete`, `threads.delete` ([`EmptyResponse`]);
//! * `{"updated_item": ThreadItem}` or `{}` for `threads.sync_custom_action`
//!   ([`SyncCustomActionResponse`]);
//! * `{"text": "..."}` for `input.transcribe` ([`TranscriptionResponse`]).

use serde::{Deserialize, Serialize};

use super::item::ThreadItem;

/// `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmptyResponse {}

/// `{"updated_item": …}`, or `{}` when there is nothing to replace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncCustomActionResponse {
    /// The widget item to swap in place (not persisted by the protocol layer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_item: Option<ThreadItem>,
}

/// `{"text": …}`: the transcription placed in the composer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptionResponse {
    /// The transcribed text.
    pub text: String,
}
