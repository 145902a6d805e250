//! Attach after a reload: a page that lost the stream of a running turn (a reload, a new tab)
//! follows it again without owning it.
//!
//! [`Attach`] answers, from one message handler, the turn's unfinished items as they stand
//! (one `thread.item.added` frame each, oldest announcement first) and the number of the
//! turn's newest frame. The actor pushes a turn's event to its log and applies it to those
//! items in the same handler (`thread_actor.rs`), so the snapshot holds exactly the effect of
//! frames `1..=seq`: the reader that sends the snapshot and then the log's frames after
//! `seq` loses no delta and doubles none.
//!
//! An attach does nothing to the turn: it is not queued, starts nothing, stores nothing, and
//! its reader going away does not cancel the turn.

use std::sync::Arc;

use actix::prelude::*;
use bytes::Bytes;

use super::thread_actor::ThreadActor;
use super::turn_log::TurnLog;
use crate::chatkit::ThreadStreamEvent;
use crate::chatkit::sse::encode_event;

/// The running turn as an attaching reader starts it.
pub struct Snapshot {
    /// One `thread.item.added` frame per unfinished item, as it stands.
    pub frames: Vec<Bytes>,
    /// The turn's log, whose frames after `seq` follow the snapshot.
    pub log: Arc<TurnLog>,
    /// The number of the newest frame the snapshot reflects.
    pub seq: u64,
}

/// The running turn's snapshot, or `None` when no turn runs.
#[derive(Message)]
#[rtype(result = "Option<Snapshot>")]
pub struct Attach;

impl Handler<Attach> for ThreadActor {
    type Result = Option<Snapshot>;

    fn handle(&mut self, _: Attach, _: &mut Self::Context) -> Self::Result {
        let running = self.running.as_ref()?;
        let frames = self
            .pending
            .items()
            .iter()
            .map(|item| encode_event(&ThreadStreamEvent::ItemAdded { item: item.clone() }))
            .collect();
        Some(Snapshot {
            frames,
            log: running.log.clone(),
            seq: running.log.last_seq(),
        })
    }
}
