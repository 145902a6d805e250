//! `VenueSupervisor`: owns the live threads of one venue.
//!
//! It starts a thread actor on demand from the thread record the caller loaded from the store,
//! restarts one whose actor died (a panic ends an actor without running `stopping`, so death
//! is noticed by its address going dead, and the new actor starts from the durable state),
//! evicts actors idle past `actors.idle_ttl` (driven by the [`EvictIdle`] message with an
//! explicit `now`, sent by a timer in production and directly by tests), fans domain changes
//! out to the threads whose context covers them, and answers inspection queries.
//!
//! In a cluster, a thread that leaves this node's supervisor (evicted, stopped) gives its
//! owner row up (`store::owners`), so the next request may be served by any node; a thread
//! another node took over (its claim here is lost) is stopped at the next sweep.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures::future::join_all;

use super::live_index::LiveIndex;
use super::thread_actor::ThreadActor;
use super::thread_messages::{EvictIfIdle, Inspect, InvalidateContext, StopThread, ThreadInfo};
use super::thread_state::LastActive;
use crate::conversation::TurnDeps;
use crate::store::ThreadRecord;
use crate::vocab::AgentType;

struct Entry {
    addr: Addr<ThreadActor>,
    event_id: Option<String>,
    agent_type: AgentType,
    restarts: u32,
    /// The actor's published activity (see [`LastActive`]).
    last_active: LastActive,
}

pub struct VenueSupervisor {
    venue_id: String,
    deps: TurnDeps,
    threads: HashMap<String, Entry>,
    /// Mirrors `threads` for request handlers (see `live_index.rs`).
    live: LiveIndex,
    restarts_total: u64,
    evicted_total: u64,
}

impl VenueSupervisor {
    pub fn new(venue_id: String, deps: TurnDeps, live: LiveIndex) -> Self {
        Self {
            venue_id,
            deps,
            threads: HashMap::new(),
            live,
            restarts_total: 0,
            evicted_total: 0,
        }
    }

    fn spawn_thread(
        &self,
        thread: Arc<ThreadRecord>,
        restarts: u32,
        last_active: LastActive,
    ) -> Addr<ThreadActor> {
        let deps = self.deps.clone();
        ThreadActor::new(thread, deps, restarts, self.live.clone(), last_active).start()
    }

    /// Gives up the owner rows of threads that left this supervisor (no-op on one node).
    fn release(&self, ids: Vec<String>) {
        let Some(owners) = self.deps.stores.owners.clone() else {
            return;
        };
        if ids.is_empty() {
            return;
        }
        actix::spawn(async move {
            for id in ids {
                if let Err(e) = owners.release(&id).await {
                    tracing::warn!(thread_id = %id, error = %e, "cannot release the thread's owner row; it moves when this node is seen dead");
                }
            }
        });
    }

    /// Stops the actors of threads another node took over.
    fn stop_lost(&mut self) {
        let Some(owners) = &self.deps.stores.owners else {
            return;
        };
        let lost: Vec<String> = self
            .threads
            .keys()
            .filter(|id| owners.hold(id) == Some(crate::store::Hold::Lost))
            .cloned()
            .collect();
        for id in &lost {
            if let Some(e) = self.threads.remove(id) {
                self.live.remove(id);
                if e.addr.connected() {
                    e.addr.do_send(StopThread);
                }
                tracing::warn!(thread_id = %id, "stopped the actor of a thread another node took over");
            }
        }
        self.release(lost);
    }
}

impl Actor for VenueSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let ttl = Duration::from_secs(self.deps.settings.actors.idle_ttl_secs.max(1));
        let every = (ttl / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
        ctx.run_interval(every, |_, ctx| {
            ctx.notify(EvictIdle {
                now: Instant::now(),
            });
        });
        tracing::debug!(venue_id = %self.venue_id, "venue supervisor started");
    }
}

/// The actor of a thread, started or restarted as needed.
#[derive(Message)]
#[rtype(result = "Addr<ThreadActor>")]
pub struct GetThread(pub ThreadRecord);

impl Handler<GetThread> for VenueSupervisor {
    type Result = MessageResult<GetThread>;

    fn handle(&mut self, GetThread(thread): GetThread, _: &mut Self::Context) -> Self::Result {
        if let Some(entry) = self.threads.get(&thread.id)
            && entry.addr.connected()
        {
            return MessageResult(entry.addr.clone());
        }
        let restarts = match self.threads.remove(&thread.id) {
            // The previous actor is gone without being evicted: it died.
            Some(dead) => {
                self.restarts_total += 1;
                crate::metrics::global().actor_restarts.inc();
                tracing::warn!(thread_id = %thread.id, "thread actor died; restarting from the store");
                dead.restarts + 1
            }
            None => 0,
        };
        let thread = Arc::new(thread);
        let last_active = LastActive::default();
        let entry = Entry {
            event_id: thread.event_id.clone(),
            agent_type: thread.agent_type,
            addr: self.spawn_thread(thread.clone(), restarts, last_active.clone()),
            restarts,
            last_active,
        };
        let addr = entry.addr.clone();
        let id = thread.id.clone();
        self.live.insert(thread, addr.clone());
        self.threads.insert(id, entry);
        MessageResult(addr)
    }
}

/// Stop every thread idle past the configured ttl at `now`; replies how many stopped.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct EvictIdle {
    pub now: Instant,
}

impl Handler<EvictIdle> for VenueSupervisor {
    type Result = ResponseActFuture<Self, usize>;

    fn handle(&mut self, msg: EvictIdle, _: &mut Self::Context) -> Self::Result {
        self.stop_lost();
        let ttl = Duration::from_secs(self.deps.settings.actors.idle_ttl_secs);
        // Dead actors are not idle, they are gone: keep them so the next request counts a
        // restart, but do not ask them.
        let asks: Vec<_> = self
            .threads
            .iter()
            // Only the actors whose published activity is older than the TTL are asked (the
            // actor has the last word: a turn may be running or queued).
            .filter(|(_, e)| e.addr.connected() && e.last_active.idle_for(msg.now) >= ttl)
            .map(|(id, e)| {
                let id = id.clone();
                let fut = e.addr.send(EvictIfIdle { now: msg.now, ttl });
                async move { (id, fut.await.unwrap_or(false)) }
            })
            .collect();
        Box::pin(join_all(asks).into_actor(self).map(|results, act, _| {
            let mut gone = Vec::new();
            for (id, stopped) in results {
                if stopped {
                    act.threads.remove(&id);
                    act.live.remove(&id);
                    gone.push(id);
                }
            }
            let n = gone.len();
            act.evicted_total += n as u64;
            act.release(gone);
            n
        }))
    }
}

/// Stop one thread (admin), cancelling its turn.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct StopLiveThread(pub String);

impl Handler<StopLiveThread> for VenueSupervisor {
    type Result = ResponseActFuture<Self, bool>;

    fn handle(&mut self, msg: StopLiveThread, _: &mut Self::Context) -> Self::Result {
        let entry = self.threads.remove(&msg.0);
        self.live.remove(&msg.0);
        let id = msg.0;
        Box::pin(
            async move {
                match entry {
                    Some(e) if e.addr.connected() => e.addr.send(StopThread).await.is_ok(),
                    _ => false,
                }
            }
            .into_actor(self)
            // Once the actor has stopped (its turn with it): the row may go.
            .map(move |stopped, act, _| {
                act.release(vec![id]);
                stopped
            }),
        )
    }
}

/// Stop every thread of the venue (admin); replies how many were live.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct StopAll;

impl Handler<StopAll> for VenueSupervisor {
    type Result = ResponseActFuture<Self, usize>;

    fn handle(&mut self, _: StopAll, _: &mut Self::Context) -> Self::Result {
        let mut ids = Vec::new();
        let addrs: Vec<_> = self
            .threads
            .drain()
            .map(|(id, e)| {
                self.live.remove(&id);
                ids.push(id);
                e.addr
            })
            .collect();
        Box::pin(
            async move {
                let live: Vec<_> = addrs.into_iter().filter(|a| a.connected()).collect();
                let n = live.len();
                join_all(live.iter().map(|a| a.send(StopThread))).await;
                n
            }
            .into_actor(self)
            .map(move |n, act, _| {
                act.release(ids);
                n
            }),
        )
    }
}

/// A domain change touching an event: every live thread whose context covers the event (its
/// own event, or the venue-wide assistant) drops its cached context.
#[derive(Message, Clone)]
#[rtype(result = "usize")]
pub struct DomainChanged {
    pub event_id: String,
    pub summary: String,
    /// The thread whose tool made the change; it already knows.
    pub origin_thread: Option<String>,
}

impl Handler<DomainChanged> for VenueSupervisor {
    type Result = usize;

    fn handle(&mut self, msg: DomainChanged, _: &mut Self::Context) -> usize {
        let mut n = 0;
        for (id, e) in &self.threads {
            let covers = e.event_id.as_deref() == Some(msg.event_id.as_str())
                || e.agent_type == AgentType::VenueGeneral;
            if covers && msg.origin_thread.as_deref() != Some(id.as_str()) && e.addr.connected() {
                e.addr.do_send(InvalidateContext {
                    summary: msg.summary.clone(),
                });
                n += 1;
            }
        }
        n
    }
}

/// The admin view of the venue.
#[derive(Message)]
#[rtype(result = "SupervisorInfo")]
pub struct InspectVenue;

#[derive(Debug, Clone, serde::Serialize)]
pub struct SupervisorInfo {
    pub venue_id: String,
    pub live_threads: usize,
    pub restarts: u64,
    pub evicted: u64,
    pub threads: Vec<ThreadInfo>,
}

impl Handler<InspectVenue> for VenueSupervisor {
    type Result = ResponseActFuture<Self, SupervisorInfo>;

    fn handle(&mut self, _: InspectVenue, _: &mut Self::Context) -> Self::Result {
        let asks: Vec<_> = self
            .threads
            .values()
            .filter(|e| e.addr.connected())
            .map(|e| e.addr.send(Inspect))
            .collect();
        Box::pin(join_all(asks).into_actor(self).map(|infos, act, _| {
            let mut threads: Vec<ThreadInfo> = infos.into_iter().filter_map(Result::ok).collect();
            threads.sort_by(|a, b| a.thread_id.cmp(&b.thread_id));
            SupervisorInfo {
                venue_id: act.venue_id.clone(),
                live_threads: threads.len(),
                restarts: act.restarts_total,
                evicted: act.evicted_total,
                threads,
            }
        }))
    }
}
