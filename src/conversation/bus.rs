//! The domain bus: how a turn tells the other live threads that data their context covers
//! changed (a tool confirmed an element, sent a message, ...).
//!
//! A turn only sends a [`DomainChange`] down a channel and goes on; the receiving end
//! belongs to the actor registry (`actors::registry`), which hands each change to the
//! venue's supervisor, which invalidates the context of the threads that cover the event.
//! A channel, not a handle on the registry, so that nothing the registry owns points back at
//! it: the registry can be shut down, and once it is, publishing is a no-op.

use tokio::sync::mpsc;

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
}

impl DomainBus {
    /// A bus and the receiving end the registry drains.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<DomainChange>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, rx)
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
        // After shutdown nobody listens, and there is no live thread to tell.
        let _ = self.tx.send(change);
    }
}
