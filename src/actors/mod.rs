//! Live threads as actors.
//!
//! ```text
//! HTTP worker --ThreadHandle--> ThreadActor (one per live thread; queue, turn, subscribers)
//!      |                             ^ started, restarted, evicted by
//!      +--Registry (venue -> addr)--> VenueSupervisor (one per venue, on one of N arbiters)
//! ```
//! Every streaming ChatKit request for a thread goes through its actor; the actor runs one
//! turn at a time and streams its events to SSE subscribers. The rules of queueing live in
//! [`thread_state`] (plain, unit-tested); the actors only perform effects.

pub mod attach;
pub mod handle;
pub mod live_index;
pub mod pending;
pub mod registry;
pub mod row_writer;
pub mod send_keys;
pub mod supervisor;
pub mod thread_actor;
pub mod thread_messages;
pub mod thread_state;
pub mod turn_log;

pub use handle::ThreadHandle;
pub use registry::Registry;
