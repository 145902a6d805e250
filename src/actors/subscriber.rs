//! SSE subscribers: the bounded channel between a thread actor and one HTTP response.
//!
//! The actor `try_send`s frames and drops a subscriber that is gone or too slow; it never
//! awaits a client. The response side ([`SseBody`]) turns the channel into the HTTP body:
//! frames as they come, a keep-alive comment while the turn is quiet, and, if the channel
//! closes without the actor's `End` (the actor died mid-turn), one final ChatKit
//! `error` event so the widget does not wait forever.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
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

const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";
const ABORTED: &[u8] =
    b"data: {\"type\":\"error\",\"code\":\"stream.error\",\"allow_retry\":true}\n\n";

/// The HTTP body of a streaming response.
pub struct SseBody {
    rx: mpsc::Receiver<SseMsg>,
    keep_alive: tokio::time::Interval,
    done: bool,
}

impl SseBody {
    pub fn new(rx: mpsc::Receiver<SseMsg>, keep_alive: Duration) -> Self {
        let period = keep_alive.max(Duration::from_millis(100));
        let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            rx,
            keep_alive: interval,
            done: false,
        }
    }
}

impl Stream for SseBody {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(SseMsg::Frame(bytes))) => {
                self.keep_alive.reset();
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(Some(SseMsg::End)) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(Some(Ok(Bytes::from_static(ABORTED))))
            }
            Poll::Pending => match self.keep_alive.poll_tick(cx) {
                Poll::Ready(_) => Poll::Ready(Some(Ok(Bytes::from_static(KEEP_ALIVE)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn frames_then_end_close_the_body_cleanly() {
        let (tx, rx) = channel(4);
        assert!(offer(
            &tx,
            SseMsg::Frame(Bytes::from_static(b"data: {}\n\n"))
        ));
        assert!(offer(&tx, SseMsg::End));
        let body: Vec<_> = SseBody::new(rx, Duration::from_secs(60)).collect().await;
        assert_eq!(body.len(), 1);
    }

    #[tokio::test]
    async fn a_vanished_actor_yields_one_error_event() {
        let (tx, rx) = channel(4);
        assert!(offer(
            &tx,
            SseMsg::Frame(Bytes::from_static(b"data: {}\n\n"))
        ));
        drop(tx);
        let body: Vec<_> = SseBody::new(rx, Duration::from_secs(60)).collect().await;
        assert_eq!(body.len(), 2);
        assert_eq!(body[1].as_ref().unwrap().as_ref(), ABORTED);
    }

    #[tokio::test(start_paused = true)]
    async fn quiet_streams_get_keep_alive_comments() {
        let (tx, rx) = channel(4);
        let mut body = SseBody::new(rx, Duration::from_secs(15));
        let first = body.next().await.unwrap().unwrap();
        assert_eq!(first.as_ref(), KEEP_ALIVE);
        drop(tx);
    }

    #[test]
    fn a_full_subscriber_is_refused_not_awaited() {
        let (tx, _rx) = channel(1);
        assert!(offer(&tx, SseMsg::End));
        assert!(!offer(&tx, SseMsg::End));
    }
}
