//! The numbered events of one turn, kept so that any number of readers can follow the turn,
//! from its start or from a sequence number: the request that started it, a client that lost
//! its connection and resumes, a page that attaches after a reload.
//!
//! Protocol: the thread's actor is the only writer. [`TurnLog::push`] gives each SSE frame the
//! next sequence number (1, 2, ...) and keeps the newest `capacity` frames; [`TurnLog::end`]
//! marks the turn over (no frame comes after it). A reader asks for the frames after the last
//! number it has ([`TurnLog::read_after`]) and, when there are none yet, waits for the log to
//! change ([`TurnLog::watch`]): every push and the end bump a version on a watch channel, so a
//! change between a read and the wait is never missed. A reader that fell behind the oldest
//! kept frame gets [`Read::Gap`] and must not pretend the stream is whole.
//!
//! A log outlives its turn for `turns.retention_secs` so a client can still fetch the tail; the
//! registry's index drops it after that (see `registry.rs`).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::watch;

/// What a reader gets.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// Frames after the cursor, oldest first, with their sequence numbers.
    Frames(Vec<(u64, Bytes)>),
    /// Nothing new yet; wait on [`TurnLog::watch`].
    Waiting,
    /// The turn is over and the reader has everything.
    Ended,
    /// Frames after the cursor were already dropped from the buffer.
    Gap,
}

struct State {
    /// The newest frames; `frames[0]` has sequence number `first_seq`.
    frames: VecDeque<Bytes>,
    first_seq: u64,
    ended_at: Option<Instant>,
}

/// One turn's log; shared as `Arc<TurnLog>` by its actor, the registry's index and readers.
pub struct TurnLog {
    pub turn_id: String,
    pub thread_id: String,
    /// The thread's owner: the only principal who may read or cancel the turn.
    pub user_id: String,
    capacity: usize,
    state: Mutex<State>,
    version: watch::Sender<u64>,
    readers: AtomicUsize,
}

impl TurnLog {
    pub fn new(turn_id: String, thread_id: String, user_id: String, capacity: usize) -> Self {
        Self {
            turn_id,
            thread_id,
            user_id,
            capacity: capacity.max(1),
            state: Mutex::new(State {
                frames: VecDeque::new(),
                first_seq: 1,
                ended_at: None,
            }),
            version: watch::Sender::new(0),
            readers: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing is left half-done under this lock: a poisoned state is still consistent.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends a frame and returns its sequence number; a frame after the end is dropped
    /// (and gets 0).
    pub fn push(&self, frame: Bytes) -> u64 {
        let seq = {
            let mut s = self.lock();
            if s.ended_at.is_some() {
                return 0;
            }
            s.frames.push_back(frame);
            if s.frames.len() > self.capacity {
                s.frames.pop_front();
                s.first_seq += 1;
            }
            s.first_seq + s.frames.len() as u64 - 1
        };
        self.version.send_modify(|v| *v += 1);
        seq
    }

    /// Marks the turn over; idempotent.
    pub fn end(&self) {
        {
            let mut s = self.lock();
            if s.ended_at.is_some() {
                return;
            }
            s.ended_at = Some(Instant::now());
        }
        self.version.send_modify(|v| *v += 1);
    }

    /// The frames after sequence number `after`.
    pub fn read_after(&self, after: u64) -> Read {
        let s = self.lock();
        let next = s.first_seq + s.frames.len() as u64;
        if after + 1 < s.first_seq {
            return Read::Gap;
        }
        if after + 1 >= next {
            return if s.ended_at.is_some() {
                Read::Ended
            } else {
                Read::Waiting
            };
        }
        let skip = usize::try_from(after + 1 - s.first_seq).unwrap_or(usize::MAX);
        let frames = s
            .frames
            .iter()
            .enumerate()
            .skip(skip)
            .map(|(i, f)| (s.first_seq + i as u64, f.clone()))
            .collect();
        Read::Frames(frames)
    }

    /// A receiver that changes on every push and on the end. Mark it seen
    /// (`borrow_and_update`) before reading, then wait with `changed()`.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// The number of the newest frame (0 before the first).
    pub fn last_seq(&self) -> u64 {
        let s = self.lock();
        s.first_seq + s.frames.len() as u64 - 1
    }

    /// When the turn ended, if it has.
    pub fn ended_at(&self) -> Option<Instant> {
        self.lock().ended_at
    }

    /// Counts a reader for the admin view while the returned guard lives.
    pub fn reader(&self) -> ReaderGuard<'_> {
        self.readers.fetch_add(1, Ordering::Relaxed);
        ReaderGuard(&self.readers)
    }

    /// How many readers follow the log now.
    pub fn readers(&self) -> usize {
        self.readers.load(Ordering::Relaxed)
    }
}

/// Decrements the reader count when dropped.
pub struct ReaderGuard<'a>(&'a AtomicUsize);

impl Drop for ReaderGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(capacity: usize) -> TurnLog {
        TurnLog::new("trn_1".into(), "thr_1".into(), "u".into(), capacity)
    }

    fn frame(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn frames_are_numbered_and_read_after_a_cursor() {
        let l = log(10);
        assert_eq!(l.read_after(0), Read::Waiting);
        assert_eq!(l.push(frame("a")), 1);
        assert_eq!(l.push(frame("b")), 2);
        assert_eq!(l.push(frame("c")), 3);
        assert_eq!(
            l.read_after(1),
            Read::Frames(vec![(2, frame("b")), (3, frame("c"))])
        );
        assert_eq!(l.read_after(3), Read::Waiting);
        l.end();
        assert_eq!(l.read_after(3), Read::Ended);
        assert_eq!(l.push(frame("late")), 0, "nothing after the end");
        assert_eq!(l.last_seq(), 3);
    }

    #[test]
    fn a_reader_behind_the_buffer_gets_a_gap() {
        let l = log(2);
        for f in ["a", "b", "c", "d"] {
            l.push(frame(f));
        }
        assert_eq!(l.read_after(1), Read::Gap);
        assert_eq!(
            l.read_after(2),
            Read::Frames(vec![(3, frame("c")), (4, frame("d"))])
        );
    }

    #[tokio::test]
    async fn a_change_between_read_and_wait_is_not_missed() {
        let l = std::sync::Arc::new(log(10));
        let mut rx = l.watch();
        rx.borrow_and_update();
        assert_eq!(l.read_after(0), Read::Waiting);
        // The push lands after the read and before the wait.
        l.push(frame("a"));
        tokio::time::timeout(std::time::Duration::from_secs(1), rx.changed())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(l.read_after(0), Read::Frames(vec![(1, frame("a"))]));
    }

    #[test]
    fn readers_are_counted_while_their_guards_live() {
        let l = log(1);
        let a = l.reader();
        let b = l.reader();
        assert_eq!(l.readers(), 2);
        drop(a);
        drop(b);
        assert_eq!(l.readers(), 0);
    }
}
