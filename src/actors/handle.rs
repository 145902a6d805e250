//! `ThreadHandle`: the typed API handlers use instead of a raw `Addr`.
//!
//! Mailbox failures (an actor that died between lookup and send) become `ApiError` here, in
//! one place.

use actix::Addr;

use super::thread_actor::{
    InjectPanic, Inspect, Queued, QueuedTurn, StartTurn, StopThread, ThreadActor, ThreadChanged,
    ThreadInfo,
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

    /// Keeps the actor's copy of the thread in step with a write made outside a turn.
    pub fn thread_changed(&self, thread: ThreadRecord) {
        self.addr.do_send(ThreadChanged(thread));
    }

    /// Fault injection for tests; see `actors.fault_injection`.
    pub fn inject_panic(&self) {
        self.addr.do_send(InjectPanic);
    }

    pub fn is_alive(&self) -> bool {
        self.addr.connected()
    }
}
