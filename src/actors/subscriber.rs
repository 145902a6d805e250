//! SSE subscribers: the bounded channel between a thread actor and one HTTP response.
//!
//! The actor `try_send`s frames and drops a subscriber that is gone or too slow; it never
//! awaits a client. The response side (`http::sse_body`) turns the channel into the HTTP
//! body.

use bytes::Bytes;
use tokio::sync::mpsc;

/// What flows from an actor to one response.
#[derive(Debug, Clone)]
pub enum SseMsg {
    /// One complete SSE frame (`data: ...\n\n`).
    Frame(Bytes),
    /// The turn this subscriber waited for is over; close the body.
    End,
}

pub type Subscriber = mpsc::Sender<SseMsg>;

/// A subscriber channel of the configured depth.
pub fn channel(buffer: usize) -> (Subscriber, mpsc::Receiver<SseMsg>) {
    mpsc::channel(buffer.max(1))
}

/// Sends without waiting; `false` means the subscriber is gone or too slow and is dropped.
pub fn offer(sub: &Subscriber, msg: SseMsg) -> bool {
    sub.try_send(msg).is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_full_subscriber_is_refused_not_awaited() {
        let (tx, _rx) = channel(1);
        assert!(offer(&tx, SseMsg::End));
        assert!(!offer(&tx, SseMsg::End));
    }
}
