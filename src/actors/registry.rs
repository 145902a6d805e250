//! The registry: venue id -> `VenueSupervisor`, shared by every HTTP worker.
//!
//! Supervisors are created lazily and spread round-robin over one arbiter (thread) per core,
//! so venues run in parallel while each venue's threads share their supervisor's arbiter.
//! Threads without a venue (none should exist; kept for robustness) share the `-` supervisor.
//!
//! Domain changes published by turns (`conversation::bus`) arrive on a channel that a task on
//! the first arbiter drains into the venues' supervisors. Nothing the registry owns holds the
//! registry itself, so [`Registry::shutdown`] (called when the application stops) stops the
//! arbiters, and with them every supervisor, thread actor and that task.
//!
//! The registry also owns the turn index (turn id -> log, see `turn_log.rs`) and the
//! idempotency keys of sends (`send_keys.rs`); one task sweeps both.
//!
//! In a cluster (issue #17) no actor starts before this node has claimed its thread
//! (`store::owners`): [`Registry::thread`] claims first, once per thread however many
//! requests arrive together, and when the claim took the thread over from a dead node it
//! closes the turn that node left running (`conversation::recovery`) before the new actor
//! starts. A thread this node has lost is never served by its old actor again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix::prelude::*;
use dashmap::DashMap;
use std::time::Duration;

use tokio::sync::mpsc;

use super::handle::ThreadHandle;
use super::live_index::LiveIndex;
use super::send_keys::{START_WAIT, SendKeys};
use super::supervisor::{
    DomainChanged, GetThread, InspectVenue, StopLiveThread, SupervisorInfo, VenueSupervisor,
};
use super::turn_log::TurnLog;
use crate::chatkit::ids::{IdPrefix, new_id};
use crate::cluster::Cluster;
use crate::conversation::{DomainBus, DomainChange, TurnDeps};
use crate::error::ApiError;
use crate::store::ThreadRecord;
use crate::store::{Claim, Hold};
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

const NO_VENUE: &str = "-";

type Supervisors = Arc<DashMap<String, Addr<VenueSupervisor>>>;
/// Turn id -> its log, while the turn runs and for `turns.retention_secs` after.
type Turns = Arc<DashMap<String, Arc<TurnLog>>>;
/// A claim in flight, shared by the requests that wait for it.
type ClaimFuture = Shared<BoxFuture<'static, Result<Claim, Arc<str>>>>;

struct Inner {
    supervisors: Supervisors,
    arbiters: Vec<ArbiterHandle>,
    next: AtomicUsize,
    deps: TurnDeps,
    live: LiveIndex,
    turns: Turns,
    sends: SendKeys,
    cluster: Option<Cluster>,
    claimer: Claimer,
}

/// Cheap to clone; lives in the application state.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

impl Registry {
    /// Starts `arbiters` arbiter threads and the task that hands the domain changes of
    /// `changes` (the receiving end of `deps.bus`) to the venues' supervisors.
    pub fn new(
        deps: TurnDeps,
        arbiters: usize,
        changes: mpsc::UnboundedReceiver<DomainChange>,
        cluster: Option<Cluster>,
    ) -> Self {
        let arbiters: Vec<ArbiterHandle> = (0..arbiters.max(1))
            .map(|_| Arbiter::new().handle())
            .collect();
        let supervisors: Supervisors = Arc::default();
        let turns: Turns = Arc::default();
        let retention = Duration::from_secs(deps.settings.turns.retention_secs);
        let window = Duration::from_secs(deps.settings.turns.idempotency_window_secs);
        let sends = SendKeys::new(window, START_WAIT);
        let claimer = Claimer {
            claims: Arc::default(),
            stores: deps.stores.clone(),
        };
        if let Some(first) = arbiters.first() {
            first.spawn(forward_changes(changes, supervisors.clone()));
            first.spawn(sweep_turns(turns.clone(), retention, sends.clone()));
        }
        let registry = Self {
            inner: Arc::new(Inner {
                supervisors,
                arbiters,
                next: AtomicUsize::new(0),
                deps,
                live: LiveIndex::default(),
                turns,
                sends,
                cluster,
                claimer,
            }),
        };
        if let (Some(first), Some(cluster)) =
            (registry.inner.arbiters.first(), &registry.inner.cluster)
        {
            first.spawn(close_orphaned_turns(
                registry.inner.claimer.clone(),
                registry.inner.live.clone(),
                cluster.clone(),
            ));
        }
        registry
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
            if !self.lost(&thread.id) {
                return Ok(ThreadHandle::new(addr));
            }
            // Another node took the thread over: its old actor here must not serve again.
            self.stop_thread(thread).await?;
        }
        if let Some(cluster) = &self.inner.cluster {
            self.inner.claimer.claim(cluster, &thread.id).await?;
        }
        let sup = self.supervisor(thread.venue_id.as_deref());
        let addr = sup
            .send(GetThread(thread.clone()))
            .await
            .map_err(|e| ApiError::internal(format!("venue supervisor unavailable: {e}")))?;
        Ok(ThreadHandle::new(addr))
    }

    /// Whether this node lost `thread_id` to another node (always false on a single node).
    fn lost(&self, thread_id: &str) -> bool {
        self.inner
            .cluster
            .as_ref()
            .is_some_and(|c| c.owners().hold(thread_id) == Some(Hold::Lost))
    }

    /// Whether a request for `thread_id` is served by a live actor of this node (in a
    /// cluster, one whose claim is not lost); otherwise routing asks who owns the thread.
    pub fn serves_here(&self, thread_id: &str) -> bool {
        self.inner.live.addr(thread_id).is_some() && !self.lost(thread_id)
    }

    /// The live actor of a thread, without starting one (from the live index, which the
    /// supervisors keep in step with their own maps).
    pub fn live_thread(&self, thread_id: &str) -> Option<ThreadHandle> {
        self.inner.live.addr(thread_id).map(ThreadHandle::new)
    }

    /// The record a running actor of `user_id`'s thread was started from (see
    /// `live_index.rs`); `None` when the thread is not live or not theirs.
    pub fn live_record(&self, thread_id: &str, user_id: &str) -> Option<Arc<ThreadRecord>> {
        self.inner.live.owned_by(thread_id, user_id)
    }

    /// Stops a thread's live actor (admin), cancelling its turn. The venue's supervisor forgets
    /// it first, so a request that comes right after starts a new actor instead of reaching
    /// the stopping one. Whether an actor was live.
    pub async fn stop_thread(&self, thread: &ThreadRecord) -> Result<bool, ApiError> {
        let Some(sup) = self.venue(&Self::venue_key(thread.venue_id.as_deref())) else {
            return Ok(false);
        };
        sup.send(StopLiveThread(thread.id.clone()))
            .await
            .map_err(|e| ApiError::internal(format!("venue supervisor unavailable: {e}")))
    }

    /// Removes a thread from the live index (before its actor is stopped for a delete).
    pub fn forget(&self, thread_id: &str) {
        self.inner.live.remove(thread_id);
    }

    /// A new turn's log, registered so that its owner can resume it by id.
    pub fn new_turn(&self, thread: &ThreadRecord) -> Arc<TurnLog> {
        let log = Arc::new(TurnLog::new(
            new_id(IdPrefix::Turn),
            thread.id.clone(),
            thread.user_id.clone(),
            self.inner.deps.settings.turns.buffer_events,
        ));
        self.inner.turns.insert(log.turn_id.clone(), log.clone());
        log
    }

    /// A turn's log, while it runs or is retained.
    pub fn turn(&self, turn_id: &str) -> Option<Arc<TurnLog>> {
        self.inner.turns.get(turn_id).map(|l| l.clone())
    }

    /// The idempotency keys of sends (`send_keys.rs`).
    pub fn sends(&self) -> &SendKeys {
        &self.inner.sends
    }

    /// The bus turns publish domain changes on (tests and the admin use it too).
    pub fn bus(&self) -> &DomainBus {
        &self.inner.deps.bus
    }

    /// What every turn runs with; handlers that ask the responder outside a turn (sync
    /// widget actions) use the same.
    pub fn turn_deps(&self) -> &TurnDeps {
        &self.inner.deps
    }

    /// Items of `thread_id` were written without its actor: a live actor drops its copy of
    /// them (the next turn reads the store). Returns once the actor has done so; a thread
    /// with no running actor has no copy.
    pub async fn items_written(&self, thread_id: &str) -> Result<(), ApiError> {
        match self.live_thread(thread_id) {
            Some(handle) => handle.items_written().await,
            None => Ok(()),
        }
    }

    /// Stops every arbiter: supervisors, thread actors and the domain-change task end with
    /// them (a running turn is dropped where it stands, as on a process exit). Called once
    /// the HTTP server has stopped.
    pub fn shutdown(&self) {
        self.inner.supervisors.clear();
        self.inner.live.clear();
        for arbiter in &self.inner.arbiters {
            arbiter.stop();
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

/// In a cluster: every `cluster.orphan_sweep_ms` (half the heartbeat timeout), the turns dead nodes left running are closed
/// by claiming their threads (the claim closes the turn, see [`Registry::thread`]), so a
/// user who reloads the page sees the partial answer without sending anything first.
async fn close_orphaned_turns(claimer: Claimer, live: LiveIndex, cluster: Cluster) {
    let every = cluster.settings().orphan_sweep();
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !cluster.accepting() {
            continue;
        }
        let orphans = match cluster.owners().orphaned_turns(20).await {
            Ok(o) => o,
            Err(e) => {
                tracing::debug!(error = %e, "cannot look for turns of dead nodes");
                continue;
            }
        };
        for thread_id in orphans {
            if live.addr(&thread_id).is_some() {
                continue;
            }
            // The claim closes the turn. The row stays this node's (an owner needs no
            // actor: the thread's next request is served here, and its actor starts then);
            // giving it up again could race a request that starts an actor meanwhile.
            if let Err(e) = claimer.claim(&cluster, &thread_id).await {
                // Another node claimed it first: its claim closes the turn.
                tracing::debug!(thread_id, error = %e, "did not close a dead node's turn");
            }
        }
    }
}

/// The claims in flight (see [`Registry::thread`]); shared by the registry and its sweep of
/// dead nodes' turns, which must not hold the registry itself.
#[derive(Clone)]
struct Claimer {
    claims: Arc<DashMap<String, ClaimFuture>>,
    stores: crate::store::Stores,
}

impl Claimer {
    /// Claims `thread_id` for this node before its actor starts (see the module doc). One
    /// claim per thread runs at a time; the requests that arrive meanwhile wait for it.
    async fn claim(&self, cluster: &Cluster, thread_id: &str) -> Result<(), ApiError> {
        if !cluster.accepting() {
            return Err(ApiError::Unavailable(
                "this node is not taking turns: its cluster heartbeat lapsed".into(),
            ));
        }
        if matches!(cluster.owners().hold(thread_id), Some(Hold::Owned(_))) {
            return Ok(());
        }
        let claim =
            self.claims
                .entry(thread_id.to_owned())
                .or_insert_with(|| {
                    let owners = cluster.owners().clone();
                    let stores = self.stores.clone();
                    let id = thread_id.to_owned();
                    async move {
                        let claim = owners.claim(&id).await.map_err(|e| {
                            Arc::<str>::from(format!("cannot claim the thread: {e}"))
                        })?;
                        if let Claim::Here { fresh: true, .. } = claim {
                            crate::conversation::recovery::close_thread(&stores, &id)
                                .await
                                .map_err(|e| {
                                    Arc::<str>::from(format!(
                                        "cannot close the thread's last turn: {e}"
                                    ))
                                })?;
                        }
                        Ok(claim)
                    }
                    .boxed()
                    .shared()
                })
                .clone();
        let result = claim.await;
        self.claims.remove(thread_id);
        match result {
            Ok(Claim::Here { .. }) => Ok(()),
            // It was claimed elsewhere between routing and here; a retry is routed there.
            Ok(Claim::Elsewhere { node_id, .. }) => Err(ApiError::Unavailable(
                format!("the conversation is now served by node {node_id}; try again").into(),
            )),
            Err(e) => Err(ApiError::internal(e.to_string())),
        }
    }
}

/// Drops the logs of turns that ended more than `retention` ago, and the expired send keys,
/// every few seconds.
async fn sweep_turns(turns: Turns, retention: Duration, sends: SendKeys) {
    let every = (retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        turns.retain(|_, log| log.ended_at().is_none_or(|at| at.elapsed() < retention));
        sends.sweep();
    }
}

/// Drains the domain bus: each change goes to its venue's supervisor, if one runs (a venue
/// with no live thread has no context to invalidate). Ends when every sender is gone or
/// the arbiter stops.
async fn forward_changes(
    mut changes: mpsc::UnboundedReceiver<DomainChange>,
    supervisors: Supervisors,
) {
    while let Some(change) = changes.recv().await {
        if let Some(sup) = supervisors.get(&change.venue_id) {
            sup.do_send(DomainChanged {
                event_id: change.event_id,
                summary: change.summary,
                origin_thread: change.origin_thread,
            });
        }
    }
}
