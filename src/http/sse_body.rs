//! The HTTP body of a streaming ChatKit response: one reader of a turn's [`TurnLog`].
//!
//! Each event goes out as the SSE comment `: seq=N` followed by its `data:` frame, unchanged
//! (`: seq=7\n\ndata: {...}\n\n`; every SSE parser ignores comments, and a client that resumes
//! sends the last `N` it saw). While the turn is quiet a `: keep-alive` comment goes out every
//! `server.sse_keep_alive_secs`. The body ends when the turn's log ends. A reader that fell
//! behind the log's buffer gets one ChatKit `error` event instead of a stream with a hole, and
//! so does one whose log ends without the turn's end.
//!
//! The body of the request that started a turn carries a [`ClientGone`] guard: dropped while
//! the turn still runs (the client aborted the fetch, closed the tab or lost the network),
//! it tells the thread's actor, which cancels the turn or lets it run on, by the turn's
//! disconnect policy.
//!
//! The body of an attach ([`attached_body`]) starts with the snapshot of the turn's
//! unfinished items (`actors::attach`) and then reads the log after the snapshot's number.
//! The snapshot's frames go out as they are, with no `: seq=N`: they are not in the log, so
//! no number could resume them. The first `: seq=N` is the tail's, and a client that resumes
//! with the last number it saw gets exactly the rest; one that lost the stream before any
//! number attaches again. An attach's body has no [`ClientGone`] guard: the attaching page
//! does not own the turn, and its leaving stops nothing.

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures::Stream;

use crate::actors::turn_log::{Read, TurnLog};
use crate::chatkit::sse::{KEEP_ALIVE, STREAM_ERROR_FRAME};

/// Told when the body of the starting request is dropped before its turn ended.
pub struct ClientGone(Option<Box<dyn FnOnce() + Send>>);

impl ClientGone {
    pub fn new(on_gone: impl FnOnce() + Send + 'static) -> Self {
        Self(Some(Box::new(on_gone)))
    }
}

struct Reader {
    /// Sent before the log's frames (an attach's snapshot), unnumbered.
    snapshot: Option<Bytes>,
    log: Arc<TurnLog>,
    after: u64,
    version: tokio::sync::watch::Receiver<u64>,
    keep_alive: tokio::time::Interval,
    done: bool,
    gone: Option<ClientGone>,
    _counted: crate::actors::turn_log::ReaderGuard,
}

impl Drop for Reader {
    fn drop(&mut self) {
        if self.log.ended_at().is_none()
            && let Some(mut gone) = self.gone.take()
            && let Some(f) = gone.0.take()
        {
            f();
        }
    }
}

/// Appends `: seq=N`, then the frame, to `out`.
fn put_numbered(out: &mut BytesMut, seq: u64, frame: &[u8]) {
    out.put_slice(b": seq=");
    out.put_slice(seq.to_string().as_bytes());
    out.put_slice(b"\n\n");
    out.put_slice(frame);
}

/// The frames of `log` after sequence number `after`, then the live tail, as an HTTP body.
pub fn sse_body(
    log: Arc<TurnLog>,
    after: u64,
    keep_alive: Duration,
    gone: Option<ClientGone>,
) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + 'static {
    read(None, log, after, keep_alive, gone)
}

/// An attach's body: the `snapshot` frames, unnumbered and in one chunk, then the frames of
/// `log` after `after` (the number the snapshot reflects) and the live tail.
pub fn attached_body(
    snapshot: Vec<Bytes>,
    log: Arc<TurnLog>,
    after: u64,
    keep_alive: Duration,
) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + 'static {
    let snapshot = (!snapshot.is_empty()).then(|| snapshot.concat().into());
    read(snapshot, log, after, keep_alive, None)
}

fn read(
    snapshot: Option<Bytes>,
    log: Arc<TurnLog>,
    after: u64,
    keep_alive: Duration,
    gone: Option<ClientGone>,
) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + 'static {
    let period = keep_alive.max(Duration::from_millis(100));
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let reader = Reader {
        snapshot,
        version: log.watch(),
        _counted: log.reader(),
        log,
        after,
        keep_alive: interval,
        done: false,
        gone,
    };
    futures::stream::unfold(reader, |mut r| async move {
        if r.done {
            return None;
        }
        if let Some(snapshot) = r.snapshot.take() {
            return Some((Ok(snapshot), r));
        }
        loop {
            // Seen before the read: a push between the read and the wait wakes the wait.
            r.version.borrow_and_update();
            match r.log.read_after(r.after) {
                Read::Frames(frames) => {
                    let len = frames.iter().map(|(_, f)| f.len() + 24).sum();
                    let mut chunk = BytesMut::with_capacity(len);
                    for (seq, frame) in frames {
                        put_numbered(&mut chunk, seq, &frame);
                        r.after = seq;
                    }
                    r.keep_alive.reset();
                    return Some((Ok(chunk.freeze()), r));
                }
                Read::Ended => return None,
                Read::Gap => {
                    crate::metrics::global().turn_replay_misses.inc();
                    r.done = true;
                    return Some((Ok(Bytes::from_static(STREAM_ERROR_FRAME)), r));
                }
                Read::Waiting => {}
            }
            tokio::select! {
                // The sender lives in the log this reader holds, so the wait cannot fail; an
                // actor that dies ends the log itself (`ThreadActor::close_logs`).
                _ = r.version.changed() => {}
                _ = r.keep_alive.tick() => {
                    return Some((Ok(Bytes::from_static(KEEP_ALIVE)), r));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use futures::StreamExt;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn log() -> Arc<TurnLog> {
        Arc::new(TurnLog::new("trn_1".into(), "thr_1".into(), "u".into(), 8))
    }

    async fn collect(body: impl Stream<Item = Result<Bytes, std::convert::Infallible>>) -> String {
        let parts: Vec<_> = body.collect().await;
        parts
            .into_iter()
            .map(|p| String::from_utf8(p.unwrap().to_vec()).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn frames_are_numbered_and_the_end_closes_the_body() {
        let l = log();
        l.push(Bytes::from_static(b"data: {\"a\":1}\n\n"));
        l.push(Bytes::from_static(b"data: {\"b\":2}\n\n"));
        l.end();
        let body = collect(sse_body(l, 0, Duration::from_secs(60), None)).await;
        assert_eq!(
            body,
            ": seq=1\n\ndata: {\"a\":1}\n\n: seq=2\n\ndata: {\"b\":2}\n\n"
        );
    }

    #[tokio::test]
    async fn a_resume_starts_after_the_given_number() {
        let l = log();
        for f in ["data: 1\n\n", "data: 2\n\n", "data: 3\n\n"] {
            l.push(Bytes::from_static(f.as_bytes()));
        }
        l.end();
        let body = collect(sse_body(l, 2, Duration::from_secs(60), None)).await;
        assert_eq!(body, ": seq=3\n\ndata: 3\n\n");
    }

    #[tokio::test]
    async fn a_reader_behind_the_buffer_gets_one_error_event() {
        let l = Arc::new(TurnLog::new("t".into(), "th".into(), "u".into(), 1));
        l.push(Bytes::from_static(b"data: 1\n\n"));
        l.push(Bytes::from_static(b"data: 2\n\n"));
        let body = collect(sse_body(l, 0, Duration::from_secs(60), None)).await;
        assert_eq!(body.as_bytes(), STREAM_ERROR_FRAME);
    }

    #[tokio::test(start_paused = true)]
    async fn quiet_turns_get_keep_alive_comments_and_live_frames_follow() {
        let l = log();
        let mut body = Box::pin(sse_body(l.clone(), 0, Duration::from_secs(15), None));
        let first = body.next().await.unwrap().unwrap();
        assert_eq!(first.as_ref(), KEEP_ALIVE);
        l.push(Bytes::from_static(b"data: x\n\n"));
        let next = body.next().await.unwrap().unwrap();
        assert_eq!(next.as_ref(), b": seq=1\n\ndata: x\n\n");
        l.end();
        assert!(body.next().await.is_none());
    }

    #[tokio::test]
    async fn an_attach_sends_its_snapshot_unnumbered_then_the_tail_after_its_number() {
        let l = log();
        for f in ["data: 1\n\n", "data: 2\n\n"] {
            l.push(Bytes::from_static(f.as_bytes()));
        }
        let snapshot = vec![
            Bytes::from_static(b"data: a\n\n"),
            Bytes::from_static(b"data: b\n\n"),
        ];
        let mut body = Box::pin(attached_body(
            snapshot,
            l.clone(),
            2,
            Duration::from_secs(60),
        ));
        let first = body.next().await.unwrap().unwrap();
        assert_eq!(first.as_ref(), b"data: a\n\ndata: b\n\n");
        l.push(Bytes::from_static(b"data: 3\n\n"));
        l.end();
        let rest: String = collect(body).await;
        assert_eq!(rest, ": seq=3\n\ndata: 3\n\n");
        // Nothing to snapshot: the body is the tail alone.
        let body = collect(attached_body(vec![], l, 1, Duration::from_secs(60))).await;
        assert_eq!(body, ": seq=2\n\ndata: 2\n\n: seq=3\n\ndata: 3\n\n");
    }

    #[tokio::test]
    async fn dropping_the_body_of_a_running_turn_tells_the_actor_once() {
        let told = Arc::new(AtomicBool::new(false));
        let flag = told.clone();
        let l = log();
        let body = sse_body(
            l.clone(),
            0,
            Duration::from_secs(60),
            Some(ClientGone::new(move || flag.store(true, Ordering::SeqCst))),
        );
        drop(body);
        assert!(told.load(Ordering::SeqCst));
        // After the end, dropping tells nobody.
        let told_after = Arc::new(AtomicBool::new(false));
        let flag = told_after.clone();
        l.end();
        let body = sse_body(
            l,
            0,
            Duration::from_secs(60),
            Some(ClientGone::new(move || flag.store(true, Ordering::SeqCst))),
        );
        drop(body);
        assert!(!told_after.load(Ordering::SeqCst));
    }
}
