//! Streaming one assistant message to the client as the model produces it.
//!
//! Shape (protocol §5): `thread.item.added(assistant_message, content: [])`,
//! `content_part.added(0, "")`, `text_delta`×N, `content_part.done(0, full text)`,
//! `thread.item.done(assistant_message with the full text)`. The item is only created when
//! the first text arrives, so a round that only calls tools shows no empty message.
//!
//! While it streams, the message is stored as it stands every `turns.snapshot_interval_ms`
//! (`TurnContext::snapshot`: invisible to listings until it ends), so a process killed
//! mid-answer keeps what the user had already seen; startup marks it interrupted
//! (`conversation::recovery`). A message cut off by a model failure is finished as it stands
//! and marked incomplete ([`StreamingMessage::finish_cut_off`]).

use std::time::{Duration, Instant};

use crate::chatkit::ids::{IdPrefix, new_id};
use crate::chatkit::time::now_micros;
use crate::chatkit::{ItemBody, OutputText, ThreadItem, ThreadItemUpdate, ThreadStreamEvent};
use crate::conversation::TurnContext;
use crate::conversation::notes::{CutOff, cut_off_note};
use crate::error::TurnError;

/// An assistant message being streamed.
#[derive(Default)]
pub struct StreamingMessage {
    item: Option<ThreadItem>,
    text: String,
    /// When the message was last stored as it stands (or started).
    stored_at: Option<Instant>,
    /// Whether text came after that.
    unsaved: bool,
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
                self.stored_at = Some(Instant::now());
                id
            }
        };
        self.text.push_str(delta);
        self.unsaved = true;
        turn.emit(ThreadStreamEvent::ItemUpdated {
            item_id: id,
            update: ThreadItemUpdate::ContentPartTextDelta {
                content_index: 0,
                delta: delta.to_owned(),
            },
        })
        .await?;
        self.snapshot_if_due(turn).await
    }

    /// Stores the message as it stands once the snapshot interval has passed since the last
    /// store (checked on each delta: a quiet model writes nothing new to keep).
    async fn snapshot_if_due(&mut self, turn: &mut TurnContext) -> Result<(), TurnError> {
        let interval = turn.deps.settings.turns.snapshot_interval_ms;
        let due = interval > 0
            && self.unsaved
            && self
                .stored_at
                .is_some_and(|at| at.elapsed() >= Duration::from_millis(interval));
        if !due {
            return Ok(());
        }
        let Some(item) = self.as_it_stands() else {
            return Ok(());
        };
        turn.snapshot(&item).await?;
        self.stored_at = Some(Instant::now());
        self.unsaved = false;
        Ok(())
    }

    /// The message with the text so far (`None` before its first text).
    fn as_it_stands(&self) -> Option<ThreadItem> {
        let mut item = self.item.clone()?;
        item.body = ItemBody::AssistantMessage {
            content: vec![OutputText::new(self.text.clone())],
        };
        Some(item)
    }

    /// Finishes a message that a model failure cut off: stored as it stands, marked
    /// `incomplete` in its server metadata, and followed by a hidden note, so the next turn's
    /// model knows the reply was not whole (the user sees the partial text and the error
    /// event). Nothing happens if no text had come.
    pub async fn finish_cut_off(&mut self, turn: &mut TurnContext) -> Result<(), TurnError> {
        let Some(id) = self.item.as_ref().map(|i| i.id.clone()) else {
            return Ok(());
        };
        let mut metadata = serde_json::json!({});
        CutOff::ModelError.mark(&mut metadata);
        turn.set_item_metadata(&id, metadata);
        self.finish(turn).await?;
        let note = cut_off_note(&turn.thread().id, CutOff::ModelError, true);
        turn.emit(ThreadStreamEvent::ItemDone { item: note }).await
    }

    /// Finishes the message (if one was started): `content_part.done`, then the persisted
    /// `thread.item.done`.
    pub async fn finish(&mut self, turn: &mut TurnContext) -> Result<(), TurnError> {
        let Some(mut item) = self.item.take() else {
            return Ok(());
        };
        self.unsaved = false;
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
