//! The sequences held in the model's KV cache, and which thread each belongs to.
//!
//! llama.cpp keeps the attention state (KV) of up to `n_seq_max` sequences in one shared
//! pool of cells. A thread's turn runs on a sequence; when the turn ends the sequence is
//! kept with the tokens it holds, so the thread's next turn, whose prompt starts with the
//! same tokens (system prompt, history, the previous answer), only evaluates what is new.
//!
//! - [`SeqTable::claim`] picks a sequence for a turn: the thread's own if it is idle, else an
//!   empty one, else the least recently used idle one (its cache is dropped). It returns how
//!   many leading tokens are already in the cache (the common prefix, always leaving at least
//!   one token to evaluate, because the model's next-token logits come from evaluating one).
//! - A turn starts from the longest prefix any sequence holds, when it is longer than what
//!   its own sequence holds (busy ones too: their evaluated tokens never move). The system prompt opens with the
//!   assistant's instructions and ends with the event's or venue's context, then the tools
//!   block: a new thread on an event another thread already talked about evaluates only its
//!   question; one on another event still skips the instructions. The engine copies that
//!   prefix into the claimed sequence (`llama_memory_seq_cp`: with the unified KV pool the
//!   cells are shared, not duplicated).
//! - [`SeqTable::evict_lru`] frees the least recently used idle sequence when the cell pool is
//!   full (the memory budget); the engine calls it and retries.
//!
//! Pure bookkeeping: the engine applies the decisions to llama.cpp.

/// One sequence slot.
#[derive(Debug, Default, Clone)]
struct Seq {
    /// The thread whose tokens it holds.
    owner: Option<String>,
    /// The tokens in the KV cache for this sequence, in position order.
    tokens: Vec<i32>,
    busy: bool,
    last_used: u64,
}

/// What [`SeqTable::claim`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub seq: usize,
    /// Leading prompt tokens already in the cache; the KV after them must be removed.
    pub reused: usize,
    /// Whether the sequence held another thread's tokens (removed, but for a shared prefix).
    pub evicted_other: bool,
    /// The sequence whose first `reused` tokens are to be copied into `seq` (whose own KV is
    /// removed first); `None`: `seq` already holds them.
    pub copied_from: Option<usize>,
}

#[derive(Debug)]
pub struct SeqTable {
    seqs: Vec<Seq>,
    clock: u64,
}

/// A shorter shared prefix is not worth a copy (every prompt opens with the same few
/// template tokens).
const MIN_SHARED: usize = 16;

fn common_prefix(a: &[i32], b: &[i32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl SeqTable {
    pub fn new(n: usize) -> Self {
        Self {
            seqs: vec![Seq::default(); n.max(1)],
            clock: 0,
        }
    }

    /// A sequence for a turn of `owner` with `prompt`; `None` when every sequence is busy.
    pub fn claim(&mut self, owner: Option<&str>, prompt: &[i32]) -> Option<Claim> {
        let idle = |s: &Seq| !s.busy;
        let own = owner.and_then(|o| {
            self.seqs
                .iter()
                .position(|s| idle(s) && s.owner.as_deref() == Some(o))
        });
        let empty = || {
            self.seqs
                .iter()
                .position(|s| idle(s) && s.owner.is_none() && s.tokens.is_empty())
        };
        let lru = || {
            self.seqs
                .iter()
                .enumerate()
                .filter(|(_, s)| idle(s))
                .min_by_key(|(_, s)| s.last_used)
                .map(|(i, _)| i)
        };
        let seq = own.or_else(empty).or_else(lru)?;
        self.clock += 1;
        let same_owner = own == Some(seq);
        // At least one prompt token is evaluated: the next token's logits come from it.
        let cap = prompt.len().saturating_sub(1);
        // What the claimed sequence already holds: all of it for the thread's own; for another
        // thread's, only a shared prefix worth keeping.
        let held = common_prefix(&self.seqs[seq].tokens, prompt).min(cap);
        let held = if same_owner || held >= MIN_SHARED {
            held
        } else {
            0
        };
        // A longer prefix elsewhere is copied in: another thread on the same event, or a
        // prompt of a form the thread's own cache does not hold (the re-ask without tools).
        let donor = self
            .seqs
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != seq)
            .map(|(i, s)| (common_prefix(&s.tokens, prompt).min(cap), i))
            .filter(|(n, _)| *n >= MIN_SHARED && *n > held)
            .max();
        let (reused, copied_from) = match donor {
            Some((n, i)) => (n, Some(i)),
            None => (held, None),
        };
        let slot = &mut self.seqs[seq];
        let evicted_other = !same_owner && !slot.tokens.is_empty();
        match copied_from {
            Some(_) => {
                slot.tokens.clear();
                slot.tokens.extend_from_slice(&prompt[..reused]);
            }
            None => slot.tokens.truncate(reused),
        }
        slot.owner = owner.map(str::to_owned);
        slot.busy = true;
        slot.last_used = self.clock;
        Some(Claim {
            seq,
            reused,
            evicted_other,
            copied_from,
        })
    }

    /// Records tokens evaluated into `seq`'s cache.
    pub fn extend(&mut self, seq: usize, tokens: &[i32]) {
        if let Some(slot) = self.seqs.get_mut(seq) {
            slot.tokens.extend_from_slice(tokens);
        }
    }

    /// The turn on `seq` ended; its tokens stay cached for the owner's next turn.
    pub fn release(&mut self, seq: usize) {
        self.clock += 1;
        if let Some(slot) = self.seqs.get_mut(seq) {
            slot.busy = false;
            slot.last_used = self.clock;
        }
    }

    /// Forgets `seq`'s cache (after a failure, its KV state is unknown).
    pub fn clear(&mut self, seq: usize) {
        if let Some(slot) = self.seqs.get_mut(seq) {
            slot.tokens.clear();
            slot.owner = None;
        }
    }

    /// Frees the least recently used idle sequence that holds tokens; returns it.
    pub fn evict_lru(&mut self) -> Option<usize> {
        let seq = self
            .seqs
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.busy && !s.tokens.is_empty())
            .min_by_key(|(_, s)| s.last_used)
            .map(|(i, _)| i)?;
        self.clear(seq);
        Some(seq)
    }

    /// Tokens held by `seq`.
    #[cfg(test)]
    pub fn len_of(&self, seq: usize) -> usize {
        self.seqs.get(seq).map_or(0, |s| s.tokens.len())
    }

    /// How many idle sequences hold a thread's cache, and how many tokens all sequences hold.
    pub fn cached(&self) -> (usize, usize) {
        let idle = self
            .seqs
            .iter()
            .filter(|s| !s.busy && !s.tokens.is_empty())
            .count();
        (idle, self.seqs.iter().map(|s| s.tokens.len()).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::{Claim, SeqTable};

    #[test]
    fn a_threads_next_turn_reuses_its_cached_prefix() {
        let mut table = SeqTable::new(2);
        let first = table.claim(Some("thr_a"), &[1, 2, 3]).expect("free");
        assert_eq!(
            first,
            Claim {
                seq: 0,
                reused: 0,
                evicted_other: false,
                copied_from: None,
            }
        );
        table.extend(0, &[1, 2, 3, 4, 5]);
        table.release(0);
        let next = table
            .claim(Some("thr_a"), &[1, 2, 3, 4, 5, 6, 7])
            .expect("free");
        assert_eq!(
            next,
            Claim {
                seq: 0,
                reused: 5,
                evicted_other: false,
                copied_from: None,
            }
        );
        assert_eq!(table.len_of(0), 5);
    }

    #[test]
    fn at_least_one_token_is_left_to_evaluate() {
        let mut table = SeqTable::new(1);
        table.claim(Some("t"), &[1, 2]).expect("free");
        table.extend(0, &[1, 2]);
        table.release(0);
        let same = table.claim(Some("t"), &[1, 2]).expect("free");
        assert_eq!(same.reused, 1);
        assert_eq!(table.len_of(0), 1);
    }

    #[test]
    fn a_diverging_prompt_keeps_only_the_common_prefix() {
        let mut table = SeqTable::new(1);
        table.claim(Some("t"), &[1, 2, 3]).expect("free");
        table.extend(0, &[1, 2, 3, 9]);
        table.release(0);
        let claim = table.claim(Some("t"), &[1, 2, 4, 5]).expect("free");
        assert_eq!(claim.reused, 2);
    }

    #[test]
    fn empty_sequences_are_used_before_another_threads_cache_and_then_lru() {
        let mut table = SeqTable::new(2);
        for (owner, seq) in [("a", 0), ("b", 1)] {
            let claim = table.claim(Some(owner), &[7]).expect("free");
            assert_eq!(claim.seq, seq);
            table.extend(seq, &[7, 8]);
            table.release(seq);
        }
        // "a" was used longest ago: "c" takes its sequence.
        let c = table.claim(Some("c"), &[7]).expect("free");
        assert_eq!(
            c,
            Claim {
                seq: 0,
                reused: 0,
                evicted_other: true,
                copied_from: None,
            }
        );
        // "b" is still cached.
        let b = table.claim(Some("b"), &[7, 8, 9]).expect("free");
        assert_eq!(
            b,
            Claim {
                seq: 1,
                reused: 2,
                evicted_other: false,
                copied_from: None,
            }
        );
        assert!(table.claim(Some("d"), &[1]).is_none(), "both busy");
    }

    #[test]
    fn eviction_frees_the_least_recently_used_idle_cache() {
        let mut table = SeqTable::new(3);
        for owner in ["a", "b"] {
            let claim = table.claim(Some(owner), &[1]).expect("free");
            table.extend(claim.seq, &[1, 2]);
            table.release(claim.seq);
        }
        let busy = table.claim(Some("c"), &[1]).expect("free");
        table.extend(busy.seq, &[1]);
        assert_eq!(table.cached(), (2, 5));
        assert_eq!(table.evict_lru(), Some(0));
        assert_eq!(table.evict_lru(), Some(1));
        assert_eq!(table.evict_lru(), None, "the busy one is never evicted");
    }

    /// A system prompt of `n` tokens, then `tail`.
    fn prompt(n: i32, tail: &[i32]) -> Vec<i32> {
        (0..n).chain(tail.iter().copied()).collect()
    }

    #[test]
    fn a_new_thread_starts_from_the_longest_prefix_another_sequence_holds() {
        let mut table = SeqTable::new(3);
        let a = table.claim(Some("a"), &prompt(40, &[100])).expect("free");
        table.extend(a.seq, &prompt(40, &[100, 101]));
        table.release(a.seq);
        let b = table.claim(Some("b"), &prompt(20, &[200])).expect("free");
        table.extend(b.seq, &prompt(20, &[200]));
        // "c" shares 40 tokens with "a" and 20 with "b": it copies a's 40, into an empty slot.
        let c = table
            .claim(Some("c"), &prompt(40, &[300, 301]))
            .expect("free");
        assert_eq!(
            c,
            Claim {
                seq: 2,
                reused: 40,
                evicted_other: false,
                copied_from: Some(0),
            }
        );
        assert_eq!(table.len_of(2), 40);
        assert_eq!(table.len_of(0), 42, "the donor keeps its own tokens");
    }

    #[test]
    fn a_busy_sequences_evaluated_prefix_is_shared_too() {
        let mut table = SeqTable::new(2);
        let a = table.claim(Some("a"), &prompt(30, &[1])).expect("free");
        table.extend(a.seq, &prompt(30, &[]));
        let b = table.claim(Some("b"), &prompt(30, &[2])).expect("free");
        assert_eq!((b.seq, b.reused, b.copied_from), (1, 30, Some(0)));
    }

    #[test]
    fn a_reclaimed_sequence_keeps_the_prefix_it_shares_without_a_copy() {
        let mut table = SeqTable::new(1);
        let a = table.claim(Some("a"), &prompt(30, &[1])).expect("free");
        table.extend(a.seq, &prompt(30, &[1, 5]));
        table.release(a.seq);
        let b = table.claim(Some("b"), &prompt(30, &[2])).expect("free");
        assert_eq!(
            b,
            Claim {
                seq: 0,
                reused: 30,
                evicted_other: true,
                copied_from: None,
            }
        );
        assert_eq!(table.len_of(0), 30);
    }

    #[test]
    fn a_short_common_prefix_is_not_shared() {
        let mut table = SeqTable::new(2);
        let a = table.claim(Some("a"), &prompt(10, &[1])).expect("free");
        table.extend(a.seq, &prompt(10, &[1]));
        table.release(a.seq);
        let b = table.claim(Some("b"), &prompt(10, &[2])).expect("free");
        assert_eq!((b.seq, b.reused, b.copied_from), (1, 0, None));
    }

    #[test]
    fn a_thread_takes_a_longer_prefix_from_elsewhere_over_its_own() {
        let mut table = SeqTable::new(2);
        // "a" re-asked without tools: its sequence holds the other form of the prompt.
        let a = table.claim(Some("a"), &prompt(40, &[1])).expect("free");
        table.extend(a.seq, &prompt(40, &[1, 2]));
        table.release(a.seq);
        // "b" evaluated the first form, then the second form on its own sequence.
        let b = table.claim(Some("b"), &prompt(20, &[9])).expect("free");
        table.extend(b.seq, &prompt(20, &[9]));
        table.release(b.seq);
        let again = table.claim(Some("b"), &prompt(40, &[7])).expect("free");
        assert_eq!(
            (again.seq, again.reused, again.copied_from),
            (1, 40, Some(0))
        );
        // Its own prefix, when it is the longest, stays where it is.
        table.extend(1, &[7, 8]);
        table.release(1);
        let own = table
            .claim(Some("b"), &prompt(40, &[7, 8, 9]))
            .expect("free");
        assert_eq!((own.seq, own.reused, own.copied_from), (1, 42, None));
    }

    #[test]
    fn a_fully_shared_prompt_still_leaves_one_token_to_evaluate() {
        let mut table = SeqTable::new(2);
        let a = table.claim(Some("a"), &prompt(20, &[])).expect("free");
        table.extend(a.seq, &prompt(20, &[]));
        let b = table.claim(Some("b"), &prompt(20, &[])).expect("free");
        assert_eq!((b.seq, b.reused, b.copied_from), (1, 19, Some(0)));
    }
}
