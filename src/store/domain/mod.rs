//! Domain queries (venues, events, elements, guests, ...), used by the domain services and
//! the assistants' context builders. Each file holds one area; records are plain structs
//! (serializable, so tools can show them). No business rule lives here: `crate::domain`
//! decides, these functions read and write. Multi-row writes run in one transaction.

mod audit;
mod change_requests;
mod conn;
mod contracts;
mod elements;
mod events;
mod guests;
mod listings;
mod messages;
mod names;
mod tasks;
mod venues;

#[cfg(test)]
pub mod fixture;

pub use audit::{ToolCallAudit, ToolCallRecord};
pub use change_requests::{ChangeApplication, ChangeRequestRecord, Resolution};
pub use contracts::ContractRecord;
pub use elements::{ElementChanges, ElementRecord, NewElement};
pub use events::{EventChanges, EventQuery, EventRecord, EventRefRow};
pub use guests::GuestRecord;
pub use listings::{EventListFilter, MessageScope};
pub use messages::MessageRecord;
pub use tasks::{TaskQuery, TaskRecord};
pub use venues::{OfferingRecord, UserProfile, VendorRecord, VenueRecord, VenueVendorRecord};

use std::sync::Arc;

use sea_orm::{DatabaseConnection, DatabaseTransaction};

pub use conn::DomainConn;

use super::owners::OwnerStore;

/// Domain queries over one pool; cheap to clone.
#[derive(Clone, Debug)]
pub struct DomainStore {
    pub(crate) db: DomainConn,
    /// Fences the audit rows of the threads this node holds in a cluster.
    pub(crate) owners: Option<OwnerStore>,
}

impl DomainStore {
    pub fn new(db: DatabaseConnection, owners: Option<OwnerStore>) -> Self {
        Self {
            db: DomainConn::Pool(db),
            owners,
        }
    }

    /// The same queries inside `txn`: a tool call's writes, with its fence, audit and outbox
    /// rows (`conn.rs`). Its audit is not fenced again: the transaction checked the fence.
    pub fn in_transaction(&self, txn: Arc<DatabaseTransaction>) -> Self {
        Self {
            db: DomainConn::Txn(txn),
            owners: None,
        }
    }
}
