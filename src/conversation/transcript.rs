//! A thread's stored items, decoded and in store order, kept by its actor between turns.
//!
//! Every turn needs the thread's recent items to rebuild the model's history. Reading them
//! from the database each time (rows, JSON parsing, decoding) was the largest cost of a turn
//! in the issue #7 profile and grew with the thread. The actor therefore keeps a
//! [`Transcript`]: built once from the store, then kept in step by the turn that owns it.
//!
//! It is a window: the newest [`MAX_ITEMS`] items. The history sent to the model is cut to
//! `llm.history_token_budget` from the newest end anyway, and 400 items are more than a
//! 12,000-token budget holds unless messages average under ~120 characters, so the model
//! sees what it saw when turns read the whole thread; but a turn of a long thread no longer
//! reads and decodes all of it (a 600-item thread cost ~5x the CPU of a 200-item one), and
//! an actor's memory stays bounded however long its thread grows.
//!
//! The store stays the truth. The rules that keep the copy equal to it:
//! - a turn takes the transcript from its actor and gives it back when it ends; every item
//!   write of the turn goes through [`TurnContext`](super::context::TurnContext), which
//!   mirrors it here ([`Transcript::upsert`], [`Transcript::remove`]);
//! - a write that is not mirrored (a retry deleting later items, a stop, a hidden note
//!   written by the actor, a sync widget action's writes) drops the copy, and the next turn
//!   reads the store again;
//! - the order is the store's: `(created_at, first insert)`; an upsert of a known id keeps
//!   its place, as the store's upsert keeps `seq` and `created_at`.
//!

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::convert::item_from_record;
use crate::chatkit::ThreadItem;
use crate::store::ItemRecord;

/// How many of a thread's newest items a transcript holds.
pub const MAX_ITEMS: usize = 400;

/// One stored item with its server-side metadata.
#[derive(Debug, Clone)]
pub struct TranscriptEntry {
    pub item: ThreadItem,
    pub metadata: Value,
    /// The position key the store orders by (the first write's timestamp).
    created_at: DateTime<Utc>,
}

/// The newest items of one thread (at most [`MAX_ITEMS`]), oldest first.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    entries: Vec<TranscriptEntry>,
}

impl Transcript {
    /// Decodes stored records (already in store order; the newest [`MAX_ITEMS`] are kept);
    /// undecodable ones are skipped with a warning, as the history builder always did.
    pub fn from_records(records: Vec<ItemRecord>) -> Self {
        let skip = records.len().saturating_sub(MAX_ITEMS);
        let entries = records
            .into_iter()
            .skip(skip)
            .filter_map(|r| match item_from_record(&r) {
                Ok(item) => Some(TranscriptEntry {
                    item,
                    metadata: r.metadata,
                    created_at: r.created_at,
                }),
                Err(e) => {
                    tracing::warn!(item_id = %r.id, error = %e, "skipping an undecodable item");
                    None
                }
            })
            .collect();
        Self { entries }
    }

    pub fn entries(&self) -> &[TranscriptEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Mirrors a stored upsert: a known id is replaced in place, a new one goes after every
    /// item created at or before it; the oldest item leaves a full window.
    pub fn upsert(&mut self, item: &ThreadItem, metadata: &Value) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.item.id == item.id) {
            e.item = item.clone();
            e.metadata = metadata.clone();
            return;
        }
        let at = self
            .entries
            .iter()
            .rposition(|e| e.created_at <= item.created_at)
            .map_or(0, |i| i + 1);
        self.entries.insert(
            at,
            TranscriptEntry {
                item: item.clone(),
                metadata: metadata.clone(),
                created_at: item.created_at,
            },
        );
        if self.entries.len() > MAX_ITEMS {
            self.entries.remove(0);
        }
    }

    /// Mirrors a stored delete.
    pub fn remove(&mut self, item_id: &str) {
        self.entries.retain(|e| e.item.id != item_id);
    }

    /// How many user messages the thread has.
    pub fn user_messages(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.item.is_user_message())
            .count()
    }

    /// A rough size in bytes, for the admin view.
    pub fn approx_bytes(&self) -> usize {
        self.entries
            .iter()
            .map(|e| {
                std::mem::size_of::<TranscriptEntry>()
                    + serde_json::to_vec(&e.item).map_or(0, |v| v.len())
                    + serde_json::to_vec(&e.metadata).map_or(0, |v| v.len())
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chatkit::{ItemBody, OutputText};
    use chrono::TimeZone;
    use serde_json::json;

    fn item(id: &str, secs: i64, text: &str) -> ThreadItem {
        ThreadItem::new(
            id.to_owned(),
            "thr_1".to_owned(),
            Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap(),
            ItemBody::AssistantMessage {
                content: vec![OutputText::new(text)],
            },
        )
    }

    fn ids(t: &Transcript) -> Vec<&str> {
        t.entries().iter().map(|e| e.item.id.as_str()).collect()
    }

    #[test]
    fn upsert_orders_like_the_store() {
        let mut t = Transcript::default();
        t.upsert(&item("b", 2, "b"), &json!({}));
        t.upsert(&item("a", 1, "a"), &json!({}));
        // Same timestamp as `b`: after it (first insert wins ties).
        t.upsert(&item("c", 2, "c"), &json!({}));
        t.upsert(&item("d", 3, "d"), &json!({}));
        assert_eq!(ids(&t), ["a", "b", "c", "d"]);
    }

    #[test]
    fn upsert_of_a_known_id_keeps_its_place() {
        let mut t = Transcript::default();
        t.upsert(&item("a", 1, "old"), &json!({}));
        t.upsert(&item("b", 2, "b"), &json!({}));
        // A later write of `a` (with a newer timestamp) replaces it where it is.
        t.upsert(&item("a", 9, "new"), &json!({"k": 1}));
        assert_eq!(ids(&t), ["a", "b"]);
        assert_eq!(t.entries()[0].item.plain_text(), "new");
        assert_eq!(t.entries()[0].metadata, json!({"k": 1}));
    }

    #[test]
    fn remove_and_counts() {
        let mut t = Transcript::default();
        t.upsert(&item("a", 1, "a"), &json!({}));
        t.upsert(&item("b", 2, "b"), &json!({}));
        t.remove("a");
        t.remove("zzz");
        assert_eq!(ids(&t), ["b"]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.user_messages(), 0);
    }

    #[test]
    fn the_window_holds_the_newest_items() {
        let records: Vec<ItemRecord> = (0..MAX_ITEMS as i64 + 5)
            .map(|n| {
                let it = item(&format!("i{n}"), n, "x");
                crate::conversation::convert::item_to_record(&it, json!({})).unwrap()
            })
            .collect();
        let mut t = Transcript::from_records(records);
        assert_eq!(t.len(), MAX_ITEMS);
        assert_eq!(t.entries()[0].item.id, "i5");
        t.upsert(&item("new", 10_000, "x"), &json!({}));
        assert_eq!(t.len(), MAX_ITEMS);
        assert_eq!(t.entries()[0].item.id, "i6");
        assert_eq!(t.entries()[MAX_ITEMS - 1].item.id, "new");
    }

    #[test]
    fn undecodable_records_are_skipped() {
        let good =
            crate::conversation::convert::item_to_record(&item("a", 1, "a"), json!({"m": 1}))
                .unwrap();
        let mut bad = good.clone();
        bad.id = "b".into();
        bad.content = json!({"type": "no_such_type"});
        let t = Transcript::from_records(vec![good, bad]);
        assert_eq!(ids(&t), ["a"]);
        assert_eq!(t.entries()[0].metadata, json!({"m": 1}));
    }
}
