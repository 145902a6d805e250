//! Keyset-paged listings for the REST API, and the per-page counts beside them.
//!
//! Each page query orders by its sort key plus the row id (unique), filters "strictly after
//! the anchor row" on that same key, and fetches `limit + 1` rows so [`PageOf`] knows
//! whether more exist. The anchor is the previous page's last row, already loaded and
//! checked by `crate::domain` (a cursor of another venue is refused there): these functions
//! only read. Sort keys:
//!
//! | listing | order |
//! | --- | --- |
//! | a venue's events | `event_date` asc, `id` asc |
//! | a venue's tasks | `due_at` asc with undated tasks last, `id` asc |
//! | messages (venue or event) | `created_at` desc, `id` desc |
//! | a venue's change requests | `created_at` desc, `id` desc |

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{change_requests, event_elements, events, guests, messages, tasks};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, Order as SqlOrder, QueryFilter, QueryOrder, QuerySelect,
};

use super::{ChangeRequestRecord, DomainStore, EventRecord, MessageRecord, TaskRecord};
use crate::store::StoreResult;
use crate::store::paging::{Order, PageOf, after_condition};

/// Which events of a venue to list: `from <= event_date < before`, one status.
#[derive(Debug, Clone, Default)]
pub struct EventListFilter {
    pub from: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    pub status: Option<String>,
}

/// Whose messages to list.
#[derive(Debug, Clone, Copy)]
pub enum MessageScope<'a> {
    /// All messages of the venue.
    Venue(&'a str),
    /// The messages of one event; with a participant, only those the participant sent or
    /// that are addressed to them as the client.
    Event {
        venue_id: &'a str,
        event_id: &'a str,
        participant: Option<&'a str>,
    },
}

impl MessageScope<'_> {
    /// Whether a message belongs to this scope: the same rule as the query's filter, for
    /// checking a cursor row.
    pub fn contains(&self, m: &MessageRecord) -> bool {
        match *self {
            Self::Venue(v) => m.venue_id == v,
            Self::Event {
                venue_id,
                event_id,
                participant,
            } => {
                m.venue_id == venue_id
                    && m.event_id.as_deref() == Some(event_id)
                    && participant.is_none_or(|u| {
                        m.sender_id == u || (m.recipient_type == "client" && m.recipient_id == u)
                    })
            }
        }
    }

    fn condition(&self) -> Condition {
        use messages::Column;
        match *self {
            Self::Venue(v) => Condition::all().add(Column::VenueId.eq(v)),
            Self::Event {
                venue_id,
                event_id,
                participant,
            } => {
                let mut c = Condition::all()
                    .add(Column::VenueId.eq(venue_id))
                    .add(Column::EventId.eq(event_id));
                if let Some(u) = participant {
                    c = c.add(
                        Condition::any().add(Column::SenderId.eq(u)).add(
                            Condition::all()
                                .add(Column::RecipientType.eq("client"))
                                .add(Column::RecipientId.eq(u)),
                        ),
                    );
                }
                c
            }
        }
    }
}

/// Rows after a task anchor in `due_at` asc (undated last), `id` asc order.
fn after_task(anchor: &TaskRecord) -> Condition {
    use tasks::Column;
    match anchor.due_at {
        Some(due) => Condition::any()
            .add(after_condition(
                Order::Asc,
                Column::DueAt,
                due,
                Column::Id,
                anchor.id.clone(),
            ))
            .add(Column::DueAt.is_null()),
        None => Condition::all()
            .add(Column::DueAt.is_null())
            .add(Column::Id.gt(anchor.id.clone())),
    }
}

impl DomainStore {
    /// One page of a venue's events, soonest first.
    pub async fn venue_events_page(
        &self,
        venue_id: &str,
        f: &EventListFilter,
        after: Option<&EventRecord>,
        limit: u64,
    ) -> StoreResult<PageOf<EventRecord>> {
        use events::Column;
        let mut q = events::Entity::find().filter(Column::VenueId.eq(venue_id));
        if let Some(from) = f.from {
            q = q.filter(Column::EventDate.gte(from));
        }
        if let Some(before) = f.before {
            q = q.filter(Column::EventDate.lt(before));
        }
        if let Some(s) = &f.status {
            q = q.filter(Column::Status.eq(s.as_str()));
        }
        if let Some(a) = after {
            q = q.filter(after_condition(
                Order::Asc,
                Column::EventDate,
                a.event_date,
                Column::Id,
                a.id.clone(),
            ));
        }
        let rows = q
            .order_by_asc(Column::EventDate)
            .order_by_asc(Column::Id)
            .limit(limit + 1)
            .all(&self.db)
            .await?;
        let rows = rows.into_iter().map(super::events::from_model).collect();
        Ok(PageOf::from_overfetch(rows, limit, |e: &EventRecord| {
            e.id.clone()
        }))
    }

    /// Per event, the number of its elements whose status is not one of `excluded`.
    pub async fn element_counts_excluding<'a>(
        &self,
        event_ids: impl IntoIterator<Item = &'a str>,
        excluded: &[&str],
    ) -> StoreResult<HashMap<String, i64>> {
        use event_elements::Column;
        let ids: Vec<&str> = event_ids.into_iter().collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(String, i64)> = event_elements::Entity::find()
            .select_only()
            .column(Column::EventId)
            .column_as(Expr::from(Func::count(Expr::col(Column::Id))), "n")
            .filter(Column::EventId.is_in(ids))
            .filter(Column::Status.is_not_in(excluded.iter().copied()))
            .group_by(Column::EventId)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Per event, the number of its guests with this RSVP status.
    pub async fn guest_counts_with<'a>(
        &self,
        event_ids: impl IntoIterator<Item = &'a str>,
        rsvp_status: &str,
    ) -> StoreResult<HashMap<String, i64>> {
        use guests::Column;
        let ids: Vec<&str> = event_ids.into_iter().collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(String, i64)> = guests::Entity::find()
            .select_only()
            .column(Column::EventId)
            .column_as(Expr::from(Func::count(Expr::col(Column::Id))), "n")
            .filter(Column::EventId.is_in(ids))
            .filter(Column::RsvpStatus.eq(rsvp_status))
            .group_by(Column::EventId)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// One page of a venue's tasks with one of `statuses` (all when empty), optionally of
    /// one event, soonest due first and undated last.
    pub async fn venue_tasks_page(
        &self,
        venue_id: &str,
        statuses: &[&str],
        event_id: Option<&str>,
        after: Option<&TaskRecord>,
        limit: u64,
    ) -> StoreResult<PageOf<TaskRecord>> {
        use tasks::Column;
        let mut q = tasks::Entity::find().filter(Column::VenueId.eq(venue_id));
        if !statuses.is_empty() {
            q = q.filter(Column::Status.is_in(statuses.iter().copied()));
        }
        if let Some(e) = event_id {
            q = q.filter(Column::EventId.eq(e));
        }
        if let Some(a) = after {
            q = q.filter(after_task(a));
        }
        // `due_at IS NULL` first in the key: NULLS LAST is spelled differently per backend.
        let rows = q
            .order_by(Expr::col(Column::DueAt).is_null(), SqlOrder::Asc)
            .order_by_asc(Column::DueAt)
            .order_by_asc(Column::Id)
            .limit(limit + 1)
            .all(&self.db)
            .await?;
        let rows = rows.into_iter().map(super::tasks::from_model).collect();
        Ok(PageOf::from_overfetch(rows, limit, |t: &TaskRecord| {
            t.id.clone()
        }))
    }

    /// One page of messages, newest first.
    pub async fn messages_page(
        &self,
        scope: MessageScope<'_>,
        after: Option<&MessageRecord>,
        limit: u64,
    ) -> StoreResult<PageOf<MessageRecord>> {
        use messages::Column;
        let mut q = messages::Entity::find().filter(scope.condition());
        if let Some(a) = after {
            q = q.filter(after_condition(
                Order::Desc,
                Column::CreatedAt,
                a.created_at,
                Column::Id,
                a.id.clone(),
            ));
        }
        let rows = q
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .limit(limit + 1)
            .all(&self.db)
            .await?;
        let rows = rows.into_iter().map(super::messages::from_model).collect();
        Ok(PageOf::from_overfetch(rows, limit, |m: &MessageRecord| {
            m.id.clone()
        }))
    }

    /// One page of the change requests of a venue's events, newest first, optionally of
    /// one status.
    pub async fn venue_change_requests_page(
        &self,
        venue_id: &str,
        status: Option<&str>,
        after: Option<&ChangeRequestRecord>,
        limit: u64,
    ) -> StoreResult<PageOf<ChangeRequestRecord>> {
        use change_requests::Column;
        let mut q = change_requests::Entity::find()
            .inner_join(events::Entity)
            .filter(events::Column::VenueId.eq(venue_id));
        if let Some(s) = status {
            q = q.filter(Column::Status.eq(s));
        }
        if let Some(a) = after {
            q = q.filter(after_condition(
                Order::Desc,
                Column::CreatedAt,
                a.created_at,
                Column::Id,
                a.id.clone(),
            ));
        }
        let rows = q
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .limit(limit + 1)
            .all(&self.db)
            .await?;
        let rows = rows
            .into_iter()
            .map(super::change_requests::from_model)
            .collect();
        Ok(PageOf::from_overfetch(
            rows,
            limit,
            |r: &ChangeRequestRecord| r.id.clone(),
        ))
    }
}
