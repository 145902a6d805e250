//! `ThreadActor`: one live thread.
//!
//! It holds the thread record, the queue/turn state ([`ThreadState`]), the subscribers of the
//! running turn, the items the turn has announced but not finished (so a cancel can keep the
//! partial text), the agent's context cache and counters. A turn runs as a future on the
//! actor's context; its events come back through a channel attached with `add_stream`, so
//! the mailbox is never blocked: inspection, cancel and new inputs are handled while a turn
//! streams. A client that disconnects only loses its subscription; the turn goes on and its
//! items are stored.
//!
//! **The row's one writer.** While a thread is live, every write of its row goes through
//! this actor: a turn's title, status or metadata change arrives as
//! [`TurnOutput::SaveThread`], a rename as a message (`thread_messages.rs`), a turn's token
//! usage with its end. The actor applies each to its record in mailbox order and stores it
//! through its [`RowWriter`], in the same order; a handler writes the store directly only
//! when the thread has no live actor.
//!
//! **Caches a turn hands back** (context, transcript) are kept only if nothing invalidated
//! them while the turn ran: each has an epoch, bumped by an invalidation or a write the
//! cache does not mirror, and compared with its value when the turn started.

use std::collections::HashMap;
use std::time::Instant;

use actix::prelude::*;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::row_writer::RowWriter;
use super::subscriber::{SseMsg, Subscriber, offer};
use super::thread_state::ThreadState;
use crate::auth::Principal;
use crate::chatkit::sse::encode_event;
use crate::chatkit::{ThreadItem, ThreadStreamEvent};
use crate::conversation::{
    CachedContext, Transcript, TurnDeps, TurnInput, TurnOutput, TurnSummary, run_turn,
};
use crate::store::ThreadRecord;

/// An input waiting for its turn.
pub struct QueuedTurn {
    pub input: TurnInput,
    pub principal: Principal,
    pub subscriber: Subscriber,
}

pub struct ThreadActor {
    pub(super) thread: ThreadRecord,
    pub(super) deps: TurnDeps,
    pub(super) state: ThreadState<QueuedTurn>,
    pub(super) subscribers: Vec<Subscriber>,
    pub(super) turn: Option<SpawnHandle>,
    pub(super) pending: HashMap<String, ThreadItem>,
    pub(super) context: Option<CachedContext>,
    /// Bumped whenever the cached context is dropped; a turn's context comes back only if
    /// it was not bumped while the turn ran.
    pub(super) context_epoch: u64,
    /// The thread's items between turns (see `conversation/transcript.rs`); lent to each turn.
    pub(super) transcript: Option<Transcript>,
    /// Bumped by every item write the actor makes outside a turn; a turn's transcript
    /// comes back only if no such write happened while it ran.
    pub(super) transcript_epoch: u64,
    /// The two epochs when the running turn started.
    turn_epochs: (u64, u64),
    /// Whether the running turn has sent its first event; until then a notice from outside
    /// the turn waits in `held_notices`, so a stream always starts with the turn's own
    /// first event (`thread.created` or `stream_options`, protocol §5).
    turn_streaming: bool,
    held_notices: Vec<bytes::Bytes>,
    pub(super) row: RowWriter,
    pub(super) restarts: u32,
    pub(super) tokens_in: u64,
    pub(super) tokens_out: u64,
    pub(super) started_at: Instant,
    pub(super) span: tracing::Span,
}

impl ThreadActor {
    pub fn new(thread: ThreadRecord, deps: TurnDeps, restarts: u32) -> Self {
        let bound = deps.settings.actors.queue_bound;
        let span = tracing::info_span!(
            "thread_actor",
            thread_id = %thread.id,
            venue_id = thread.venue_id.as_deref().unwrap_or("-"),
        );
        let row = RowWriter::new(deps.stores.threads.clone(), &thread.user_id, &thread.id);
        Self {
            tokens_in: u64::try_from(thread.tokens_in).unwrap_or(0),
            tokens_out: u64::try_from(thread.tokens_out).unwrap_or(0),
            thread,
            deps,
            state: ThreadState::new(bound, Instant::now()),
            subscribers: Vec::new(),
            turn: None,
            pending: HashMap::new(),
            context: None,
            context_epoch: 0,
            transcript: None,
            transcript_epoch: 0,
            turn_epochs: (0, 0),
            turn_streaming: false,
            held_notices: Vec::new(),
            row,
            restarts,
            started_at: Instant::now(),
            span,
        }
    }

    pub(super) fn start_turn(&mut self, queued: QueuedTurn, ctx: &mut Context<Self>) {
        let (tx, rx) = mpsc::unbounded_channel();
        ctx.add_stream(UnboundedReceiverStream::new(rx));
        self.subscribers.push(queued.subscriber);
        self.pending.clear();
        self.turn_streaming = false;
        self.held_notices.clear();
        // A thread that this turn creates has no items yet: its transcript starts empty
        // instead of being read from the store (which would first wait for the user
        // message's write).
        let transcript = match &queued.input {
            TurnInput::Create { .. } => Some(Transcript::default()),
            _ => self.transcript.take(),
        };
        let fut = run_turn(
            self.deps.clone(),
            self.thread.clone(),
            queued.principal,
            queued.input,
            self.context.clone(),
            transcript,
            tx,
        );
        self.turn_epochs = (self.context_epoch, self.transcript_epoch);
        let fut = tracing::Instrument::instrument(fut, self.span.clone());
        self.turn = Some(ctx.spawn(fut.into_actor(self)));
    }

    /// Sends a frame that does not come from the turn (a notice) to its subscribers, once the
    /// turn's own first event has gone out.
    pub(super) fn notify_subscribers(&mut self, frame: bytes::Bytes) {
        if self.turn_streaming {
            self.broadcast(SseMsg::Frame(frame));
        } else {
            self.held_notices.push(frame);
        }
    }

    /// Sends one event to every subscriber, dropping those that are gone or too slow.
    pub(super) fn broadcast(&mut self, msg: SseMsg) {
        self.subscribers.retain(|s| offer(s, msg.clone()));
    }

    /// Ends the running turn's subscriptions and starts the next queued input, if any.
    fn end_turn(&mut self, awaiting_tool: bool, ctx: &mut Context<Self>) {
        self.broadcast(SseMsg::End);
        self.subscribers.clear();
        self.pending.clear();
        self.turn = None;
        if let Some(next) = self.state.finish(awaiting_tool, Instant::now()) {
            self.start_turn(next, ctx);
        }
    }

    /// Keeps what the finished turn hands back, records its usage, starts the next input.
    fn finish_turn(&mut self, summary: TurnSummary, ctx: &mut Context<Self>) {
        let (context_epoch, transcript_epoch) = self.turn_epochs;
        if let Some(c) = summary.context
            && context_epoch == self.context_epoch
        {
            self.context = Some(c);
        }
        self.transcript = summary
            .transcript
            .filter(|_| transcript_epoch == self.transcript_epoch);
        if summary.tokens_in + summary.tokens_out > 0 {
            self.tokens_in += summary.tokens_in;
            self.tokens_out += summary.tokens_out;
            let add = self.row.add_usage(summary.tokens_in, summary.tokens_out);
            ctx.spawn(
                async move {
                    if let Err(e) = add.await {
                        tracing::error!(error = ?e, "cannot record token usage");
                    }
                }
                .into_actor(self),
            );
        }
        self.end_turn(summary.awaiting_tool, ctx);
    }

    fn track_pending(&mut self, event: &ThreadStreamEvent) {
        match event {
            ThreadStreamEvent::ItemAdded { item } => {
                self.pending.insert(item.id.clone(), item.clone());
            }
            ThreadStreamEvent::ItemUpdated { item_id, update } => {
                if let Some(item) = self.pending.get_mut(item_id) {
                    item.apply_update(update);
                }
            }
            ThreadStreamEvent::ItemDone { item } | ThreadStreamEvent::ItemReplaced { item } => {
                self.pending.remove(&item.id);
            }
            ThreadStreamEvent::ItemRemoved { item_id } => {
                self.pending.remove(item_id);
            }
            _ => {}
        }
    }

    /// Drops the item copy after a write it does not mirror.
    pub(super) fn forget_transcript(&mut self) {
        self.transcript = None;
        self.transcript_epoch += 1;
    }

    /// Drops the cached context (the data it was built from changed).
    pub(super) fn forget_context(&mut self) {
        self.context = None;
        self.context_epoch += 1;
    }
}

impl Actor for ThreadActor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        crate::metrics::global().live_thread_actors.inc();
        let _e = self.span.enter();
        tracing::debug!(restarts = self.restarts, "thread actor started");
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        let _e = self.span.enter();
        // Waiting requests get a clean end rather than a hang.
        for q in self.state.drain_queue() {
            let _ = offer(&q.subscriber, SseMsg::End);
        }
        tracing::debug!("thread actor stopped");
    }
}

/// Runs on every way out, including a panic that skips `stopped`.
impl Drop for ThreadActor {
    fn drop(&mut self) {
        crate::metrics::global().live_thread_actors.dec();
    }
}

impl StreamHandler<TurnOutput> for ThreadActor {
    fn handle(&mut self, out: TurnOutput, ctx: &mut Self::Context) {
        match out {
            TurnOutput::Event(event) => {
                self.track_pending(&event);
                self.broadcast(SseMsg::Frame(encode_event(&event)));
                if !self.turn_streaming {
                    self.turn_streaming = true;
                    for frame in std::mem::take(&mut self.held_notices) {
                        self.broadcast(SseMsg::Frame(frame));
                    }
                }
            }
            TurnOutput::SaveThread { patch, saved } => {
                patch.apply(&mut self.thread);
                let thread = self.thread.clone();
                let write = self.row.patch(patch);
                ctx.spawn(
                    async move {
                        let _ = saved.send(write.await.map(|()| thread));
                    }
                    .into_actor(self),
                );
            }
            TurnOutput::Finished(summary) => self.finish_turn(summary, ctx),
        }
    }

    /// The channel of a turn ends after its `Finished`; the actor lives on.
    fn finished(&mut self, _ctx: &mut Self::Context) {}
}
