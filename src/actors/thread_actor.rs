//! `ThreadActor`: one live thread.
//!
//! It holds the thread record, the queue/turn state ([`ThreadState`]), the running turn's
//! event log ([`TurnLog`], which every SSE reader of the turn follows) and its cancellation
//! token, the items the turn has announced but not finished (so a stop can keep the partial
//! text), the agent's context cache and counters. A turn runs as a future on the actor's
//! context; its events come back through a channel attached with `add_stream`, so the mailbox
//! is never blocked: inspection, cancel and new inputs are handled while a turn streams.
//!
//! **Cancel.** A turn stops when its token is cancelled: by the client that started it going
//! away under the `cancel` policy ([`ClientGone`](super::thread_messages::ClientGone)), by an
//! explicit cancel, or by an admin. The turn stops reading the model at once, starts no
//! further tool call (one that runs finishes and is recorded), keeps the partial answer and
//! leaves the hidden cancellation note; the thread is then ready for the next input.
//!
//! **The row's one writer.** While a thread is live, every write of its row goes through
//! this actor: a turn's title, status or metadata change arrives as
//! [`TurnOutput::SaveThread`], a rename as a message (`thread_messages.rs`). The actor
//! applies each to its record in mailbox order and stores it through its [`RowWriter`], in
//! the same order; a handler writes the store directly only when the thread has no live
//! actor. Token usage is the one exception: an increment commutes with every other write, so
//! the turn adds it in the database with its end (`RunStore::finish`) and the actor only
//! follows in its copy.
//!
//! **Caches a turn hands back** (context, transcript) are kept only if nothing invalidated
//! them while the turn ran: each has an epoch, bumped by an invalidation or a write the
//! cache does not mirror, and compared with its value when the turn started.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use tokio_util::sync::CancellationToken;

use super::live_index::LiveIndex;
use super::pending::Pending;
use super::row_writer::RowWriter;
use super::thread_state::{LastActive, ThreadState};
use super::turn_log::TurnLog;
use crate::auth::Principal;
use crate::chatkit::ThreadStreamEvent;
use crate::chatkit::sse::encode_event;
use crate::config::OnDisconnect;
use crate::conversation::{
    CachedContext, Transcript, TurnDeps, TurnInput, TurnOutput, TurnStart, TurnSummary, run_turn,
};
use crate::store::{ThreadPatch, ThreadRecord};

/// An input waiting for its turn, with the log its readers already follow.
pub struct QueuedTurn {
    pub input: TurnInput,
    pub principal: Principal,
    pub log: std::sync::Arc<TurnLog>,
    /// What the loss of the starting connection does to this turn.
    pub on_disconnect: OnDisconnect,
}

/// The turn that runs now.
pub(super) struct Running {
    pub(super) log: std::sync::Arc<TurnLog>,
    pub(super) cancel: CancellationToken,
    pub(super) on_disconnect: OnDisconnect,
    /// Why it was cancelled, once it was (for the log and the metrics).
    pub(super) cancelled_by: Option<&'static str>,
}

pub struct ThreadActor {
    /// Shared with the live index (`live`), copied only when the actor changes it.
    pub(super) thread: Arc<ThreadRecord>,
    live: LiveIndex,
    pub(super) deps: TurnDeps,
    pub(super) state: ThreadState<QueuedTurn>,
    pub(super) running: Option<Running>,
    pub(super) turn: Option<SpawnHandle>,
    /// The running turn's unfinished items, as they stand (see `pending.rs`).
    pub(super) pending: Pending,
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
    pub fn new(
        thread: Arc<ThreadRecord>,
        deps: TurnDeps,
        restarts: u32,
        live: LiveIndex,
        last_active: LastActive,
    ) -> Self {
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
            live,
            deps,
            state: ThreadState::with_last_active(bound, Instant::now(), last_active),
            running: None,
            turn: None,
            pending: Pending::default(),
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
        let cancel = CancellationToken::new();
        let turn_id = queued.log.turn_id.clone();
        self.running = Some(Running {
            log: queued.log,
            cancel: cancel.clone(),
            on_disconnect: queued.on_disconnect,
            cancelled_by: None,
        });
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
        let start = TurnStart {
            deps: self.deps.clone(),
            thread: ThreadRecord::clone(&self.thread),
            turn_id,
            principal: queued.principal,
            input: queued.input,
            context: self.context.clone(),
            transcript,
            cancel,
        };
        let fut = run_turn(start, tx);
        self.turn_epochs = (self.context_epoch, self.transcript_epoch);
        let fut = tracing::Instrument::instrument(fut, self.span.clone());
        self.turn = Some(ctx.spawn(fut.into_actor(self)));
    }

    /// Sends a frame that does not come from the turn (a notice) to its readers, once the
    /// turn's own first event has gone out.
    pub(super) fn notify_readers(&mut self, frame: bytes::Bytes) {
        if self.turn_streaming {
            self.broadcast(frame);
        } else {
            self.held_notices.push(frame);
        }
    }

    /// Appends one frame to the running turn's log, which its readers follow.
    pub(super) fn broadcast(&mut self, frame: bytes::Bytes) {
        if let Some(r) = &self.running {
            r.log.push(frame);
        }
    }

    /// Ends the running turn's log and starts the next queued input, if any.
    fn end_turn(&mut self, awaiting_tool: bool, ctx: &mut Context<Self>) {
        if let Some(r) = self.running.take() {
            r.log.end();
            if let Some(cause) = r.cancelled_by {
                tracing::info!(turn_id = %r.log.turn_id, cause, "turn cancelled");
            }
        }
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
        // The turn stored its usage with its end (`RunStore::finish`); the actor's copy of
        // the counters follows.
        self.tokens_in += summary.tokens_in;
        self.tokens_out += summary.tokens_out;
        self.end_turn(summary.awaiting_tool, ctx);
    }

    /// Applies a change of the row to the record (copying it first if the live index shares
    /// it, then sharing the copy) and returns the record as it now stands.
    pub(super) fn apply(&mut self, patch: &ThreadPatch) -> ThreadRecord {
        patch.apply(Arc::make_mut(&mut self.thread));
        self.live.update(&self.thread);
        ThreadRecord::clone(&self.thread)
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
        self.close_logs();
        let _e = self.span.enter();
        tracing::debug!("thread actor stopped");
    }
}

/// Runs on every way out; `stopped` has normally closed the logs already (actix runs it
/// while a panic unwinds too), so this only catches what an abort left behind.
impl Drop for ThreadActor {
    fn drop(&mut self) {
        crate::metrics::global().live_thread_actors.dec();
        self.close_logs();
    }
}

impl ThreadActor {
    /// Ends the logs the actor still holds as it goes: each waiting request gets a `custom`
    /// error event (send it again) instead of a hang or an empty body; a turn still running
    /// did not end by itself (a panic; an admin stop ends its turn's log first), so its
    /// readers get the generic error event.
    fn close_logs(&mut self) {
        let gone = encode_event(&ThreadStreamEvent::error_custom(
            "This conversation was stopped before your message was answered; send it again."
                .to_owned(),
            true,
        ));
        for q in self.state.drain_queue() {
            q.log.push(gone.clone());
            q.log.end();
        }
        if let Some(r) = self.running.take()
            && r.log.ended_at().is_none()
        {
            r.log.push(bytes::Bytes::from_static(
                crate::chatkit::STREAM_ERROR_FRAME,
            ));
            r.log.end();
        }
    }
}

impl StreamHandler<TurnOutput> for ThreadActor {
    fn handle(&mut self, out: TurnOutput, ctx: &mut Self::Context) {
        match out {
            TurnOutput::Event(event) => {
                // Applied in the same handler as the push below, so an attach's snapshot
                // (`attach.rs`) reflects exactly the frames up to the log's newest.
                self.pending.track(&event);
                self.broadcast(encode_event(&event));
                if !self.turn_streaming {
                    self.turn_streaming = true;
                    for frame in std::mem::take(&mut self.held_notices) {
                        self.broadcast(frame);
                    }
                }
            }
            TurnOutput::SaveThread { patch, saved } => {
                let thread = self.apply(&patch);
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
