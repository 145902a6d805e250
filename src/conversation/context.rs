//! The context a turn runs in: the one way a turn's events reach the client and the store.
//!
//! [`TurnContext::emit`] applies the pipeline of protocol §7 to every event: `done` and
//! `replaced` upsert the item, `removed` deletes it, hidden items are stored but not
//! forwarded, and a changed thread is saved and announced with `thread.updated` (through
//! the thread's actor, the row's one writer). It emits and persists; it decides nothing
//! about the turn, which `turn.rs` drives.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::convert::{item_to_record, thread_to_wire};
use super::io::TurnOutput;
use super::responder::{CachedContext, RespondInput, TurnDeps};
use super::transcript::Transcript;
use crate::auth::Principal;
use crate::chatkit::{ThreadItem, ThreadStreamEvent};
use crate::error::TurnError;
use crate::store::{ThreadPatch, ThreadRecord};

/// The state of one running turn, handed to the responder.
pub struct TurnContext {
    pub deps: TurnDeps,
    pub principal: Principal,
    pub input: RespondInput,
    pub(super) thread: ThreadRecord,
    /// The turn's id, which its run row names (`store::runs`).
    pub(super) turn_id: String,
    /// The thread as last announced, to detect changes (protocol §4.2).
    snapshot: ThreadRecord,
    pub(super) out: mpsc::UnboundedSender<TurnOutput>,
    item_metadata: HashMap<String, Value>,
    pub(crate) awaiting_tool: bool,
    pub(crate) tokens_in: u64,
    pub(crate) tokens_out: u64,
    pub(crate) events_sent: u64,
    pub context: Option<CachedContext>,
    pub(crate) context_rebuilt: bool,
    /// The thread's items, mirrored on every write made through this context (see
    /// `transcript.rs`); `None` until read from the store, or after an unmirrored write.
    pub(crate) transcript: Option<Transcript>,
    /// An item write running on its own while the turn goes on, and the events that may
    /// only go out once it is durable (see [`TurnContext::persist_in_background`]).
    pub(super) pending: Option<super::background::PendingWrite>,
    pub(super) started: Instant,
    /// Cancelled when the turn must stop (see `actors::thread_actor`).
    cancel: CancellationToken,
}

impl TurnContext {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        deps: TurnDeps,
        principal: Principal,
        thread: ThreadRecord,
        turn_id: String,
        out: mpsc::UnboundedSender<TurnOutput>,
        context: Option<CachedContext>,
        transcript: Option<Transcript>,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            deps,
            principal,
            input: RespondInput::Continue,
            snapshot: thread.clone(),
            thread,
            turn_id,
            out,
            item_metadata: HashMap::new(),
            awaiting_tool: false,
            tokens_in: 0,
            tokens_out: 0,
            events_sent: 0,
            context,
            context_rebuilt: false,
            transcript,
            pending: None,
            started: Instant::now(),
            cancel,
        }
    }

    /// Whether the turn was asked to stop: start nothing new (no model call, no tool call).
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Completes when the turn is asked to stop; for `select!` beside a model stream.
    pub fn cancelled(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.cancel.clone().cancelled_owned()
    }

    /// `Err(Cancelled)` once the turn was asked to stop: the check before each step.
    pub fn check_cancelled(&self) -> Result<(), TurnError> {
        if self.is_cancelled() {
            Err(TurnError::Cancelled)
        } else {
            Ok(())
        }
    }

    pub fn thread(&self) -> &ThreadRecord {
        &self.thread
    }

    /// Change title, status or server metadata; the change is saved and announced after
    /// the next event (or at the end of the turn).
    pub fn thread_mut(&mut self) -> &mut ThreadRecord {
        &mut self.thread
    }

    /// Server-side metadata to store with the item `item_id` when it is persisted (tool
    /// arguments and results); never sent to the client.
    pub fn set_item_metadata(&mut self, item_id: &str, metadata: Value) {
        self.item_metadata.insert(item_id.to_owned(), metadata);
    }

    /// The server metadata set for an item, handed over to its write (empty if none).
    pub(super) fn take_metadata(&mut self, item_id: &str) -> Value {
        self.item_metadata
            .remove(item_id)
            .unwrap_or_else(|| Value::Object(Default::default()))
    }

    /// Token usage of a model call made for this turn.
    pub fn record_usage(&mut self, prompt_tokens: u64, completion_tokens: u64) {
        self.tokens_in += prompt_tokens;
        self.tokens_out += completion_tokens;
    }

    /// Replaces the cached agent context (kept by the thread actor for the next turns).
    pub fn set_context(&mut self, context: CachedContext) {
        self.context = Some(context);
        self.context_rebuilt = true;
    }

    /// Sends an event to the client without any persistence (used for the events that
    /// precede the pipeline, such as `thread.created`). Behind a write that is not yet
    /// durable, the event waits for it (in order).
    pub(crate) fn send_raw(&mut self, event: ThreadStreamEvent) {
        if let Some(p) = &self.pending {
            let mut held = super::background::lock(&p.held);
            if !held.released {
                held.events.push(event);
                return;
            }
            // Not `deliver`: the write's task already timed the first event, and its sends
            // are counted in `settle`. Sent under the lock so nothing overtakes them.
            self.events_sent += 1;
            let _ = self.out.send(TurnOutput::Event(event));
            return;
        }
        self.deliver(event);
    }

    fn deliver(&mut self, event: ThreadStreamEvent) {
        self.events_sent += 1;
        if self.events_sent == 1 {
            crate::metrics::global()
                .time_to_first_event
                .observe(self.started.elapsed());
        }
        // The receiver is the thread actor; if it is gone the turn has been cancelled and
        // there is nobody to tell.
        let _ = self.out.send(TurnOutput::Event(event));
    }

    /// The pipeline of protocol §7: persist as the event says, forward unless hidden, then
    /// announce a changed thread.
    pub async fn emit(&mut self, event: ThreadStreamEvent) -> Result<(), TurnError> {
        self.settle().await?;
        let forward = match &event {
            ThreadStreamEvent::ItemDone { item } | ThreadStreamEvent::ItemReplaced { item } => {
                self.persist(item).await?;
                if item.is_pending_client_tool_call() {
                    self.awaiting_tool = true;
                }
                !item.is_hidden()
            }
            ThreadStreamEvent::ItemRemoved { item_id } => {
                match self
                    .deps
                    .stores
                    .items
                    .delete_item(&self.thread, item_id)
                    .await
                {
                    Ok(()) | Err(crate::store::StoreError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
                if let Some(t) = &mut self.transcript {
                    t.remove(item_id);
                }
                true
            }
            _ => true,
        };
        if forward {
            self.send_raw(event);
        }
        self.announce_thread_change().await
    }

    /// Persists an item as it stands (upsert), with any server metadata set for it.
    pub async fn persist(&mut self, item: &ThreadItem) -> Result<(), TurnError> {
        self.settle().await?;
        let record = self.record_of(item, false)?;
        let stored = self
            .deps
            .stores
            .items
            .upsert_item(&self.thread, &record)
            .await;
        if let Err(e) = stored {
            // Whether the write landed is unknown: read the store next time.
            self.transcript = None;
            return Err(e.into());
        }
        if let Some(t) = &mut self.transcript {
            t.upsert(item, &record.metadata);
        }
        Ok(())
    }

    /// The store record of `item` with its server metadata: taken for the item's final
    /// write, copied for a snapshot (`in_progress`: the final write still needs it).
    fn record_of(
        &mut self,
        item: &ThreadItem,
        snapshot: bool,
    ) -> Result<crate::store::ItemRecord, TurnError> {
        let metadata = if snapshot {
            self.item_metadata
                .get(&item.id)
                .cloned()
                .unwrap_or_else(|| Value::Object(Default::default()))
        } else {
            self.take_metadata(&item.id)
        };
        let mut record = item_to_record(item, metadata).map_err(TurnError::internal)?;
        if snapshot {
            record.status = Some(crate::vocab::ItemStatus::InProgress);
        }
        Ok(record)
    }

    /// Stores an assistant message that is still being streamed, as it stands
    /// (`ItemStatus::InProgress`: left out of visible listings until its turn finishes it, or
    /// startup closes it as interrupted, see `recovery.rs`). Not mirrored in the transcript:
    /// the turn's own history never needs an unfinished answer. A failure costs only the
    /// snapshot (the final write reports its own).
    pub async fn snapshot(&mut self, item: &ThreadItem) -> Result<(), TurnError> {
        self.settle().await?;
        let record = self.record_of(item, true)?;
        match self
            .deps
            .stores
            .items
            .upsert_item(&self.thread, &record)
            .await
        {
            Ok(()) => Ok(()),
            // Another node took the thread over: this turn must stop here, writing nothing.
            Err(e @ crate::store::StoreError::Fenced(_)) => Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, item_id = %item.id, "cannot snapshot the answer being streamed");
                Ok(())
            }
        }
    }

    /// The thread's newest items in store order (see `transcript.rs`): the actor's copy, or
    /// read from the store once.
    pub async fn transcript(&mut self) -> Result<&Transcript, TurnError> {
        if self.transcript.is_none() {
            // A background write must land before the store is read, or the read misses it.
            self.settle().await?;
            let n = super::transcript::MAX_ITEMS as u64;
            let mut records = self.deps.stores.items.newest_items(&self.thread, n).await?;
            records.reverse();
            self.transcript = Some(Transcript::from_records(records));
        }
        Ok(self.transcript.get_or_insert_with(Transcript::default))
    }

    /// An item write that is not mirrored happened: the next read goes to the store.
    pub(crate) fn forget_transcript(&mut self) {
        self.transcript = None;
    }

    /// If title, status or metadata changed since the last announcement: have the thread's
    /// actor store the change and emit `thread.updated` with the record it answers.
    pub async fn announce_thread_change(&mut self) -> Result<(), TurnError> {
        self.settle().await?;
        let now = crate::chatkit::time::now_micros();
        let Some(patch) = ThreadPatch::between(&self.snapshot, &self.thread, now) else {
            return Ok(());
        };
        let (saved, answer) = oneshot::channel();
        self.out
            .send(TurnOutput::SaveThread { patch, saved })
            .map_err(|_| TurnError::internal("the thread's actor is gone"))?;
        let thread = answer
            .await
            .map_err(|_| TurnError::internal("the thread's actor did not answer"))??;
        self.snapshot = thread.clone();
        self.thread = thread;
        let wire = thread_to_wire(&self.thread, Vec::new(), false, None);
        self.send_raw(ThreadStreamEvent::ThreadUpdated { thread: wire });
        Ok(())
    }
}
