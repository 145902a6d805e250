//! A write that runs beside the turn: the turn's first write (its run row, the user message,
//! the thread row of a new thread) is stored on its own task while the model request is
//! built and sent, and the events that may only follow a durable write wait for it.
//!
//! Protocol: `TurnContext::begin_in_background` starts the write with the events that
//! announce it (`thread.created`, the message's `thread.item.done`) held; `TurnContext::send_raw` appends to the held events while the
//! write runs; the write's task, once the item is stored, sends them all in order and marks
//! them released (later events then go straight out); every step that persists or announces
//! first waits for the task ([`TurnContext::settle`]), so the store's order and the events'
//! order stay the same. A failed write sends nothing it held and fails the turn.

use std::sync::{Arc, Mutex};

use super::context::TurnContext;
use super::convert::item_to_record;
use super::io::TurnOutput;
use crate::chatkit::{ThreadItem, ThreadStreamEvent};
use crate::error::TurnError;

/// The write's task and what waits for it.
pub(super) struct PendingWrite {
    pub(super) write: tokio::task::JoinHandle<crate::store::StoreResult<()>>,
    pub(super) held: Arc<Mutex<Held>>,
}

/// Events waiting behind a background write. The write's task sends them the moment the
/// write is durable (so the client sees its message confirmed without waiting for the
/// model); until then [`TurnContext::send_raw`] appends here instead of sending. Both sides
/// send while holding the lock, which keeps the order whatever runtime the task runs on.
#[derive(Default)]
pub(super) struct Held {
    pub(super) events: Vec<ThreadStreamEvent>,
    pub(super) released: bool,
    pub(super) sent: u64,
}

pub(super) fn lock(held: &Mutex<Held>) -> std::sync::MutexGuard<'_, Held> {
    // A panic while sending leaves nothing half-done worth refusing.
    held.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl TurnContext {
    /// The turn's first write ([`crate::store::RunStore::begin`]: the thread row of a new
    /// thread, the user message if the turn has one, and the turn's run row, in one
    /// transaction) on a task of its own; returns at once. `held` (the events that announce
    /// what the write stores: `thread.created`, the message's `thread.item.done`) and every
    /// event after them wait until the write is durable: the task sends them then, and every
    /// persisting or announcing step first waits for it ([`Self::settle`]). The item is
    /// mirrored in the transcript now, so the model request that is built meanwhile includes
    /// it.
    ///
    /// Why: the user message must be stored before its `done` goes out, but the model
    /// request does not need to wait for the store; sending it while the write runs takes
    /// the write off the turn's critical path (issue #7, server time at V=1). The thread and
    /// its first message are one transaction so that a crash can never leave a thread
    /// without its message (issue #20).
    pub(crate) fn begin_in_background(
        &mut self,
        new_thread: bool,
        item: Option<&ThreadItem>,
        held: Vec<ThreadStreamEvent>,
    ) -> Result<(), TurnError> {
        if self.pending.is_some() {
            // One write in flight at a time keeps the store's order the events' order.
            return Err(TurnError::internal("a background write is already pending"));
        }
        let record = match item {
            Some(item) => {
                let metadata = self.take_metadata(&item.id);
                let record = item_to_record(item, metadata.clone()).map_err(TurnError::internal)?;
                if let Some(t) = &mut self.transcript {
                    t.upsert(item, &metadata);
                }
                Some(record)
            }
            None => None,
        };
        let runs = self.deps.stores.runs.clone();
        let thread = self.thread.clone();
        let turn_id = self.turn_id.clone();
        let held = Arc::new(Mutex::new(Held {
            events: held,
            ..Held::default()
        }));
        let (release, out) = (held.clone(), self.out.clone());
        let first_at = (self.events_sent == 0).then_some(self.started);
        let write = tokio::spawn(async move {
            let stored = runs
                .begin(crate::store::TurnBegin {
                    thread: &thread,
                    new_thread,
                    item: record.as_ref(),
                    turn_id: &turn_id,
                    now: crate::chatkit::time::now_micros(),
                })
                .await;
            if stored.is_ok() {
                let mut held = lock(&release);
                held.released = true;
                if let Some(started) = first_at.filter(|_| !held.events.is_empty()) {
                    crate::metrics::global()
                        .time_to_first_event
                        .observe(started.elapsed());
                }
                for event in std::mem::take(&mut held.events) {
                    held.sent += 1;
                    let _ = out.send(TurnOutput::Event(event));
                }
            }
            stored
        });
        self.pending = Some(PendingWrite { write, held });
        Ok(())
    }

    /// Waits for a background write (whose task has then sent the events held behind it);
    /// if the write failed they are dropped (the item is not durable) and the turn fails.
    pub async fn settle(&mut self) -> Result<(), TurnError> {
        let Some(p) = self.pending.take() else {
            return Ok(());
        };
        let stored = match p.write.await {
            Ok(r) => r.map_err(TurnError::from),
            Err(e) => Err(TurnError::internal(format!("item write task failed: {e}"))),
        };
        let mut held = lock(&p.held);
        self.events_sent += held.sent;
        if let Err(e) = stored {
            // Not durable: what waited for it is never sent. Whether the write landed is
            // unknown, so the next read goes to the store.
            held.events.clear();
            self.transcript = None;
            return Err(e);
        }
        Ok(())
    }
}
