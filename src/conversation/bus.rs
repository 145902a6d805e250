//! The domain bus: how a turn tells the other live threads that data their context covers
//! changed (a tool confirmed an element, sent a message, ...).
//!
//! A turn only sends a [`DomainChange`] down a channel and goes on; the receiving end
//! belongs to the actor registry (`actors::registry`), which hands each change to the
//! venue's supervisor, which invalidates the context of the threads that cover the event.
//! A channel, not a handle on the registry, so that nothing the registry owns points back at
//! it: the registry can be shut down, and once it is, publishing is a no-op.
//!
//! Every change also goes to a broadcast [feed](DomainBus::subscribe) that the pages' live
//! views read (`GET /api/v1/venues/{id}/changes`, `GET /api/v1/events/{id}/changes`). The
//! feed is bounded: a reader that falls [`FEED_CAPACITY`] changes behind is told it lagged
//! (and reloads what it shows) instead of holding memory for it.
//!
//! In a cluster (issue #17) the bus also has an [outbox](DomainBus::set_outbox): `publish`
//! then appends the change to `cluster_outbox` on a task of its own (the caller never waits
//! for the database), and the other nodes' fan-out (`cluster::outbox`) hands it to their own
//! bus with [`DomainBus::deliver_local`], which does not write the outbox again. The
//! server's own writers do not come through `publish` in a cluster: a tool call and a REST
//! review write their outbox row in the transaction of their domain writes, then call
//! `deliver_local` (`agents::tool_round`, `http::api::change_requests`). A change that does
//! come through `publish` gets its row right after, not in the write's transaction, and two
//! such changes may reach the outbox in either order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::{broadcast, mpsc};

use crate::store::{OutboxChange, OutboxStore};

/// Changes a slow feed reader may fall behind before it is told it lagged.
pub const FEED_CAPACITY: usize = 1024;

/// A change to an event's data, as the tool that made it describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainChange {
    pub venue_id: String,
    pub event_id: String,
    /// One line for the other threads' models and a connected user ("Element X confirmed").
    pub summary: String,
    /// The thread whose tool made the change; it already knows.
    pub origin_thread: Option<String>,
}

impl From<DomainChange> for OutboxChange {
    fn from(c: DomainChange) -> Self {
        Self {
            venue_id: c.venue_id,
            event_id: c.event_id,
            summary: c.summary,
            origin_thread: c.origin_thread,
        }
    }
}

impl From<OutboxChange> for DomainChange {
    fn from(c: OutboxChange) -> Self {
        Self {
            venue_id: c.venue_id,
            event_id: c.event_id,
            summary: c.summary,
            origin_thread: c.origin_thread,
        }
    }
}

/// Where a cluster node's changes go for the other nodes.
#[derive(Debug)]
struct Outbox {
    store: OutboxStore,
    node_id: String,
    /// Appends that failed (logged; those changes did not reach the other nodes).
    failures: AtomicU64,
}

/// The sending end; cheap to clone.
#[derive(Clone, Debug)]
pub struct DomainBus {
    tx: mpsc::UnboundedSender<DomainChange>,
    feed: broadcast::Sender<DomainChange>,
    /// Set once at startup in a cluster; shared by every clone, so the clones made before
    /// it was set publish to it too.
    outbox: Arc<OnceLock<Outbox>>,
}

impl DomainBus {
    /// A bus and the receiving end the registry drains.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<DomainChange>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (feed, _) = broadcast::channel(FEED_CAPACITY);
        (
            Self {
                tx,
                feed,
                outbox: Arc::default(),
            },
            rx,
        )
    }

    /// From now on every change published here is also appended to the cluster's outbox as
    /// `node_id`'s. Only the first call counts (false for a later one).
    pub fn set_outbox(&self, store: OutboxStore, node_id: String) -> bool {
        self.outbox
            .set(Outbox {
                store,
                node_id,
                failures: AtomicU64::new(0),
            })
            .is_ok()
    }

    /// How many outbox appends failed on this bus.
    pub fn outbox_failures(&self) -> u64 {
        self.outbox
            .get()
            .map_or(0, |o| o.failures.load(Ordering::Relaxed))
    }

    /// Every change published from now on (the pages' live views).
    pub fn subscribe(&self) -> broadcast::Receiver<DomainChange> {
        self.feed.subscribe()
    }

    /// Tells the live threads of `venue_id` whose context covers `event_id` that it changed.
    pub fn publish(
        &self,
        venue_id: &str,
        event_id: &str,
        summary: &str,
        origin_thread: Option<&str>,
    ) {
        let change = DomainChange {
            venue_id: venue_id.to_owned(),
            event_id: event_id.to_owned(),
            summary: summary.to_owned(),
            origin_thread: origin_thread.map(str::to_owned),
        };
        if self.outbox.get().is_some() {
            self.append_to_outbox(change.clone());
        }
        self.deliver_local(change);
    }

    /// Hands `change` to this node's live threads and feed readers only (a change another
    /// node published, read from the outbox).
    pub fn deliver_local(&self, change: DomainChange) {
        // No feed reader is not an error: the pages are optional.
        let _ = self.feed.send(change.clone());
        // After shutdown nobody listens, and there is no live thread to tell.
        let _ = self.tx.send(change);
    }

    /// Appends on a task of its own: a turn's tool never waits for the outbox.
    fn append_to_outbox(&self, change: DomainChange) {
        let outbox = self.outbox.clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            if let Some(o) = outbox.get() {
                o.failures.fetch_add(1, Ordering::Relaxed);
            }
            tracing::warn!(
                venue_id = %change.venue_id,
                event_id = %change.event_id,
                "no runtime to append the domain change to the outbox; the other nodes miss it"
            );
            return;
        };
        runtime.spawn(async move {
            let Some(o) = outbox.get() else { return };
            let (venue_id, event_id) = (change.venue_id.clone(), change.event_id.clone());
            if let Err(error) = o.store.append(&change.into(), &o.node_id).await {
                o.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    venue_id,
                    event_id,
                    %error,
                    "cannot append the domain change to the outbox; the other nodes miss it"
                );
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_reaches_the_registry_and_every_feed_reader() {
        let (bus, mut registry) = DomainBus::channel();
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        bus.publish("v1", "e1", "Element confirmed", Some("thr_1"));
        for got in [
            registry.recv().await,
            a.recv().await.ok(),
            b.recv().await.ok(),
        ] {
            let got = got.unwrap();
            assert_eq!((got.venue_id.as_str(), got.event_id.as_str()), ("v1", "e1"));
            assert_eq!(got.summary, "Element confirmed");
        }
    }

    #[tokio::test]
    async fn a_reader_that_falls_behind_is_told_it_lagged() {
        let (bus, _registry) = DomainBus::channel();
        let mut slow = bus.subscribe();
        for i in 0..=FEED_CAPACITY {
            bus.publish("v1", &format!("e{i}"), "x", None);
        }
        assert!(matches!(
            slow.recv().await,
            Err(broadcast::error::RecvError::Lagged(1))
        ));
    }
}
