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

use tokio::sync::{broadcast, mpsc};

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

/// The sending end; cheap to clone.
#[derive(Clone, Debug)]
pub struct DomainBus {
    tx: mpsc::UnboundedSender<DomainChange>,
    feed: broadcast::Sender<DomainChange>,
}

impl DomainBus {
    /// A bus and the receiving end the registry drains.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<DomainChange>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (feed, _) = broadcast::channel(FEED_CAPACITY);
        (Self { tx, feed }, rx)
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
        // No feed reader is not an error: the pages are optional.
        let _ = self.feed.send(change.clone());
        // After shutdown nobody listens, and there is no live thread to tell.
        let _ = self.tx.send(change);
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
