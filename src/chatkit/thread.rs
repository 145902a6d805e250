//! Threads and pages (protocol §2.5, §2.9, §6.1, §6.6).
//!
//! A thread is `{"id","title"?,"created_at","status","allowed_image_domains"?,"metadata":{},
//! "items":Page}`. `status` is `{"type":"active"}`, `{"type":"locked","reason"?}` or
//! `{"type":"closed","reason"?}`. `metadata` is server-side state in the reference and is
//! **always** written as `{}`; [`Thread`] therefore has no metadata field (the server keeps
//! its own elsewhere) and anything received there is discarded. `items` is an empty page
//! except in `threads.get_by_id`.
//!
//! A page is `{"data":[...],"has_more":bool,"after"?}` where `after` (the id of the last
//! element) is present only when more exists.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::item::ThreadItem;
use super::serde_util::{EmptyObject, null_as_default};

/// A thread as sent to the client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    /// `thr_…`.
    pub id: String,
    /// Title; omitted when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Creation time.
    #[serde(with = "super::time")]
    pub created_at: DateTime<Utc>,
    /// Active, locked or closed (default active).
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: ThreadStatus,
    /// Image hosts the client may load; omitted when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_image_domains: Option<Vec<String>>,
    /// Always `{}` on the wire.
    #[serde(default)]
    metadata: EmptyObject,
    /// Items page; empty except in `threads.get_by_id`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub items: Page<ThreadItem>,
}

impl Thread {
    /// A thread with no title, status active, no image domains and an empty items page.
    pub fn new(id: impl Into<String>, created_at: DateTime<Utc>) -> Self {
        Thread {
            id: id.into(),
            title: None,
            created_at,
            status: ThreadStatus::Active,
            allowed_image_domains: None,
            metadata: EmptyObject,
            items: Page::default(),
        }
    }

    /// The same thread with the given items page.
    pub fn with_items(mut self, items: Page<ThreadItem>) -> Self {
        self.items = items;
        self
    }
}

/// The status of a thread, discriminated by `type`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThreadStatus {
    /// Open for messages (the default).
    #[default]
    Active,
    /// The composer is disabled; `reason` is shown as placeholder.
    Locked {
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The composer is replaced by a banner.
    Closed {
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// One page of a list: `{"data":[...],"has_more":bool,"after"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    /// The elements.
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub data: Vec<T>,
    /// Whether more elements follow.
    #[serde(default, deserialize_with = "null_as_default")]
    pub has_more: bool,
    /// Cursor for the next page (present only when `has_more`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            data: Vec::new(),
            has_more: false,
            after: None,
        }
    }
}

impl<T> Page<T> {
    /// A page; `after` should be set only when `has_more` is true.
    pub fn new(data: Vec<T>, has_more: bool, after: Option<String>) -> Self {
        Page {
            data,
            has_more,
            after,
        }
    }
}
