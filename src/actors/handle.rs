//! `ThreadHandle`: the typed API handlers use instead of a raw `Addr`.
//!
//! Mailbox failures (an actor that died between lookup and send) become `ApiError` here, in
//! one place.

use actix::Addr;

use super::attach::{Attach, Snapshot};
use super::thread_actor::{QueuedTurn, ThreadActor};
use super::thread_messages::{
    CancelCause, CancelTurn, Cancelled, ClientGone, CurrentTurn, InjectPanic, Inspect,
    ItemsWritten, Queued, Rename, StartTurn, StopThread, ThreadInfo,
};
use crate::error::ApiError;
use crate::store::ThreadRecord;

#[derive(Clone)]
pub struct ThreadHandle {
    addr: Addr<ThreadActor>,
}

fn mailbox(e: actix::MailboxError) -> ApiError {
    ApiError::internal(format!("thread actor unavailable: {e}"))
}

impl ThreadHandle {
    pub fn new(addr: Addr<ThreadActor>) -> Self {
        Self { addr }
    }

    /// Starts or queues a streaming input.
    pub async fn start_turn(&self, turn: QueuedTurn) -> Result<Queued, ApiError> {
        self.addr.send(StartTurn(turn)).await.map_err(mailbox)?
    }

    pub async fn inspect(&self) -> Result<ThreadInfo, ApiError> {
        self.addr.send(Inspect).await.map_err(mailbox)
    }

    /// Cancels the running turn and stops the actor.
    pub async fn stop(&self) -> Result<(), ApiError> {
        self.addr.send(StopThread).await.map_err(mailbox)
    }

    /// Renames the thread through its actor (the row's one writer); the record as it then
    /// stands.
    pub async fn rename(&self, title: Option<String>) -> Result<ThreadRecord, ApiError> {
        self.addr.send(Rename(title)).await.map_err(mailbox)?
    }

    /// Items of the thread were written without the actor: it drops its copy of them.
    pub async fn items_written(&self) -> Result<(), ApiError> {
        self.addr.send(ItemsWritten).await.map_err(mailbox)
    }

    /// The connection that started `turn_id` went away (see `http::sse_body`).
    pub fn client_gone(&self, turn_id: String) {
        self.addr.do_send(ClientGone { turn_id });
    }

    /// Stops the turn `turn_id`, running or queued; what it found.
    pub async fn cancel_turn(
        &self,
        turn_id: String,
        cause: CancelCause,
    ) -> Result<Cancelled, ApiError> {
        self.addr
            .send(CancelTurn { turn_id, cause })
            .await
            .map_err(mailbox)
    }

    /// The running turn's log, if a turn runs.
    pub async fn current_turn(
        &self,
    ) -> Result<Option<std::sync::Arc<super::turn_log::TurnLog>>, ApiError> {
        self.addr.send(CurrentTurn).await.map_err(mailbox)
    }

    /// The running turn's unfinished items and the number of its newest frame, taken
    /// together, for a page that attaches (see `attach.rs`); `None` when no turn runs.
    pub async fn attach(&self) -> Result<Option<Snapshot>, ApiError> {
        self.addr.send(Attach).await.map_err(mailbox)
    }

    /// Fault injection for tests; see `actors.fault_injection`.
    pub fn inject_panic(&self) {
        self.addr.do_send(InjectPanic);
    }
}
