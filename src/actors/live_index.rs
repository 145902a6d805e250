//! The index of live thread actors, read by HTTP workers without asking a supervisor.
//!
//! A streaming request for a thread whose actor is running used to cost a database read of
//! the thread and a round trip through the venue's supervisor (another thread) before the
//! actor got the input. Supervisors write this index as they start, evict and stop actors;
//! request handlers read it:
//! - the address goes straight to the actor;
//! - the thread record the actor was started from answers "whose thread is this, and which
//!   assistant": both never change, so the check is as exact as the database's. Fields that
//!   do change (title, token counts) are not read from here.
//!
//! An entry whose actor died is left for the supervisor to replace (its address reports
//! dead, and the caller falls back to the supervisor, which restarts it). A deleted
//! thread's entry is removed before its actor is stopped.

use std::sync::Arc;

use actix::Addr;
use dashmap::DashMap;

use super::thread_actor::ThreadActor;
use crate::store::ThreadRecord;

#[derive(Clone)]
struct Live {
    addr: Addr<ThreadActor>,
    thread: Arc<ThreadRecord>,
}

/// Cheap to clone; shared by the registry and every supervisor.
#[derive(Clone, Default)]
pub struct LiveIndex {
    map: Arc<DashMap<String, Live>>,
}

impl LiveIndex {
    /// Indexes a started actor; `thread` is the record the actor itself holds (one copy for
    /// both: an idle actor's memory, issue #18).
    pub fn insert(&self, thread: Arc<ThreadRecord>, addr: Addr<ThreadActor>) {
        self.map.insert(thread.id.clone(), Live { addr, thread });
    }

    /// The actor changed its record (a patch copies it first while it is shared): the index
    /// points to the new one, so the two share it again and handlers see the current record.
    pub fn update(&self, thread: &Arc<ThreadRecord>) {
        if let Some(mut live) = self.map.get_mut(&thread.id) {
            live.thread = thread.clone();
        }
    }

    pub fn remove(&self, thread_id: &str) {
        self.map.remove(thread_id);
    }

    /// The running actor of a thread.
    pub fn addr(&self, thread_id: &str) -> Option<Addr<ThreadActor>> {
        let live = self.map.get(thread_id)?;
        live.addr.connected().then(|| live.addr.clone())
    }

    /// The record of a running actor (as it last changed it), if the thread is `user_id`'s.
    pub fn owned_by(&self, thread_id: &str, user_id: &str) -> Option<Arc<ThreadRecord>> {
        let live = self.map.get(thread_id)?;
        (live.addr.connected() && live.thread.user_id == user_id).then(|| live.thread.clone())
    }

    /// Forgets every thread (the registry is shutting down).
    pub fn clear(&self) {
        self.map.clear();
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
