//! The registry: venue id -> `VenueSupervisor`, shared by every HTTP worker.
//!
//! Supervisors are created lazily and spread round-robin over one arbiter (thread) per core,
//! so venues run in parallel while each venue's threads share their supervisor's arbiter.
//! Threads without a venue (none should exist; kept for robustness) share the `-` supervisor.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix::prelude::*;
use dashmap::DashMap;

use super::handle::ThreadHandle;
use super::live_index::LiveIndex;
use super::supervisor::{
    DomainChanged, GetThread, InspectVenue, LiveThread, SupervisorInfo, VenueSupervisor,
};
use crate::chatkit::turn::TurnDeps;
use crate::error::ApiError;
use crate::store::ThreadRecord;

const NO_VENUE: &str = "-";

struct Inner {
    supervisors: DashMap<String, Addr<VenueSupervisor>>,
    arbiters: Vec<ArbiterHandle>,
    next: AtomicUsize,
    deps: TurnDeps,
    live: LiveIndex,
}

/// Cheap to clone; lives in the application state.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

impl Registry {
    /// Must be called inside a running actix system; starts `arbiters` arbiter threads.
    pub fn new(deps: TurnDeps, arbiters: usize) -> Self {
        let arbiters = (0..arbiters.max(1))
            .map(|_| Arbiter::new().handle())
            .collect();
        Self {
            inner: Arc::new(Inner {
                supervisors: DashMap::new(),
                arbiters,
                next: AtomicUsize::new(0),
                deps,
                live: LiveIndex::default(),
            }),
        }
    }

    fn venue_key(venue_id: Option<&str>) -> String {
        venue_id.unwrap_or(NO_VENUE).to_owned()
    }

    /// The venue's supervisor, started on the next arbiter if it is not running.
    pub fn supervisor(&self, venue_id: Option<&str>) -> Addr<VenueSupervisor> {
        let key = Self::venue_key(venue_id);
        if let Some(addr) = self.inner.supervisors.get(&key).filter(|a| a.connected()) {
            return addr.clone();
        }
        // `entry` locks the shard, so two workers cannot start two supervisors for one venue.
        let mut entry = self
            .inner
            .supervisors
            .entry(key.clone())
            .or_insert_with(|| self.start_supervisor(&key));
        if !entry.connected() {
            *entry = self.start_supervisor(&key);
        }
        entry.clone()
    }

    fn start_supervisor(&self, venue_id: &str) -> Addr<VenueSupervisor> {
        let n = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let arbiter = &self.inner.arbiters[n % self.inner.arbiters.len()];
        let deps = self.inner.deps.clone();
        let live = self.inner.live.clone();
        let venue = venue_id.to_owned();
        VenueSupervisor::start_in_arbiter(arbiter, move |_| VenueSupervisor::new(venue, deps, live))
    }

    /// The live actor of a thread, started (hydrated from `thread`) if needed.
    pub async fn thread(&self, thread: &ThreadRecord) -> Result<ThreadHandle, ApiError> {
        // A running actor is reached directly; starting one (or restarting a dead one) is
        // the supervisor's job.
        if let Some(addr) = self.inner.live.addr(&thread.id) {
            return Ok(ThreadHandle::new(addr));
        }
        let sup = self.supervisor(thread.venue_id.as_deref());
        let addr = sup
            .send(GetThread(thread.clone()))
            .await
            .map_err(|e| ApiError::internal(format!("venue supervisor unavailable: {e}")))?;
        Ok(ThreadHandle::new(addr))
    }

    /// The live actor of a thread, without starting one.
    pub async fn live_thread(&self, thread: &ThreadRecord) -> Option<ThreadHandle> {
        let key = Self::venue_key(thread.venue_id.as_deref());
        let sup = self.inner.supervisors.get(&key)?.clone();
        sup.send(LiveThread(thread.id.clone()))
            .await
            .ok()
            .flatten()
            .map(ThreadHandle::new)
    }

    /// The record a running actor of `user_id`'s thread was started from (see
    /// `live_index.rs`); `None` when the thread is not live or not theirs.
    pub fn live_record(&self, thread_id: &str, user_id: &str) -> Option<Arc<ThreadRecord>> {
        self.inner.live.owned_by(thread_id, user_id)
    }

    /// Removes a thread from the live index (before its actor is stopped for a delete).
    pub fn forget(&self, thread_id: &str) {
        self.inner.live.remove(thread_id);
    }

    /// Tells the venue's live threads that an event changed.
    pub fn publish(&self, venue_id: &str, change: DomainChanged) {
        if let Some(sup) = self.inner.supervisors.get(venue_id) {
            sup.do_send(change);
        }
    }

    /// Every running supervisor, for the admin API and idle sweeps.
    pub fn supervisors(&self) -> Vec<(String, Addr<VenueSupervisor>)> {
        self.inner
            .supervisors
            .iter()
            .filter(|e| e.value().connected())
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect()
    }

    /// The running supervisor of a venue, if any.
    pub fn venue(&self, venue_id: &str) -> Option<Addr<VenueSupervisor>> {
        self.inner.supervisors.get(venue_id).map(|a| a.clone())
    }

    /// Inspects every venue.
    pub async fn inspect_all(&self) -> Vec<SupervisorInfo> {
        let mut out = Vec::new();
        for (_, sup) in self.supervisors() {
            if let Ok(info) = sup.send(InspectVenue).await {
                out.push(info);
            }
        }
        out.sort_by(|a, b| a.venue_id.cmp(&b.venue_id));
        out
    }
}

/// The way a turn announces domain changes to other live threads. The registry owns the
/// turn dependencies, so it is filled in after the registry exists.
#[derive(Clone, Default)]
pub struct DomainBus {
    registry: Arc<std::sync::OnceLock<Registry>>,
}

impl DomainBus {
    pub fn attach(&self, registry: Registry) {
        let _ = self.registry.set(registry);
    }

    /// Tells the live threads of `venue_id` whose context covers `event_id` that it changed.
    pub fn publish(
        &self,
        venue_id: &str,
        event_id: &str,
        summary: &str,
        origin_thread: Option<&str>,
    ) {
        if let Some(reg) = self.registry.get() {
            reg.publish(
                venue_id,
                DomainChanged {
                    event_id: event_id.to_owned(),
                    summary: summary.to_owned(),
                    origin_thread: origin_thread.map(str::to_owned),
                },
            );
        }
    }
}
