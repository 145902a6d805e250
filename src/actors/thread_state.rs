//! The conversation rules of one live thread, as plain state: no actix, database or network.
//!
//! A thread runs one turn at a time. An input that arrives while a turn runs waits in a
//! bounded FIFO queue; beyond the bound it is refused (the caller answers HTTP 429). When a
//! turn ends, the next queued input starts. A cancelled turn ends like any other. The actor
//! (`thread_actor`) performs the effects these transitions call for.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// What the thread is doing, for the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    Idle,
    Running,
    /// Idle, but the last turn ended with a client tool call the client has to answer.
    AwaitingTool,
}

/// The outcome of submitting an input.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission<T> {
    /// Nothing was running: start this input now.
    StartNow(T),
    /// Queued behind the running turn, at this position (1 = next).
    Queued(usize),
    /// The queue is full; the input is handed back.
    Rejected(T),
}

/// When a thread was last active, readable without asking its actor: the supervisor's idle
/// sweep reads it for every live thread and asks only the actors idle past the TTL (asking
/// all of them, a message and a reply each, once a minute, was a cost that grew with the
/// number of live threads: issue #18's million idle actors). Milliseconds since the process's
/// first use of it; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct LastActive(Arc<AtomicU64>);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl LastActive {
    fn set(&self, at: Instant) {
        let ms =
            u64::try_from(at.saturating_duration_since(epoch()).as_millis()).unwrap_or(u64::MAX);
        self.0.store(ms, Ordering::Relaxed);
    }

    /// How long the thread has been inactive at `now` (never negative).
    pub fn idle_for(&self, now: Instant) -> Duration {
        let at = epoch() + Duration::from_millis(self.0.load(Ordering::Relaxed));
        now.saturating_duration_since(at)
    }
}

/// Queue and turn bookkeeping of a thread. `T` is whatever describes an input.
#[derive(Debug)]
pub struct ThreadState<T> {
    running: bool,
    queue: VecDeque<T>,
    bound: usize,
    awaiting_tool: bool,
    last_activity: Instant,
    /// `last_activity`, for the supervisor.
    shared: LastActive,
    turns_started: u64,
}

impl<T> ThreadState<T> {
    pub fn new(bound: usize, now: Instant) -> Self {
        Self::with_last_active(bound, now, LastActive::default())
    }

    /// [`Self::new`], publishing its activity in `shared`.
    pub fn with_last_active(bound: usize, now: Instant, shared: LastActive) -> Self {
        shared.set(now);
        Self {
            running: false,
            queue: VecDeque::new(),
            bound,
            awaiting_tool: false,
            last_activity: now,
            shared,
            turns_started: 0,
        }
    }

    fn mark(&mut self, now: Instant) {
        self.last_activity = now;
        self.shared.set(now);
    }

    /// Offers an input.
    pub fn submit(&mut self, input: T, now: Instant) -> Admission<T> {
        self.mark(now);
        if !self.running {
            self.running = true;
            self.awaiting_tool = false;
            self.turns_started += 1;
            return Admission::StartNow(input);
        }
        if self.queue.len() >= self.bound {
            return Admission::Rejected(input);
        }
        self.queue.push_back(input);
        Admission::Queued(self.queue.len())
    }

    /// The running turn ended (completed, failed or cancelled). Returns the next input to
    /// start, if one was waiting. `awaiting_tool` says whether the turn ended on a pending
    /// client tool call.
    pub fn finish(&mut self, awaiting_tool: bool, now: Instant) -> Option<T> {
        self.mark(now);
        self.awaiting_tool = awaiting_tool;
        match self.queue.pop_front() {
            Some(next) => {
                self.running = true;
                self.awaiting_tool = false;
                self.turns_started += 1;
                Some(next)
            }
            None => {
                self.running = false;
                None
            }
        }
    }

    /// Takes the first waiting input that matches (a cancel of a queued turn).
    pub fn remove_queued(&mut self, pred: impl Fn(&T) -> bool) -> Option<T> {
        let i = self.queue.iter().position(pred)?;
        self.queue.remove(i)
    }

    /// The first waiting input that matches.
    pub fn find_queued(&self, pred: impl Fn(&T) -> bool) -> Option<&T> {
        self.queue.iter().find(|q| pred(q))
    }

    /// Drops every waiting input (the thread is stopping) and returns them.
    pub fn drain_queue(&mut self) -> Vec<T> {
        self.queue.drain(..).collect()
    }

    /// Records activity that is not a turn (a read or a title change).
    pub fn touch(&mut self, now: Instant) {
        self.mark(now);
    }

    /// Whether the thread may be evicted at `now` given the idle time-to-live.
    pub fn is_idle_past(&self, now: Instant, ttl: std::time::Duration) -> bool {
        !self.running
            && self.queue.is_empty()
            && now.saturating_duration_since(self.last_activity) >= ttl
    }

    pub fn activity(&self) -> Activity {
        if self.running {
            Activity::Running
        } else if self.awaiting_tool {
            Activity::AwaitingTool
        } else {
            Activity::Idle
        }
    }

    pub fn queue_depth(&self) -> usize {
        self.queue.len()
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    pub fn last_activity(&self) -> Instant {
        self.last_activity
    }

    pub fn turns_started(&self) -> u64 {
        self.turns_started
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_activity_follows_every_change_of_the_state() {
        let t0 = Instant::now();
        let shared = LastActive::default();
        let mut s = ThreadState::with_last_active(1, t0, shared.clone());
        let later = |secs| t0 + Duration::from_secs(secs);
        // Millisecond resolution: a second is exact enough for an idle TTL.
        assert!(shared.idle_for(later(10)) >= Duration::from_secs(9));
        assert_eq!(s.submit("a", later(20)), Admission::StartNow("a"));
        assert!(shared.idle_for(later(20)) < Duration::from_secs(1));
        assert_eq!(s.finish(false, later(30)), None);
        let idle = shared.idle_for(later(100));
        assert!(
            idle >= Duration::from_secs(69) && idle < Duration::from_secs(71),
            "{idle:?}"
        );
        s.touch(later(100));
        assert!(shared.idle_for(later(100)) < Duration::from_secs(1));
        // Before the last activity (a clock read earlier on another thread): zero, not a panic.
        assert_eq!(shared.idle_for(t0), Duration::ZERO);
    }

    #[test]
    fn first_input_starts_and_later_ones_queue_in_order() {
        let t0 = Instant::now();
        let mut s = ThreadState::new(2, t0);
        assert_eq!(s.submit("a", t0), Admission::StartNow("a"));
        assert_eq!(s.activity(), Activity::Running);
        assert_eq!(s.submit("b", t0), Admission::Queued(1));
        assert_eq!(s.submit("c", t0), Admission::Queued(2));
        assert_eq!(s.submit("d", t0), Admission::Rejected("d"));
        assert_eq!(s.queue_depth(), 2);
        assert_eq!(s.finish(false, t0), Some("b"));
        assert_eq!(s.finish(false, t0), Some("c"));
        assert_eq!(s.finish(false, t0), None);
        assert_eq!(s.activity(), Activity::Idle);
        assert_eq!(s.turns_started(), 3);
    }

    #[test]
    fn a_turn_ending_on_a_client_tool_call_awaits_the_tool() {
        let t0 = Instant::now();
        let mut s = ThreadState::new(1, t0);
        assert_eq!(s.submit(1, t0), Admission::StartNow(1));
        assert_eq!(s.finish(true, t0), None);
        assert_eq!(s.activity(), Activity::AwaitingTool);
        // The tool output is the next input and clears the wait.
        assert_eq!(s.submit(2, t0), Admission::StartNow(2));
        assert_eq!(s.activity(), Activity::Running);
    }

    #[test]
    fn failure_or_cancel_frees_the_thread_for_the_next_input() {
        let t0 = Instant::now();
        let mut s = ThreadState::new(1, t0);
        let _ = s.submit("x", t0);
        assert_eq!(s.submit("y", t0), Admission::Queued(1));
        // A failed or cancelled turn ends the same way: the queued input runs next.
        assert_eq!(s.finish(false, t0), Some("y"));
        assert!(s.is_running());
        assert_eq!(s.finish(false, t0), None);
        assert!(!s.is_running());
    }

    #[test]
    fn idleness_is_judged_from_the_given_clock() {
        let t0 = Instant::now();
        let ttl = Duration::from_secs(60);
        let mut s = ThreadState::new(1, t0);
        assert!(!s.is_idle_past(t0 + Duration::from_secs(59), ttl));
        assert!(s.is_idle_past(t0 + Duration::from_secs(60), ttl));
        let _ = s.submit((), t0);
        assert!(
            !s.is_idle_past(t0 + Duration::from_secs(3600), ttl),
            "running is never idle"
        );
        let _ = s.finish(false, t0 + Duration::from_secs(10));
        assert!(!s.is_idle_past(t0 + Duration::from_secs(69), ttl));
        assert!(s.is_idle_past(t0 + Duration::from_secs(70), ttl));
        s.touch(t0 + Duration::from_secs(100));
        assert!(!s.is_idle_past(t0 + Duration::from_secs(150), ttl));
    }

    #[test]
    fn a_queued_input_can_be_taken_out() {
        let t0 = Instant::now();
        let mut s = ThreadState::new(3, t0);
        let _ = s.submit(1, t0);
        let _ = s.submit(2, t0);
        let _ = s.submit(3, t0);
        assert_eq!(s.find_queued(|q| *q == 3), Some(&3));
        assert_eq!(s.remove_queued(|q| *q == 2), Some(2));
        assert_eq!(s.remove_queued(|q| *q == 1), None, "running, not queued");
        assert_eq!(s.finish(false, t0), Some(3));
    }

    #[test]
    fn draining_hands_back_waiting_inputs() {
        let t0 = Instant::now();
        let mut s = ThreadState::new(3, t0);
        let _ = s.submit(1, t0);
        let _ = s.submit(2, t0);
        let _ = s.submit(3, t0);
        assert_eq!(s.drain_queue(), vec![2, 3]);
        assert_eq!(s.queue_depth(), 0);
    }
}
