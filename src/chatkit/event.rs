//! Stream events (protocol §4): the 12 `ThreadStreamEvent` types sent as SSE frames by the
//! six streaming requests.
//!
//! * `thread.created` / `thread.updated` carry a [`Thread`] (empty items page);
//! * `thread.item.added` (pending, not persisted), `thread.item.done` (final, persisted),
//!   `thread.item.replaced` (upsert) carry a [`ThreadItem`]; `thread.item.updated` carries
//!   `item_id` and a [`ThreadItemUpdate`]; `thread.item.removed` carries `item_id`;
//! * `stream_options` (`{"allow_cancel":bool}`) is the first event of every pipeline run;
//! * `progress_update {icon?, text}`, `client_effect {name, data}` (data `{}` by default)
//!   and `notice {level, message, title?}` are transient;
//! * `error {code, message?, allow_retry}`: `code` is `stream.error` (the client shows its
//!   own text) or `custom` (the default; `message` is shown); `allow_retry` defaults to
//!   `false` and makes the UI offer a retry button.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::item::ThreadItem;
use super::serde_util::{empty_object, null_as_default, null_as_empty_object};
use super::thread::Thread;
use super::update::ThreadItemUpdate;

/// One server-sent event, discriminated by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ThreadStreamEvent {
    /// A new thread (first event of `threads.create`).
    #[serde(rename = "thread.created")]
    ThreadCreated {
        /// The thread, with an empty items page.
        thread: Thread,
    },
    /// The thread's title, status or image domains changed.
    #[serde(rename = "thread.updated")]
    ThreadUpdated {
        /// The thread, with an empty items page.
        thread: Thread,
    },
    /// A pending (streaming) item starts.
    #[serde(rename = "thread.item.added")]
    ItemAdded {
        /// The item.
        item: ThreadItem,
    },
    /// A pending item changes.
    #[serde(rename = "thread.item.updated")]
    ItemUpdated {
        /// The item's id.
        item_id: String,
        /// The change.
        update: ThreadItemUpdate,
    },
    /// An item is complete.
    #[serde(rename = "thread.item.done")]
    ItemDone {
        /// The item.
        item: ThreadItem,
    },
    /// An item was deleted.
    #[serde(rename = "thread.item.removed")]
    ItemRemoved {
        /// The item's id.
        item_id: String,
    },
    /// An item was replaced in place.
    #[serde(rename = "thread.item.replaced")]
    ItemReplaced {
        /// The new item.
        item: ThreadItem,
    },
    /// Options for this stream.
    #[serde(rename = "stream_options")]
    StreamOptions {
        /// The options.
        stream_options: StreamOptions,
    },
    /// Transient status text.
    #[serde(rename = "progress_update")]
    ProgressUpdate {
        /// Optional icon name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        icon: Option<String>,
        /// The text.
        text: String,
    },
    /// A fire-and-forget effect for the host page (`chatkit.effect`).
    #[serde(rename = "client_effect")]
    ClientEffect {
        /// Effect name.
        name: String,
        /// Effect data (default `{}`).
        #[serde(default = "empty_object", deserialize_with = "null_as_empty_object")]
        data: Value,
    },
    /// An error; the stream ends after it.
    #[serde(rename = "error")]
    Error {
        /// `stream.error` or `custom`.
        #[serde(default, deserialize_with = "null_as_default")]
        code: ErrorCode,
        /// User-visible text (for `custom`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// Whether the UI offers a retry button (default `false`).
        #[serde(default, deserialize_with = "null_as_default")]
        allow_retry: bool,
    },
    /// A user-facing banner (markdown).
    #[serde(rename = "notice")]
    Notice {
        /// Severity.
        level: NoticeLevel,
        /// Markdown text.
        message: String,
        /// Optional title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
}

/// `stream_options` payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamOptions {
    /// Whether the UI shows a stop button.
    pub allow_cancel: bool,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions { allow_cancel: true }
    }
}

/// The `code` of an `error` event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// Generic failure; the client shows its own localized text.
    #[serde(rename = "stream.error")]
    StreamError,
    /// Integration error; `message` is shown (the default).
    #[default]
    #[serde(rename = "custom")]
    Custom,
}

/// Severity of a `notice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLevel {
    /// Informational.
    Info,
    /// Warning.
    Warning,
    /// Danger.
    Danger,
}

impl ThreadStreamEvent {
    /// `{"type":"error","code":"stream.error","allow_retry":…}`.
    pub fn error_stream(allow_retry: bool) -> Self {
        ThreadStreamEvent::Error {
            code: ErrorCode::StreamError,
            message: None,
            allow_retry,
        }
    }

    /// `{"type":"error","code":"custom","message":…,"allow_retry":…}`.
    pub fn error_custom(message: impl Into<String>, allow_retry: bool) -> Self {
        ThreadStreamEvent::Error {
            code: ErrorCode::Custom,
            message: Some(message.into()),
            allow_retry,
        }
    }

    /// `{"type":"stream_options","stream_options":{"allow_cancel":…}}`.
    pub fn stream_options(allow_cancel: bool) -> Self {
        ThreadStreamEvent::StreamOptions {
            stream_options: StreamOptions { allow_cancel },
        }
    }

    /// `{"type":"progress_update","icon"?,"text"}`.
    pub fn progress(icon: Option<String>, text: impl Into<String>) -> Self {
        ThreadStreamEvent::ProgressUpdate {
            icon,
            text: text.into(),
        }
    }

    /// `{"type":"notice","level","message","title"?}`.
    pub fn notice(level: NoticeLevel, message: impl Into<String>, title: Option<String>) -> Self {
        ThreadStreamEvent::Notice {
            level,
            message: message.into(),
            title,
        }
    }

    /// The wire `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::ThreadCreated { .. } => "thread.created",
            Self::ThreadUpdated { .. } => "thread.updated",
            Self::ItemAdded { .. } => "thread.item.added",
            Self::ItemUpdated { .. } => "thread.item.updated",
            Self::ItemDone { .. } => "thread.item.done",
            Self::ItemRemoved { .. } => "thread.item.removed",
            Self::ItemReplaced { .. } => "thread.item.replaced",
            Self::StreamOptions { .. } => "stream_options",
            Self::ProgressUpdate { .. } => "progress_update",
            Self::ClientEffect { .. } => "client_effect",
            Self::Error { .. } => "error",
            Self::Notice { .. } => "notice",
        }
    }
}
