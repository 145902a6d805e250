//! The cap on open SSE streams per user, and the response body that holds a slot.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use futures::Stream;

use super::cluster::ClusterLease;

/// Open streams per user.
#[derive(Debug)]
pub struct StreamLimiter {
    open: Arc<DashMap<String, usize>>,
    /// `0` = no cap.
    pub(super) max: usize,
}

impl StreamLimiter {
    pub fn new(max: usize) -> Self {
        Self {
            open: Arc::new(DashMap::new()),
            max,
        }
    }

    /// A slot for one more stream of `user_id`, or `None` at the cap.
    pub fn try_acquire(&self, user_id: &str) -> Option<StreamSlot> {
        let mut n = self.open.entry(user_id.to_owned()).or_insert(0);
        if self.max > 0 && *n >= self.max {
            return None;
        }
        *n += 1;
        Some(StreamSlot {
            slot: Slot::Local {
                _slot: LocalSlot {
                    open: self.open.clone(),
                    user_id: user_id.to_owned(),
                },
            },
        })
    }

    /// Streams open for `user_id` now.
    pub fn open_for(&self, user_id: &str) -> usize {
        self.open.get(user_id).map_or(0, |n| *n)
    }

    /// Users with at least one open stream (entries at zero are removed).
    pub fn tracked(&self) -> usize {
        self.open.len()
    }
}

/// One open stream; dropping it frees the slot, in this process or (in a cluster) the lease
/// row of `cluster.rs`.
#[derive(Debug)]
pub struct StreamSlot {
    slot: Slot,
}

impl StreamSlot {
    pub(super) fn cluster(lease: ClusterLease) -> Self {
        Self {
            slot: Slot::Cluster { _lease: lease },
        }
    }

    /// Whether the slot is a lease of the cluster (else a count of this process).
    pub fn is_cluster(&self) -> bool {
        matches!(self.slot, Slot::Cluster { .. })
    }
}

/// What a slot holds; each frees itself in its own `Drop` (the fields are never read).
#[derive(Debug)]
enum Slot {
    Local { _slot: LocalSlot },
    Cluster { _lease: ClusterLease },
}

#[derive(Debug)]
struct LocalSlot {
    open: Arc<DashMap<String, usize>>,
    user_id: String,
}

impl Drop for LocalSlot {
    fn drop(&mut self) {
        if let Entry::Occupied(mut e) = self.open.entry(std::mem::take(&mut self.user_id)) {
            let n = e.get_mut();
            *n = n.saturating_sub(1);
            // Removed at zero so the map only holds users streaming right now.
            if *n == 0 {
                e.remove();
            }
        }
    }
}

/// A response body that holds a [`StreamSlot`] for as long as actix keeps it: until the
/// stream ends or the connection is dropped. actix drops the response as soon as it reads the
/// connection's EOF (`h1_allow_half_closed(false)` in `startup`), not at its next write, so a
/// dropped stream's slot is back within milliseconds even while the turn is quiet. The slot
/// belongs to the connection, not to the turn: a `continue` turn runs on without it.
pub struct Guarded<S> {
    inner: S,
    _slot: StreamSlot,
}

impl<S> Guarded<S> {
    pub fn new(inner: S, slot: StreamSlot) -> Self {
        Self { inner, _slot: slot }
    }
}

impl<S: Stream + Unpin> Stream for Guarded<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
