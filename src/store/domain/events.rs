//! Event queries: ownership lookups used to authorize and route threads, listings for the
//! venue assistants, and the field update used by `updateEvent` (validated in `domain`).

use chrono::{DateTime, Utc};
use entity::events::{self, Column, Entity};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use super::DomainStore;
use crate::store::{StoreError, StoreResult};

/// The ownership facts of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRefRow {
    pub id: String,
    pub venue_id: String,
    pub client_id: String,
    pub name: String,
}

/// A full event row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRecord {
    pub id: String,
    pub venue_id: String,
    pub client_id: String,
    pub name: String,
    pub event_type: String,
    pub event_date: DateTime<Utc>,
    pub end_date: Option<DateTime<Utc>>,
    pub guest_count: i32,
    pub budget_cents: i64,
    pub status: String,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which events of a venue to list; bounds are inclusive on `event_date`.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub status: Option<String>,
    pub limit: u64,
}

/// The fields `updateEvent` may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventChanges {
    pub name: Option<String>,
    pub event_date: Option<DateTime<Utc>>,
    pub guest_count: Option<i32>,
    pub budget_cents: Option<i64>,
    pub status: Option<String>,
    pub notes: Option<String>,
}

pub(super) fn from_model(m: events::Model) -> EventRecord {
    EventRecord {
        id: m.id,
        venue_id: m.venue_id,
        client_id: m.client_id,
        name: m.name,
        event_type: m.event_type,
        event_date: m.event_date,
        end_date: m.end_date,
        guest_count: m.guest_count,
        budget_cents: m.budget_cents,
        status: m.status,
        notes: m.notes,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

impl DomainStore {
    /// The venue and client of an event, if it exists.
    pub async fn event_ref(&self, event_id: &str) -> StoreResult<Option<EventRefRow>> {
        Ok(Entity::find_by_id(event_id.to_owned())
            .one(&self.db)
            .await?
            .map(|m| EventRefRow {
                id: m.id,
                venue_id: m.venue_id,
                client_id: m.client_id,
                name: m.name,
            }))
    }

    pub async fn event(&self, event_id: &str) -> StoreResult<Option<EventRecord>> {
        Ok(Entity::find_by_id(event_id.to_owned())
            .one(&self.db)
            .await?
            .map(from_model))
    }

    /// Events of a venue in date order (uses the `(venue_id, event_date)` index).
    pub async fn venue_events(
        &self,
        venue_id: &str,
        query: &EventQuery,
    ) -> StoreResult<Vec<EventRecord>> {
        let mut q = Entity::find().filter(Column::VenueId.eq(venue_id));
        if let Some(from) = query.from {
            q = q.filter(Column::EventDate.gte(from));
        }
        if let Some(to) = query.to {
            q = q.filter(Column::EventDate.lte(to));
        }
        if let Some(status) = &query.status {
            q = q.filter(Column::Status.eq(status.as_str()));
        }
        let rows = q
            .order_by_asc(Column::EventDate)
            .limit(query.limit.max(1))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(from_model).collect())
    }

    /// All events of a client, soonest first.
    pub async fn client_events(&self, client_id: &str) -> StoreResult<Vec<EventRecord>> {
        let rows = Entity::find()
            .filter(Column::ClientId.eq(client_id))
            .order_by_asc(Column::EventDate)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(from_model).collect())
    }

    /// Applies the given changes and returns the updated event.
    pub async fn update_event(
        &self,
        event_id: &str,
        changes: &EventChanges,
    ) -> StoreResult<EventRecord> {
        let mut update = Entity::update_many()
            .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(Column::Id.eq(event_id));
        if let Some(v) = &changes.name {
            update = update.col_expr(Column::Name, Expr::value(v.clone()));
        }
        if let Some(v) = changes.event_date {
            update = update.col_expr(Column::EventDate, Expr::value(v));
        }
        if let Some(v) = changes.guest_count {
            update = update.col_expr(Column::GuestCount, Expr::value(v));
        }
        if let Some(v) = changes.budget_cents {
            update = update.col_expr(Column::BudgetCents, Expr::value(v));
        }
        if let Some(v) = &changes.status {
            update = update.col_expr(Column::Status, Expr::value(v.clone()));
        }
        if let Some(v) = &changes.notes {
            update = update.col_expr(Column::Notes, Expr::value(Some(v.clone())));
        }
        let res = update.exec(&self.db).await?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("event"));
        }
        self.event(event_id)
            .await?
            .ok_or(StoreError::NotFound("event"))
    }
}
