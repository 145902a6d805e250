//! The idempotency keys of sends: `(user id, key) -> the first send's turn`, so that a repeat
//! of a send (a client's retry after a lost response, a double click) creates nothing and
//! attaches to the turn the first one started.
//!
//! Protocol: a send with a key calls [`SendKeys::claim`] before it writes anything. The claim
//! is one atomic step on the map's entry (a shard lock, never held across an await):
//!
//! - no entry (or an expired one): the send is the first and gets a [`SendGuard`]; the entry
//!   is "being started". Once its turn is queued the send calls [`SendGuard::started`], which
//!   records the turn and wakes every duplicate waiting. A guard dropped before that (the send
//!   failed validation, the thread is busy, the request future was dropped) removes the entry:
//!   the waiting duplicates then claim again, so one of them becomes the first and runs the
//!   checks itself (the same body fails the same way; a transient failure gets its retry).
//! - an entry "being started": the duplicate waits (at most [`START_WAIT`]) for the outcome.
//! - an entry "started": the duplicate gets [`Claim::Repeat`] with the first send's turn.
//!
//! The map is this process's memory. A send the previous process (or, in a cluster, another
//! node) took is found in the store instead: its message carries the key in its server
//! metadata (`store::items::SEND_KEY`), and `http::chatkit::idempotency` looks there when
//! this map cannot know every key of the window.
//!
//! A key names one send: a repeat aimed elsewhere (a create after a message, a message to
//! another thread) is a 409. Entries live `turns.idempotency_window_secs` after their turn was
//! queued; the registry's sweep drops them (and a claim replaces an expired one it meets).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use dashmap::mapref::entry::Entry as MapEntry;
use tokio::sync::watch;

use crate::error::ApiError;

/// How long a duplicate waits for the first send to queue its turn. Starting a turn takes a
/// few store round trips and an actor start; far longer means the first send is stuck, and
/// the duplicate is told to try again rather than held open.
pub const START_WAIT: Duration = Duration::from_secs(10);

/// What a send is aimed at; a key names one send, so a repeat must aim at the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `threads.create`.
    NewThread,
    /// `threads.add_user_message` to this thread.
    Thread(String),
}

/// The first send's turn, as a repeat finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorSend {
    pub turn_id: String,
    pub thread_id: String,
}

/// The outcome of a claim.
#[derive(Debug)]
pub enum Claim {
    /// No send with this key is known: go ahead, and report the turn with the guard.
    First(SendGuard),
    /// The key's first send started this turn.
    Repeat(PriorSend),
}

type Key = (String, String);

struct Entry {
    target: Target,
    /// Tells a guard's entry from a later one under the same key.
    generation: u64,
    /// `None` while the first send is being started.
    outcome: watch::Sender<Option<PriorSend>>,
    started_at: Option<Instant>,
}

struct Inner {
    map: DashMap<Key, Entry>,
    /// When this map started: before a whole window has passed, a key may have been claimed
    /// by the previous process, whose map is gone.
    created: Instant,
    window: Duration,
    wait: Duration,
    next: AtomicU64,
}

/// Cheap to clone; owned by the registry.
#[derive(Clone)]
pub struct SendKeys {
    inner: Arc<Inner>,
}

/// What one pass over the entry decided.
enum Step {
    Done(Claim),
    Wait(watch::Receiver<Option<PriorSend>>),
}

impl SendKeys {
    /// Keys remembered for `window`; duplicates wait up to `wait` for a first send.
    pub fn new(window: Duration, wait: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                map: DashMap::new(),
                created: Instant::now(),
                window,
                wait,
                next: AtomicU64::new(0),
            }),
        }
    }

    /// Whether every key still inside the window was claimed in this map: false during the
    /// first window after start (a send of the previous process is known only to the store).
    pub fn covers_window(&self) -> bool {
        self.inner.created.elapsed() >= self.inner.window
    }

    /// Claims `key` of `user_id` for a send aimed at `target` (see the module doc).
    ///
    /// Errors: 409 `conflict` when the key's first send was aimed elsewhere, or when it is
    /// still being started after the wait.
    pub async fn claim(&self, user_id: &str, key: &str, target: Target) -> Result<Claim, ApiError> {
        let key: Key = (user_id.to_owned(), key.to_owned());
        let deadline = tokio::time::Instant::now() + self.inner.wait;
        loop {
            let mut outcome = match self.step(&key, &target)? {
                Step::Done(claim) => return Ok(claim),
                Step::Wait(rx) => rx,
            };
            match tokio::time::timeout_at(deadline, outcome.wait_for(Option::is_some)).await {
                Ok(Ok(prior)) => {
                    if let Some(prior) = prior.clone() {
                        return Ok(Claim::Repeat(prior));
                    }
                }
                // The first send gave up before its turn was queued: claim again.
                Ok(Err(_)) => {}
                Err(_) => {
                    return Err(ApiError::Conflict(format!(
                        "a send with idempotency key {:?} is still being started; try again in a moment",
                        key.1
                    )));
                }
            }
        }
    }

    fn step(&self, key: &Key, target: &Target) -> Result<Step, ApiError> {
        // `entry` holds the shard's lock: two sends of one key cannot both become the first.
        match self.inner.map.entry(key.clone()) {
            MapEntry::Vacant(v) => {
                let (entry, guard) = self.fresh(key, target);
                v.insert(entry);
                Ok(Step::Done(Claim::First(guard)))
            }
            MapEntry::Occupied(mut o) => {
                let e = o.get();
                if e.started_at
                    .is_some_and(|at| at.elapsed() >= self.inner.window)
                {
                    let (entry, guard) = self.fresh(key, target);
                    o.insert(entry);
                    return Ok(Step::Done(Claim::First(guard)));
                }
                if e.target != *target {
                    return Err(ApiError::Conflict(format!(
                        "idempotency key {:?} was already used for a different request",
                        key.1
                    )));
                }
                let prior = e.outcome.borrow().clone();
                Ok(match prior {
                    Some(prior) => Step::Done(Claim::Repeat(prior)),
                    None => Step::Wait(e.outcome.subscribe()),
                })
            }
        }
    }

    fn fresh(&self, key: &Key, target: &Target) -> (Entry, SendGuard) {
        let generation = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let entry = Entry {
            target: target.clone(),
            generation,
            outcome: watch::Sender::new(None),
            started_at: None,
        };
        let guard = SendGuard {
            inner: self.inner.clone(),
            key: key.clone(),
            generation,
            started: false,
        };
        (entry, guard)
    }

    /// Forgets `key` of `user_id` if it still names `turn_id`: that turn stored nothing (it
    /// was cancelled while queued), so the next claim runs as a first send.
    pub fn release(&self, user_id: &str, key: &str, turn_id: &str) {
        let key: Key = (user_id.to_owned(), key.to_owned());
        self.inner.map.remove_if(&key, |_, e| {
            e.outcome
                .borrow()
                .as_ref()
                .is_some_and(|p| p.turn_id == turn_id)
        });
    }

    /// Drops the entries whose window has passed (those being started stay: their guard
    /// decides).
    pub fn sweep(&self) {
        let window = self.inner.window;
        self.inner
            .map
            .retain(|_, e| e.started_at.is_none_or(|at| at.elapsed() < window));
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.inner.map.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.inner.map.is_empty()
    }
}

/// The first send of a key; see [`SendGuard::started`]. Dropped without it, it releases the
/// key.
pub struct SendGuard {
    inner: Arc<Inner>,
    key: Key,
    generation: u64,
    started: bool,
}

impl std::fmt::Debug for SendGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendGuard")
            .field("key", &self.key)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl SendGuard {
    /// The send's turn is queued: repeats of the key attach to it from now on.
    pub fn started(mut self, prior: PriorSend) {
        self.started = true;
        if let Some(mut e) = self.inner.map.get_mut(&self.key)
            && e.generation == self.generation
        {
            e.started_at = Some(Instant::now());
            e.outcome.send_replace(Some(prior));
        }
    }
}

impl Drop for SendGuard {
    fn drop(&mut self) {
        if !self.started {
            // Removing the entry drops its sender: the waiting duplicates wake and claim again.
            let generation = self.generation;
            self.inner
                .map
                .remove_if(&self.key, |_, e| e.generation == generation);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn keys(window: Duration) -> SendKeys {
        SendKeys::new(window, Duration::from_millis(200))
    }

    fn prior(turn: &str) -> PriorSend {
        PriorSend {
            turn_id: turn.into(),
            thread_id: "thr_1".into(),
        }
    }

    async fn first(k: &SendKeys, user: &str, key: &str, target: Target) -> SendGuard {
        match k.claim(user, key, target).await.unwrap() {
            Claim::First(g) => g,
            Claim::Repeat(p) => panic!("a repeat of {p:?}"),
        }
    }

    async fn repeat(k: &SendKeys, user: &str, key: &str, target: Target) -> PriorSend {
        match k.claim(user, key, target).await.unwrap() {
            Claim::Repeat(p) => p,
            Claim::First(g) => panic!("a first send: {g:?}"),
        }
    }

    #[tokio::test]
    async fn a_repeat_after_the_start_gets_the_first_turn() {
        let k = keys(Duration::from_secs(60));
        first(&k, "u", "k1", Target::NewThread)
            .await
            .started(prior("trn_1"));
        assert_eq!(
            repeat(&k, "u", "k1", Target::NewThread).await,
            prior("trn_1")
        );
        // Keys are per user.
        drop(first(&k, "other", "k1", Target::NewThread).await);
    }

    #[tokio::test]
    async fn a_waiting_duplicate_gets_the_turn_once_it_is_queued() {
        let k = keys(Duration::from_secs(60));
        let guard = first(&k, "u", "k", Target::NewThread).await;
        let waiter = {
            let k = k.clone();
            tokio::spawn(async move { repeat(&k, "u", "k", Target::NewThread).await })
        };
        tokio::task::yield_now().await;
        guard.started(prior("trn_1"));
        assert_eq!(waiter.await.unwrap(), prior("trn_1"));
    }

    #[tokio::test]
    async fn a_first_send_that_fails_lets_a_waiting_duplicate_go_first() {
        let k = keys(Duration::from_secs(60));
        let guard = first(&k, "u", "k", Target::NewThread).await;
        let waiter = {
            let k = k.clone();
            tokio::spawn(async move { k.claim("u", "k", Target::NewThread).await })
        };
        tokio::task::yield_now().await;
        drop(guard);
        match waiter.await.unwrap().unwrap() {
            Claim::First(g) => g.started(prior("trn_2")),
            Claim::Repeat(p) => panic!("{p:?}"),
        }
        assert_eq!(
            repeat(&k, "u", "k", Target::NewThread).await,
            prior("trn_2")
        );
    }

    #[tokio::test]
    async fn a_released_key_goes_to_the_next_claim() {
        let k = keys(Duration::from_secs(60));
        first(&k, "u", "k", Target::NewThread)
            .await
            .started(prior("trn_1"));
        // A release naming another turn (a later first send's) changes nothing.
        k.release("u", "k", "trn_0");
        assert_eq!(
            repeat(&k, "u", "k", Target::NewThread).await,
            prior("trn_1")
        );
        k.release("u", "k", "trn_1");
        drop(first(&k, "u", "k", Target::NewThread).await);
    }

    #[tokio::test]
    async fn a_duplicate_waits_a_bounded_time() {
        let k = keys(Duration::from_secs(60));
        let _guard = first(&k, "u", "k", Target::NewThread).await;
        let err = k.claim("u", "k", Target::NewThread).await.unwrap_err();
        assert!(matches!(err, ApiError::Conflict(_)), "{err:?}");
    }

    #[tokio::test]
    async fn a_key_names_one_request() {
        let k = keys(Duration::from_secs(60));
        first(&k, "u", "k", Target::Thread("thr_1".into()))
            .await
            .started(prior("trn_1"));
        for other in [Target::NewThread, Target::Thread("thr_2".into())] {
            let err = k.claim("u", "k", other).await.unwrap_err();
            assert!(matches!(err, ApiError::Conflict(_)), "{err:?}");
        }
    }

    #[tokio::test]
    async fn keys_expire_after_the_window() {
        let k = keys(Duration::from_millis(30));
        first(&k, "u", "a", Target::NewThread)
            .await
            .started(prior("trn_1"));
        let _starting = first(&k, "u", "b", Target::NewThread).await;
        tokio::time::sleep(Duration::from_millis(40)).await;
        k.sweep();
        assert_eq!(k.len(), 1, "the key being started stays");
        // An expired entry met by a claim is replaced even before a sweep.
        first(&k, "u", "c", Target::NewThread)
            .await
            .started(prior("trn_3"));
        tokio::time::sleep(Duration::from_millis(40)).await;
        drop(first(&k, "u", "c", Target::NewThread).await);
    }
}
