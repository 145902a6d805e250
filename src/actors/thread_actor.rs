//! `ThreadActor`: one live thread.
//!
//! It holds the thread record, the queue/turn state ([`ThreadState`]), the subscribers of the
//! running turn, the items the turn has announced but not finished (so a cancel can keep the
//! partial text), the agent's context cache and counters. A turn runs as a future on the
//! actor's context; its events come back through a channel attached with `add_stream`, so
//! the mailbox is never blocked: inspection, cancel and new inputs are handled while a turn
//! streams. A client that disconnects only loses its subscription; the turn goes on and its
//! items are stored.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::subscriber::{SseMsg, Subscriber, offer};
use super::thread_state::{Activity, Admission, ThreadState};
use crate::auth::Principal;
use crate::chatkit::sse::encode_event;
use crate::chatkit::transcript::Transcript;
use crate::chatkit::turn::{self, TurnDeps, TurnInput, TurnOutput};
use crate::chatkit::{ThreadItem, ThreadStreamEvent};
use crate::error::ApiError;
use crate::store::ThreadRecord;

/// An input waiting for its turn.
pub struct QueuedTurn {
    pub input: TurnInput,
    pub principal: Principal,
    pub subscriber: Subscriber,
}

/// The agent context built for this thread, and when.
#[derive(Clone)]
pub struct CachedContext {
    pub text: Arc<str>,
    pub built_at: Instant,
}

pub struct ThreadActor {
    thread: ThreadRecord,
    deps: TurnDeps,
    state: ThreadState<QueuedTurn>,
    subscribers: Vec<Subscriber>,
    turn: Option<SpawnHandle>,
    pending: HashMap<String, ThreadItem>,
    context: Option<CachedContext>,
    /// The thread's items between turns (see `chatkit/transcript.rs`); lent to each turn.
    transcript: Option<Transcript>,
    /// Bumped by every item write the actor makes outside a turn; a turn's transcript
    /// comes back only if no such write happened while it ran.
    transcript_epoch: u64,
    turn_epoch: u64,
    restarts: u32,
    tokens_in: u64,
    tokens_out: u64,
    started_at: Instant,
    span: tracing::Span,
}

impl ThreadActor {
    pub fn new(thread: ThreadRecord, deps: TurnDeps, restarts: u32) -> Self {
        let bound = deps.settings.actors.queue_bound;
        let span = tracing::info_span!(
            "thread_actor",
            thread_id = %thread.id,
            venue_id = thread.venue_id.as_deref().unwrap_or("-"),
        );
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
            transcript: None,
            transcript_epoch: 0,
            turn_epoch: 0,
            restarts,
            started_at: Instant::now(),
            span,
        }
    }

    fn start_turn(&mut self, queued: QueuedTurn, ctx: &mut Context<Self>) {
        let (tx, rx) = mpsc::unbounded_channel();
        ctx.add_stream(UnboundedReceiverStream::new(rx));
        self.subscribers.push(queued.subscriber);
        self.pending.clear();
        // A thread that this turn creates has no items yet: its transcript starts empty
        // instead of being read from the store (which would first wait for the user
        // message's write).
        let transcript = match &queued.input {
            TurnInput::Create { .. } => Some(Transcript::default()),
            _ => self.transcript.take(),
        };
        let fut = turn::run_turn(
            self.deps.clone(),
            self.thread.clone(),
            queued.principal,
            queued.input,
            self.context.clone(),
            transcript,
            tx,
        );
        self.turn_epoch = self.transcript_epoch;
        let fut = tracing::Instrument::instrument(fut, self.span.clone());
        self.turn = Some(ctx.spawn(fut.into_actor(self)));
    }

    /// Sends one event to every subscriber, dropping those that are gone or too slow.
    fn broadcast(&mut self, msg: SseMsg) {
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

    fn info(&self) -> ThreadInfo {
        ThreadInfo {
            thread_id: self.thread.id.clone(),
            user_id: self.thread.user_id.clone(),
            venue_id: self.thread.venue_id.clone(),
            agent_type: self.thread.agent_type.clone(),
            state: self.state.activity(),
            queue_depth: self.state.queue_depth(),
            subscribers: self.subscribers.len(),
            context_age_secs: self
                .context
                .as_ref()
                .map(|c| c.built_at.elapsed().as_secs()),
            idle_secs: self.state.last_activity().elapsed().as_secs(),
            uptime_secs: self.started_at.elapsed().as_secs(),
            turns: self.state.turns_started(),
            tokens_in: self.tokens_in,
            tokens_out: self.tokens_out,
            restarts: self.restarts,
            approx_memory_bytes: self.approx_memory(),
        }
    }

    /// Drops the item copy after a write it does not mirror.
    fn forget_transcript(&mut self) {
        self.transcript = None;
        self.transcript_epoch += 1;
    }

    /// A rough size of what this actor holds, for the admin view.
    fn approx_memory(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.context.as_ref().map_or(0, |c| c.text.len())
            + self.transcript.as_ref().map_or(0, Transcript::approx_bytes)
            + self
                .pending
                .values()
                .map(|i| serde_json::to_vec(i).map_or(0, |v| v.len()))
                .sum::<usize>()
            + self.state.queue_depth() * std::mem::size_of::<QueuedTurn>()
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
            }
            TurnOutput::Finished(summary) => {
                self.thread = summary.thread;
                self.tokens_in += summary.tokens_in;
                self.tokens_out += summary.tokens_out;
                if let Some(c) = summary.context {
                    self.context = Some(c);
                }
                self.transcript = summary
                    .transcript
                    .filter(|_| self.turn_epoch == self.transcript_epoch);
                self.end_turn(summary.awaiting_tool, ctx);
            }
        }
    }

    /// The channel of a turn ends after its `Finished`; the actor lives on.
    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

/// Start (or queue) a streaming input; replies whether it started or was queued.
#[derive(Message)]
#[rtype(result = "Result<Queued, ApiError>")]
pub struct StartTurn(pub QueuedTurn);

/// Where a submitted input stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    Started,
    Waiting(usize),
}

impl Handler<StartTurn> for ThreadActor {
    type Result = Result<Queued, ApiError>;

    fn handle(&mut self, msg: StartTurn, ctx: &mut Self::Context) -> Self::Result {
        match self.state.submit(msg.0, Instant::now()) {
            Admission::StartNow(q) => {
                self.start_turn(q, ctx);
                Ok(Queued::Started)
            }
            Admission::Queued(pos) => Ok(Queued::Waiting(pos)),
            Admission::Rejected(_) => Err(ApiError::Busy(format!(
                "this thread already has {} requests waiting; try again when the current reply has finished",
                self.state.queue_depth()
            ))),
        }
    }
}

/// Report what the actor is doing.
#[derive(Message)]
#[rtype(result = "ThreadInfo")]
pub struct Inspect;

/// The admin view of one thread actor.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ThreadInfo {
    pub thread_id: String,
    pub user_id: String,
    pub venue_id: Option<String>,
    pub agent_type: String,
    pub state: Activity,
    pub queue_depth: usize,
    pub subscribers: usize,
    pub context_age_secs: Option<u64>,
    pub idle_secs: u64,
    pub uptime_secs: u64,
    pub turns: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub restarts: u32,
    pub approx_memory_bytes: usize,
}

impl Handler<Inspect> for ThreadActor {
    type Result = MessageResult<Inspect>;

    fn handle(&mut self, _: Inspect, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.info())
    }
}

/// Stop if idle for at least `ttl` at `now`; replies whether it stopped.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct EvictIfIdle {
    pub now: Instant,
    pub ttl: Duration,
}

impl Handler<EvictIfIdle> for ThreadActor {
    type Result = bool;

    fn handle(&mut self, msg: EvictIfIdle, ctx: &mut Self::Context) -> bool {
        if self.state.is_idle_past(msg.now, msg.ttl) {
            ctx.stop();
            true
        } else {
            false
        }
    }
}

/// Cancel the running turn (keeping partial assistant text, as the reference does on a
/// stop) and stop the actor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopThread;

impl Handler<StopThread> for ThreadActor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: StopThread, ctx: &mut Self::Context) -> Self::Result {
        if let Some(h) = self.turn.take() {
            ctx.cancel_future(h);
        }
        let pending: Vec<ThreadItem> = self.pending.drain().map(|(_, v)| v).collect();
        self.forget_transcript();
        let was_running = self.state.is_running();
        let deps = self.deps.clone();
        let thread = self.thread.clone();
        Box::pin(
            async move {
                if was_running {
                    turn::persist_cancelled(&deps, &thread, pending).await;
                }
            }
            .into_actor(self)
            .map(|_, act, ctx| {
                act.broadcast(SseMsg::End);
                act.subscribers.clear();
                ctx.stop();
            }),
        )
    }
}

/// The thread record changed outside a turn (title renamed); keep the cache in step.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ThreadChanged(pub ThreadRecord);

impl Handler<ThreadChanged> for ThreadActor {
    type Result = ();

    fn handle(&mut self, msg: ThreadChanged, _: &mut Self::Context) {
        self.thread = msg.0;
        self.state.touch(Instant::now());
    }
}

/// Domain data the thread's context covers changed: drop the cached context so the next
/// turn rebuilds it, and tell a connected client.
#[derive(Message)]
#[rtype(result = "()")]
pub struct InvalidateContext {
    pub summary: String,
}

impl Handler<InvalidateContext> for ThreadActor {
    type Result = ();

    fn handle(&mut self, msg: InvalidateContext, ctx: &mut Self::Context) {
        self.context = None;
        // The hidden note below is written outside any turn.
        self.forget_transcript();
        let deps = self.deps.clone();
        let thread = self.thread.clone();
        let summary = msg.summary.clone();
        // The next turn's history sees the change as hidden context.
        ctx.spawn(
            async move { turn::record_context_change(&deps, &thread, &summary).await }
                .into_actor(self),
        );
        if !self.subscribers.is_empty() {
            let notice = ThreadStreamEvent::notice(
                crate::chatkit::NoticeLevel::Info,
                msg.summary.clone(),
                Some("Updated".to_owned()),
            );
            self.broadcast(SseMsg::Frame(encode_event(&notice)));
        }
    }
}

/// Test-only fault injection (enabled by `actors.fault_injection`): panic inside the actor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct InjectPanic;

impl Handler<InjectPanic> for ThreadActor {
    type Result = ();

    #[allow(clippy::panic)]
    fn handle(&mut self, _: InjectPanic, _: &mut Self::Context) {
        panic!(
            "fault injection: thread actor {} panics on request",
            self.thread.id
        );
    }
}
