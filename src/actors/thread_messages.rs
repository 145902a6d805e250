//! The messages a [`ThreadActor`] answers besides its turn's output: start or queue an input,
//! inspect, evict when idle, stop (keeping a running turn's partial text), rename,
//! invalidate the cached context, drop the item copy after a write made elsewhere, and the
//! tests' fault injection.

use std::time::{Duration, Instant};

use actix::prelude::*;

use super::thread_actor::{QueuedTurn, ThreadActor};
use super::thread_state::{Activity, Admission};
use super::turn_log::TurnLog;
use crate::chatkit::ThreadStreamEvent;
use crate::chatkit::sse::encode_event;
use crate::chatkit::time::now_micros;
use crate::config::OnDisconnect;
use crate::conversation::{Transcript, notes};
use crate::error::ApiError;
use crate::store::{ThreadPatch, ThreadRecord};
use crate::vocab::AgentType;

impl ThreadActor {
    fn info(&self) -> ThreadInfo {
        ThreadInfo {
            thread_id: self.thread.id.clone(),
            user_id: self.thread.user_id.clone(),
            venue_id: self.thread.venue_id.clone(),
            agent_type: self.thread.agent_type,
            state: self.state.activity(),
            queue_depth: self.state.queue_depth(),
            subscribers: self.running.as_ref().map_or(0, |r| r.log.readers()),
            turn_id: self.running.as_ref().map(|r| r.log.turn_id.clone()),
            turn_seq: self.running.as_ref().map(|r| r.log.last_seq()),
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

    /// A rough size of what this actor holds, for the admin view.
    fn approx_memory(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.context.as_ref().map_or(0, |c| c.text.len())
            + self.transcript.as_ref().map_or(0, Transcript::approx_bytes)
            + self
                .pending
                .items()
                .iter()
                .map(|i| serde_json::to_vec(i).map_or(0, |v| v.len()))
                .sum::<usize>()
            + self.state.queue_depth() * std::mem::size_of::<QueuedTurn>()
    }
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
    pub agent_type: AgentType,
    pub state: Activity,
    pub queue_depth: usize,
    /// Readers following the running turn's events.
    pub subscribers: usize,
    /// The running turn and the number of its newest event.
    pub turn_id: Option<String>,
    pub turn_seq: Option<u64>,
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
            crate::metrics::global().record_cancel("admin");
        }
        let pending = self.pending.take();
        self.forget_transcript();
        let was_running = self.state.is_running();
        let turn_id = self.running.as_ref().map(|r| r.log.turn_id.clone());
        let deps = self.deps.clone();
        let thread = self.thread.clone();
        Box::pin(
            async move {
                if was_running {
                    notes::persist_cancelled(&deps, &thread, pending).await;
                }
                // The turn was stopped from outside, so it never cleared its run row.
                if let Some(turn_id) = turn_id
                    && let Err(e) = deps.stores.runs.end(&thread.id, &turn_id).await
                {
                    tracing::warn!(error = %e, "cannot clear the stopped turn's run row");
                }
            }
            .into_actor(self)
            .map(|_, act, ctx| {
                if let Some(r) = act.running.take() {
                    r.log.end();
                }
                ctx.stop();
            }),
        )
    }
}

/// The user renames the thread (`threads.update`): applied at once, stored in order with
/// the actor's other row writes; replies with the record as it then stands.
#[derive(Message)]
#[rtype(result = "Result<ThreadRecord, ApiError>")]
pub struct Rename(pub Option<String>);

impl Handler<Rename> for ThreadActor {
    type Result = ResponseFuture<Result<ThreadRecord, ApiError>>;

    fn handle(&mut self, Rename(title): Rename, _: &mut Self::Context) -> Self::Result {
        let patch = ThreadPatch::rename(title, now_micros());
        let thread = self.apply(&patch);
        self.state.touch(Instant::now());
        let write = self.row.patch(patch);
        Box::pin(async move {
            write.await?;
            Ok(thread)
        })
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
        self.forget_context();
        // The hidden note below is written outside any turn.
        self.forget_transcript();
        let deps = self.deps.clone();
        let thread = self.thread.clone();
        let summary = msg.summary.clone();
        // The next turn's history sees the change as hidden context.
        ctx.spawn(
            async move { notes::record_context_change(&deps, &thread, &summary).await }
                .into_actor(self),
        );
        if self.running.is_some() {
            let notice = ThreadStreamEvent::notice(
                crate::chatkit::NoticeLevel::Info,
                msg.summary.clone(),
                Some("Updated".to_owned()),
            );
            self.notify_readers(encode_event(&notice));
        }
    }
}

/// Items of the thread were written outside the actor (a sync widget action): the next
/// turn reads them from the store instead of the actor's copy, and a running turn's copy is
/// not kept when it ends.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ItemsWritten;

impl Handler<ItemsWritten> for ThreadActor {
    type Result = ();

    fn handle(&mut self, _: ItemsWritten, _: &mut Self::Context) {
        self.forget_transcript();
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

/// Why a turn is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelCause {
    /// The connection that started it went away (policy `cancel`).
    Disconnect,
    /// `POST {chatkit_path}/turns/{turn_id}/cancel`.
    Explicit,
}

impl CancelCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disconnect => "disconnect",
            Self::Explicit => "explicit",
        }
    }
}

/// What a cancel found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cancelled {
    /// The turn was running and is stopping now.
    Running,
    /// The input was still waiting in the queue; it will never run.
    Queued,
    /// Nothing to do: the turn had already finished or was cancelled before.
    AlreadyOver,
}

/// Stop the turn `turn_id` (running or queued).
#[derive(Message)]
#[rtype(result = "Cancelled")]
pub struct CancelTurn {
    pub turn_id: String,
    pub cause: CancelCause,
}

impl ThreadActor {
    pub(super) fn cancel_turn(&mut self, turn_id: &str, cause: CancelCause) -> Cancelled {
        if let Some(r) = self.running.as_mut()
            && r.log.turn_id == turn_id
        {
            if r.cancelled_by.is_some() {
                return Cancelled::AlreadyOver;
            }
            r.cancelled_by = Some(cause.as_str());
            r.cancel.cancel();
            crate::metrics::global().record_cancel(cause.as_str());
            return Cancelled::Running;
        }
        match self.state.remove_queued(|q| q.log.turn_id == turn_id) {
            Some(q) => {
                q.log.end();
                crate::metrics::global().record_cancel(cause.as_str());
                Cancelled::Queued
            }
            None => Cancelled::AlreadyOver,
        }
    }
}

impl Handler<CancelTurn> for ThreadActor {
    type Result = MessageResult<CancelTurn>;

    fn handle(&mut self, msg: CancelTurn, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.cancel_turn(&msg.turn_id, msg.cause))
    }
}

/// The connection that started `turn_id` went away before the turn ended: under the
/// `cancel` policy the turn stops; under `continue` it runs on for a resume.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ClientGone {
    pub turn_id: String,
}

impl Handler<ClientGone> for ThreadActor {
    type Result = ();

    fn handle(&mut self, msg: ClientGone, _: &mut Self::Context) {
        let policy = match &self.running {
            Some(r) if r.log.turn_id == msg.turn_id => Some(r.on_disconnect),
            _ => self
                .state
                .find_queued(|q| q.log.turn_id == msg.turn_id)
                .map(|q| q.on_disconnect),
        };
        if policy == Some(OnDisconnect::Cancel) {
            self.cancel_turn(&msg.turn_id, CancelCause::Disconnect);
        }
    }
}

/// The running turn, for a page that reloads (`GET {chatkit_path}/threads/{id}/turn`).
#[derive(Message)]
#[rtype(result = "Option<std::sync::Arc<TurnLog>>")]
pub struct CurrentTurn;

impl Handler<CurrentTurn> for ThreadActor {
    type Result = Option<std::sync::Arc<TurnLog>>;

    fn handle(&mut self, _: CurrentTurn, _: &mut Self::Context) -> Self::Result {
        self.running.as_ref().map(|r| r.log.clone())
    }
}
