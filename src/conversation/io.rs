//! What flows into a turn and out of it: the validated streaming request ([`TurnInput`]),
//! the messages a running turn sends its thread actor ([`TurnOutput`]), and its end
//! ([`TurnSummary`]).

use serde_json::Value;
use tokio::sync::oneshot;

use super::responder::CachedContext;
use super::transcript::Transcript;
use crate::chatkit::{Action, StructuredInputSubmission, ThreadStreamEvent, UserMessageInput};
use crate::store::{StoreResult, ThreadPatch, ThreadRecord};

/// A streaming request, validated, waiting for or running its turn.
#[derive(Debug, Clone)]
pub enum TurnInput {
    /// `threads.create`; the turn's first write inserts the thread row with the message.
    Create {
        input: UserMessageInput,
        /// The send's idempotency key, kept in the message's server metadata so that a
        /// repeat is recognised after a restart or on another node (`store::items::SEND_KEY`).
        send_key: Option<String>,
    },
    UserMessage {
        input: UserMessageInput,
        send_key: Option<String>,
    },
    ClientToolOutput {
        result: Value,
    },
    StructuredInput {
        item_id: String,
        submission: StructuredInputSubmission,
    },
    Retry {
        item_id: String,
    },
    CustomAction {
        item_id: Option<String>,
        action: Action,
    },
}

/// Everything a turn starts from, handed over by the thread's actor.
pub struct TurnStart {
    pub deps: super::responder::TurnDeps,
    pub thread: ThreadRecord,
    /// The turn's id (`trn_...`): its run row names it (`store::runs`).
    pub turn_id: String,
    pub principal: crate::auth::Principal,
    pub input: TurnInput,
    /// What the actor cached (context, the thread's items); `None` means read again.
    pub context: Option<CachedContext>,
    pub transcript: Option<Transcript>,
    /// Cancelled when the turn must stop.
    pub cancel: tokio_util::sync::CancellationToken,
}

/// What a turn sends back to its actor.
pub enum TurnOutput {
    /// An event for the subscribers, already persisted as the pipeline requires.
    Event(ThreadStreamEvent),
    /// The turn changed the thread row: the actor, its one writer, applies the patch to
    /// its record, stores it, and answers with the record as it now stands (which may carry
    /// a rename that arrived meanwhile), for the turn to announce.
    SaveThread {
        patch: ThreadPatch,
        saved: oneshot::Sender<StoreResult<ThreadRecord>>,
    },
    Finished(TurnSummary),
}

/// The end of a turn.
pub struct TurnSummary {
    pub awaiting_tool: bool,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub failed: bool,
    /// A context the responder rebuilt, for the actor to cache.
    pub context: Option<CachedContext>,
    /// The thread's items as the turn left them, for the actor to keep.
    pub transcript: Option<Transcript>,
}
