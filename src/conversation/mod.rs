//! The conversation layer: what one turn of a thread does, from a validated streaming request
//! to the last event, independent of actors and HTTP.
//!
//! A thread's actor (`actors::thread_actor`) starts [`run_turn`] with the thread record, the
//! principal, the input ([`TurnInput`]) and what it has cached (context, [`Transcript`]); the
//! turn sends everything back on one channel ([`TurnOutput`]): the events in order, the
//! thread-row changes for the actor to store (the actor is the row's one writer), and its
//! end ([`TurnSummary`]).
//!
//! Files, in the order a turn uses them:
//! - [`turn`] drives the steps of protocol §3.2–3.7 in order (announce, store the user
//!   message, complete a tool call, retry, answer a structured input, record an action)
//!   and then asks the responder;
//! - [`responder`]: the [`Responder`] trait the assistants implement (`agents`), what it
//!   responds to, the dependencies of a turn;
//! - [`context`]: [`TurnContext`], the one way a turn's events reach the client and the
//!   store (the pipeline of protocol §7); [`background`] runs the turn's first write (run
//!   row, user message, new thread row: one transaction) beside the model request;
//! - [`transcript`] (the thread's items kept between turns), [`convert`] (store records <->
//!   wire types), [`answer`] (structured-input answers), [`notes`] (hidden notes for the
//!   model: a cancelled turn, a domain change, a widget action), [`bus`] (domain changes
//!   for the other live threads), [`io`] (what flows in and out of a turn);
//! - [`recovery`] closes, at startup, the turns a dead process left running (their run rows,
//!   their snapshotted partial answers);
//! - beside the turns, [`sync_action`] answers the non-streaming widget actions (protocol
//!   §3.8) through the same responder.
//!
//! Imports run one way: `http -> actors -> conversation <- agents -> tools -> domain ->
//! store`; nothing here imports `actors`, `agents` or `http`.

pub mod answer;
pub mod background;
pub mod bus;
pub mod context;
pub mod convert;
pub mod io;
pub mod notes;
pub mod recovery;
pub mod responder;
pub mod sync_action;
pub mod transcript;
pub mod turn;

pub use bus::{DomainBus, DomainChange};
pub use context::TurnContext;
pub use io::{TurnInput, TurnOutput, TurnStart, TurnSummary};
pub use responder::{CachedContext, Deps, RespondInput, Responder, SyncAction, TurnDeps};
pub use sync_action::answer_sync_action;
pub use transcript::{Transcript, TranscriptEntry};
pub use turn::run_turn;
