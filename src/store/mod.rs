//! Persistence: the only module that imports the `entity` crate.
//!
//! Each file holds the queries of one area and returns plain records, never entity models,
//! so the rest of the server does not depend on table shapes. Every ChatKit query is scoped
//! by user id (see `threads`). The same code runs on SQLite and PostgreSQL.

pub mod attachments;
pub mod conn;
pub mod db;
pub mod domain;
pub mod error;
pub mod feedback;
pub mod group_commit;
pub mod items;
pub mod outbox;
pub mod owners;
pub mod paging;
pub mod runs;
pub mod search;
pub mod seed;
mod sqlite_tuning;
#[cfg(test)]
pub mod test_pg;
pub mod thread_patch;
pub mod threads;
pub mod users;

pub use attachments::{AttachmentRecord, AttachmentStore};
pub use domain::DomainStore;
pub use error::{StoreError, StoreResult};
pub use feedback::FeedbackStore;
pub use group_commit::GroupCommit;
pub use items::{ItemRecord, ItemStore, Visibility};
pub use outbox::{OutboxChange, OutboxEntry, OutboxStore};
pub use owners::{Claim, Hold, Owner, OwnerStore};
pub use paging::{Order, PageOf};
pub use runs::{RunRecord, RunStore, TurnBegin};
pub use search::SearchStore;
pub use thread_patch::{ThreadPatch, TitleChange};
pub use threads::{ThreadFilter, ThreadRecord, ThreadStore};
pub use users::{UserRecord, UserStore};

use sea_orm::DatabaseConnection;

/// Where the turn path's writes go: the writer pool (`db::writer`) and, on SQLite, the group
/// commit task in front of it (`group_commit.rs`), which the stores use for the writes that
/// need no fence. Writes that are not on the hot path (deletes, retries) use the pool
/// directly; the pool serializes them with the task's batches.
#[derive(Clone, Debug)]
pub struct Writes {
    pub pool: DatabaseConnection,
    pub group: Option<GroupCommit>,
}

impl Writes {
    /// Every write on `pool`, each in its own statement or transaction.
    pub fn direct(pool: DatabaseConnection) -> Self {
        Self { pool, group: None }
    }

    /// The group commit task, for a write that needs no fence (`owners` is a cluster node's:
    /// its writes are fenced, each in its own transaction; a cluster never runs on SQLite).
    pub(crate) fn grouped(&self, owners: &Option<OwnerStore>) -> Option<&GroupCommit> {
        self.group.as_ref().filter(|_| owners.is_none())
    }
}

/// All stores over one pool; cheap to clone.
#[derive(Clone, Debug)]
pub struct Stores {
    pub db: DatabaseConnection,
    pub threads: ThreadStore,
    pub items: ItemStore,
    pub attachments: AttachmentStore,
    pub feedback: FeedbackStore,
    pub runs: RunStore,
    pub users: UserStore,
    pub domain: DomainStore,
    pub search: SearchStore,
    /// In a cluster: this node's claims on threads, which fence the writes of the threads it
    /// runs (`owners.rs`). `None` on a single node.
    pub owners: Option<OwnerStore>,
}

impl Stores {
    /// The stores of a single node: no write is fenced.
    pub fn new(db: DatabaseConnection) -> Self {
        Self::with_owners(db, None)
    }

    /// The stores of a cluster node: the writes of every thread `owners` holds are fenced.
    pub fn with_owners(db: DatabaseConnection, owners: Option<OwnerStore>) -> Self {
        Self::with_writer(db.clone(), Writes::direct(db), owners)
    }

    /// [`Self::with_owners`] with the turn path's writes (items, thread rows, run rows) on
    /// `writes` (`db::writer`: on SQLite a pool of one connection, and group commit).
    pub fn with_writer(db: DatabaseConnection, writes: Writes, owners: Option<OwnerStore>) -> Self {
        Self {
            threads: ThreadStore::new(db.clone(), writes.clone(), owners.clone()),
            items: ItemStore::new(db.clone(), writes.clone(), owners.clone()),
            attachments: AttachmentStore::new(db.clone()),
            feedback: FeedbackStore::new(db.clone()),
            runs: RunStore::new(db.clone(), writes, owners.clone()),
            users: UserStore::new(db.clone()),
            domain: DomainStore::new(db.clone(), owners.clone()),
            search: SearchStore::new(db.clone()),
            owners,
            db,
        }
    }
}
