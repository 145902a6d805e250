//! Attachments (protocol §3.12, §6.3).
//!
//! `{"type":"file"|"image","id","name","mime_type","upload_descriptor"?,"thread_id"?,
//! "preview_url"}` where `preview_url` exists (and is required) on images only.
//! `upload_descriptor` is `{"url","method":"POST"|"PUT","headers":{}}`; it tells the client
//! where to send the bytes in the two-phase upload and is cleared once they arrive.
//! `thread_id` is set once the attachment is used in a message. The integration-only
//! `metadata` is accepted on input but **never serialized**.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::serde_util::null_as_default;

/// An uploaded (or announced) file or image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// `atc_…`.
    pub id: String,
    /// Original file name.
    pub name: String,
    /// MIME type as given by the client.
    pub mime_type: String,
    /// Where to upload the bytes (two-phase strategy); omitted once uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_descriptor: Option<UploadDescriptor>,
    /// The thread that uses the attachment, once used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    /// Integration-only data: read if present, never written.
    #[serde(default, skip_serializing, deserialize_with = "null_as_default")]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// `file` or `image` (carries `type`).
    #[serde(flatten)]
    pub kind: AttachmentKind,
}

impl Attachment {
    /// `true` for images.
    pub fn is_image(&self) -> bool {
        matches!(self.kind, AttachmentKind::Image { .. })
    }
}

/// The kind of an attachment, discriminated by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AttachmentKind {
    /// Any file.
    File {},
    /// An image, with the URL the client uses to show it.
    Image {
        /// Preview URL.
        preview_url: String,
    },
}

/// Instructions for uploading the bytes: `{"url","method","headers"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadDescriptor {
    /// Upload URL.
    pub url: String,
    /// HTTP method to use.
    pub method: UploadMethod,
    /// Extra headers to send (default `{}`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub headers: BTreeMap<String, String>,
}

/// HTTP method of an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum UploadMethod {
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
}
