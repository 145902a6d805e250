//! The HTTP body of a streaming ChatKit response, fed by a thread actor's subscriber channel
//! (`actors::subscriber`).
//!
//! Frames go out as they come; while the turn is quiet a keep-alive comment is sent every
//! `server.sse_keep_alive_secs`; `End` closes the body. If the channel closes without the
//! actor's `End` (the actor died mid-turn), one final ChatKit `error` event is sent so the
//! widget does not wait forever.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use tokio::sync::mpsc;

use crate::actors::subscriber::SseMsg;
use crate::chatkit::sse::{KEEP_ALIVE, STREAM_ERROR_FRAME};

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
                Poll::Ready(Some(Ok(Bytes::from_static(STREAM_ERROR_FRAME))))
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
    use crate::actors::subscriber::{channel, offer};
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
        assert_eq!(body[1].as_ref().unwrap().as_ref(), STREAM_ERROR_FRAME);
    }

    #[tokio::test(start_paused = true)]
    async fn quiet_streams_get_keep_alive_comments() {
        let (tx, rx) = channel(4);
        let mut body = SseBody::new(rx, Duration::from_secs(15));
        let first = body.next().await.unwrap().unwrap();
        assert_eq!(first.as_ref(), KEEP_ALIVE);
        drop(tx);
    }
}
