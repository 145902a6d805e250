//! Demo data: two venues with staff, clients, vendors, events and everything around them.
//!
//! `seed_demo` is deterministic and idempotent. Every row has a fixed, readable id in UUID
//! form, `00000000-0000-4000-8000-0000000TTNNN`, where `TT` names the table (see [`table`])
//! and `NNN` numbers the row within it; e.g. venue 1 is `...-000000001001`, event 7 is
//! `...-000000006007`. Dates are relative to `today`: events are spread over the next six
//! months, with a few in the past (completed). If the first venue already exists nothing is
//! written; otherwise the whole set is written in one transaction.
//!
//! The data lives in `people` (venues, vendors, users, offerings), `events` (events,
//! elements, guests, contracts) and `ops` (tasks, messages, change requests).

mod events;
mod ops;
mod people;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use entity::{
    change_requests, contracts, event_elements, events as event_rows, guests, messages, tasks,
    users, vendors, venue_offerings, venue_vendors, venues,
};
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel, TransactionTrait,
};
use serde::Serialize;

/// A seeded client who owns events (at Harborview Loft).
pub const DEMO_CLIENT_EMAIL: &str = "emily@parkerhome.example";
/// A seeded staff member of Harborview Loft.
pub const DEMO_STAFF_EMAIL: &str = "maya@harborview.example";
/// The seeded administrator.
pub const DEMO_ADMIN_EMAIL: &str = "admin@eventchat.example";

/// Table codes used in the ids (`TT`).
pub mod table {
    pub const VENUE: u32 = 1;
    pub const VENDOR: u32 = 2;
    pub const USER: u32 = 3;
    pub const VENUE_VENDOR: u32 = 4;
    pub const OFFERING: u32 = 5;
    pub const EVENT: u32 = 6;
    pub const ELEMENT: u32 = 7;
    pub const GUEST: u32 = 8;
    pub const CONTRACT: u32 = 9;
    pub const TASK: u32 = 10;
    pub const MESSAGE: u32 = 11;
    pub const CHANGE_REQUEST: u32 = 12;
}

/// The demo id of row `n` of table `table` (see the module doc).
pub fn demo_id(table: u32, n: u32) -> String {
    format!("00000000-0000-4000-8000-0000000{table:02}{n:03}")
}

/// What `seed_demo` did. The counts are the sizes of the demo data set (written when
/// `created`, already present otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeedReport {
    pub created: bool,
    pub users: usize,
    pub venues: usize,
    pub vendors: usize,
    pub venue_vendors: usize,
    pub offerings: usize,
    pub events: usize,
    pub elements: usize,
    pub guests: usize,
    pub contracts: usize,
    pub tasks: usize,
    pub messages: usize,
    pub change_requests: usize,
}

/// Points in time relative to the seed's `today` (midnight UTC).
#[derive(Clone, Copy, Debug)]
pub(super) struct Clock {
    midnight: DateTime<Utc>,
}

impl Clock {
    fn new(today: NaiveDate) -> Self {
        Self {
            midnight: today.and_time(NaiveTime::MIN).and_utc(),
        }
    }

    /// `days` from today (negative: in the past) at `hour`:00 UTC.
    pub(super) fn at(self, days: i64, hour: i64) -> DateTime<Utc> {
        self.midnight + Duration::days(days) + Duration::hours(hour)
    }
}

/// Every row of the demo data set, as entity models.
#[derive(Debug, Clone)]
pub(super) struct DemoData {
    pub venues: Vec<venues::Model>,
    pub vendors: Vec<vendors::Model>,
    pub users: Vec<users::Model>,
    pub venue_vendors: Vec<venue_vendors::Model>,
    pub offerings: Vec<venue_offerings::Model>,
    pub events: Vec<event_rows::Model>,
    pub elements: Vec<event_elements::Model>,
    pub guests: Vec<guests::Model>,
    pub contracts: Vec<contracts::Model>,
    pub tasks: Vec<tasks::Model>,
    pub messages: Vec<messages::Model>,
    pub change_requests: Vec<change_requests::Model>,
}

impl DemoData {
    fn build(today: NaiveDate) -> Self {
        let clock = Clock::new(today);
        let (venues, vendors, users, venue_vendors, offerings) = people::build(clock);
        let (events, elements, guests, contracts) = events::build(clock, &offerings);
        let (tasks, messages, change_requests) = ops::build(clock, &elements);
        Self {
            venues,
            vendors,
            users,
            venue_vendors,
            offerings,
            events,
            elements,
            guests,
            contracts,
            tasks,
            messages,
            change_requests,
        }
    }

    fn report(&self, created: bool) -> SeedReport {
        SeedReport {
            created,
            users: self.users.len(),
            venues: self.venues.len(),
            vendors: self.vendors.len(),
            venue_vendors: self.venue_vendors.len(),
            offerings: self.offerings.len(),
            events: self.events.len(),
            elements: self.elements.len(),
            guests: self.guests.len(),
            contracts: self.contracts.len(),
            tasks: self.tasks.len(),
            messages: self.messages.len(),
            change_requests: self.change_requests.len(),
        }
    }
}

/// Inserts `rows` (possibly none) in one statement.
async fn insert_all<M, A, C>(conn: &C, rows: Vec<M>) -> Result<(), DbErr>
where
    M: IntoActiveModel<A>,
    A: ActiveModelTrait + Send,
    C: sea_orm::ConnectionTrait,
{
    if rows.is_empty() {
        return Ok(());
    }
    let rows: Vec<A> = rows
        .into_iter()
        .map(IntoActiveModel::into_active_model)
        .collect();
    A::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes the demo data set unless it is already there (see the module doc).
pub async fn seed_demo(db: &DatabaseConnection, today: NaiveDate) -> Result<SeedReport, DbErr> {
    let data = DemoData::build(today);
    let first_venue = demo_id(table::VENUE, 1);
    if venues::Entity::find_by_id(first_venue)
        .one(db)
        .await?
        .is_some()
    {
        return Ok(data.report(false));
    }
    let report = data.report(true);
    let txn = db.begin().await?;
    insert_all(&txn, data.venues).await?;
    insert_all(&txn, data.vendors).await?;
    insert_all(&txn, data.users).await?;
    insert_all(&txn, data.venue_vendors).await?;
    insert_all(&txn, data.offerings).await?;
    insert_all(&txn, data.events).await?;
    insert_all(&txn, data.elements).await?;
    insert_all(&txn, data.guests).await?;
    insert_all(&txn, data.contracts).await?;
    insert_all(&txn, data.tasks).await?;
    insert_all(&txn, data.messages).await?;
    insert_all(&txn, data.change_requests).await?;
    txn.commit().await?;
    Ok(report)
}

#[cfg(test)]
mod tests;
