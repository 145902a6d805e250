//! The items the running turn has announced (`thread.item.added`) and not yet finished, with
//! every update applied, in the order they were announced.
//!
//! The thread's actor keeps them so that a stop can store the partial text (protocol §5). The
//! order is kept (a map would lose it) so that whatever is built from them follows the order
//! the turn produced the items in, as a client that followed the whole turn saw them; a turn
//! has a handful of items in flight at most, so a plain vector is the whole index.

use crate::chatkit::{ThreadItem, ThreadStreamEvent};

/// The running turn's unfinished items, oldest announcement first.
#[derive(Debug, Default)]
pub struct Pending {
    items: Vec<ThreadItem>,
}

impl Pending {
    /// Follows one event of the turn: an announcement adds its item (an id announced again
    /// is replaced where it stands), an update changes it, a done, replaced or removed event
    /// ends it.
    pub fn track(&mut self, event: &ThreadStreamEvent) {
        match event {
            ThreadStreamEvent::ItemAdded { item } => match self.position(&item.id) {
                Some(i) => self.items[i] = item.clone(),
                None => self.items.push(item.clone()),
            },
            ThreadStreamEvent::ItemUpdated { item_id, update } => {
                if let Some(i) = self.position(item_id) {
                    self.items[i].apply_update(update);
                }
            }
            ThreadStreamEvent::ItemDone { item } | ThreadStreamEvent::ItemReplaced { item } => {
                self.remove(&item.id);
            }
            ThreadStreamEvent::ItemRemoved { item_id } => self.remove(item_id),
            _ => {}
        }
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.items.iter().position(|i| i.id == id)
    }

    fn remove(&mut self, id: &str) {
        self.items.retain(|i| i.id != id);
    }

    /// The items as they stand, oldest announcement first.
    pub fn items(&self) -> &[ThreadItem] {
        &self.items
    }

    /// Takes every item out (for a stop, which stores the partial text).
    pub fn take(&mut self) -> Vec<ThreadItem> {
        std::mem::take(&mut self.items)
    }

    pub fn clear(&mut self) {
        self.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chatkit::content::OutputText;
    use crate::chatkit::item::ItemBody;
    use crate::chatkit::update::ThreadItemUpdate;

    fn message(id: &str) -> ThreadItem {
        ThreadItem::new(
            id,
            "thr_1",
            chrono::Utc::now(),
            ItemBody::AssistantMessage { content: vec![] },
        )
    }

    fn added(id: &str) -> ThreadStreamEvent {
        ThreadStreamEvent::ItemAdded { item: message(id) }
    }

    fn delta(id: &str, text: &str) -> ThreadStreamEvent {
        ThreadStreamEvent::ItemUpdated {
            item_id: id.to_owned(),
            update: ThreadItemUpdate::ContentPartTextDelta {
                content_index: 0,
                delta: text.to_owned(),
            },
        }
    }

    fn texts(p: &Pending) -> Vec<(String, String)> {
        p.items()
            .iter()
            .map(|i| match &i.body {
                ItemBody::AssistantMessage { content } => (
                    i.id.clone(),
                    content.iter().map(|c| c.text.as_str()).collect(),
                ),
                _ => (i.id.clone(), String::new()),
            })
            .collect()
    }

    #[test]
    fn items_keep_their_announcement_order_and_their_updates() {
        let mut p = Pending::default();
        // Ids chosen so that sorting them would give another order.
        for id in ["msg_c", "msg_a", "msg_b"] {
            p.track(&added(id));
        }
        p.track(&ThreadStreamEvent::ItemUpdated {
            item_id: "msg_a".to_owned(),
            update: ThreadItemUpdate::ContentPartAdded {
                content_index: 0,
                content: OutputText::new(""),
            },
        });
        p.track(&delta("msg_a", "Hel"));
        p.track(&delta("msg_a", "lo"));
        p.track(&delta("msg_unknown", "ignored"));
        assert_eq!(
            texts(&p),
            [
                ("msg_c".to_owned(), String::new()),
                ("msg_a".to_owned(), "Hello".to_owned()),
                ("msg_b".to_owned(), String::new()),
            ]
        );
        // Re-announcing keeps the place; done and removed end an item.
        p.track(&added("msg_c"));
        p.track(&ThreadStreamEvent::ItemDone {
            item: message("msg_a"),
        });
        p.track(&ThreadStreamEvent::ItemRemoved {
            item_id: "msg_b".to_owned(),
        });
        assert_eq!(texts(&p), [("msg_c".to_owned(), String::new())]);
        assert_eq!(p.take().len(), 1);
        assert!(p.items().is_empty());
    }
}
