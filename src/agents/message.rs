//! Streaming one assistant message to the client as the model produces it.
//!
//! Shape (protocol §5): `thread.item.added(assistant_message, content: [])`,
//! `content_part.added(0, "")`, `text_delta`×N, `content_part.done(0, full text)`,
//! `thread.item.done(assistant_message with the full text)`. The item is only created when
//! the first text arrives, so a round that only calls tools shows no empty message.

use crate::chatkit::ids::{IdPrefix, new_id};
use crate::chatkit::time::now_micros;
use crate::chatkit::{ItemBody, OutputText, ThreadItem, ThreadItemUpdate, ThreadStreamEvent};
use crate::conversation::TurnContext;
use crate::error::TurnError;

/// An assistant message being streamed.
#[derive(Default)]
pub struct StreamingMessage {
    item: Option<ThreadItem>,
    text: String,
}

impl StreamingMessage {
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn started(&self) -> bool {
        self.item.is_some()
    }

    /// Appends a delta, announcing the message first if this is its first text.
    pub async fn push(&mut self, turn: &mut TurnContext, delta: &str) -> Result<(), TurnError> {
        if delta.is_empty() {
            return Ok(());
        }
        let id = match &self.item {
            Some(item) => item.id.clone(),
            None => {
                let item = ThreadItem::new(
                    new_id(IdPrefix::Message),
                    turn.thread().id.clone(),
                    now_micros(),
                    ItemBody::AssistantMessage {
                        content: Vec::new(),
                    },
                );
                let id = item.id.clone();
                turn.emit(ThreadStreamEvent::ItemAdded { item: item.clone() })
                    .await?;
                turn.emit(ThreadStreamEvent::ItemUpdated {
                    item_id: id.clone(),
                    update: ThreadItemUpdate::ContentPartAdded {
                        content_index: 0,
                        content: OutputText::new(""),
                    },
                })
                .await?;
                self.item = Some(item);
                id
            }
        };
        self.text.push_str(delta);
        turn.emit(ThreadStreamEvent::ItemUpdated {
            item_id: id,
            update: ThreadItemUpdate::ContentPartTextDelta {
                content_index: 0,
                delta: delta.to_owned(),
            },
        })
        .await
    }

    /// Finishes the message (if one was started): `content_part.done`, then the persisted
    /// `thread.item.done`.
    pub async fn finish(&mut self, turn: &mut TurnContext) -> Result<(), TurnError> {
        let Some(mut item) = self.item.take() else {
            return Ok(());
        };
        turn.emit(ThreadStreamEvent::ItemUpdated {
            item_id: item.id.clone(),
            update: ThreadItemUpdate::ContentPartDone {
                content_index: 0,
                content: OutputText::new(self.text.clone()),
            },
        })
        .await?;
        item.body = ItemBody::AssistantMessage {
            content: vec![OutputText::new(self.text.clone())],
        };
        turn.emit(ThreadStreamEvent::ItemDone { item }).await
    }

    /// A whole message at once (one `thread.item.done`), for server-written notes.
    pub async fn say(turn: &mut TurnContext, text: &str) -> Result<(), TurnError> {
        let item = ThreadItem::new(
            new_id(IdPrefix::Message),
            turn.thread().id.clone(),
            now_micros(),
            ItemBody::AssistantMessage {
                content: vec![OutputText::new(text)],
            },
        );
        turn.emit(ThreadStreamEvent::ItemDone { item }).await
    }
}
