//! The ordered writes of one live thread's row.
//!
//! The thread actor is the row's one writer (title, status, metadata): it
//! applies each change to its own record at once, in mailbox order, and stores it through a
//! [`RowWriter`] without waiting in its mailbox. Writes run as futures on the actor's
//! context and may be polled in any order, so each takes a ticket when it is made
//! (synchronously, in the actor's order) and waits for the writes before it to finish. A
//! write whose future is dropped (the actor stopped) still lets the next one go.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

use crate::store::{StoreResult, ThreadPatch, ThreadStore};

/// Cheap to clone; one per thread actor.
#[derive(Clone)]
pub struct RowWriter {
    threads: ThreadStore,
    user_id: Arc<str>,
    thread_id: Arc<str>,
    order: Arc<Order>,
}

struct Order {
    next: AtomicU64,
    done: watch::Sender<u64>,
}

/// Lets the next write go when dropped, however its write ended.
struct Turn<'a>(&'a watch::Sender<u64>);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|d| *d += 1);
    }
}

impl RowWriter {
    pub fn new(threads: ThreadStore, user_id: &str, thread_id: &str) -> Self {
        Self {
            threads,
            user_id: user_id.into(),
            thread_id: thread_id.into(),
            order: Arc::new(Order {
                next: AtomicU64::new(0),
                done: watch::Sender::new(0),
            }),
        }
    }

    /// Runs `write` after every write made before this call.
    fn in_order<F, Fut>(&self, write: F) -> impl Future<Output = StoreResult<()>> + 'static
    where
        F: FnOnce(ThreadStore, Arc<str>, Arc<str>) -> Fut + 'static,
        Fut: Future<Output = StoreResult<()>> + 'static,
    {
        let ticket = self.order.next.fetch_add(1, Ordering::Relaxed);
        let (order, threads) = (self.order.clone(), self.threads.clone());
        let (user_id, thread_id) = (self.user_id.clone(), self.thread_id.clone());
        async move {
            let mut done = order.done.subscribe();
            // The sender lives in `order`, which this future holds: the wait cannot fail.
            let _ = done.wait_for(|d| *d >= ticket).await;
            let _turn = Turn(&order.done);
            write(threads, user_id, thread_id).await
        }
    }

    /// Stores a change of title, status or metadata.
    pub fn patch(&self, patch: ThreadPatch) -> impl Future<Output = StoreResult<()>> + 'static {
        self.in_order(move |threads, user_id, thread_id| async move {
            threads.update_thread(&user_id, &thread_id, &patch).await
        })
    }
}
