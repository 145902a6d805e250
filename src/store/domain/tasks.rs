//! Task queries: a venue's to-dos, optionally tied to one of its events.

use chrono::{DateTime, Utc};
use entity::tasks::{self, Column, Entity};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use super::DomainStore;
use crate::store::StoreResult;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRecord {
    pub id: String,
    pub venue_id: String,
    pub event_id: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub assigned_to: Option<String>,
    /// `pending`, `in_progress`, `done` or `cancelled`.
    pub status: String,
    /// `low`, `medium` or `high`.
    pub priority: String,
    pub due_at: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Which tasks of a venue to list.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub event_id: Option<String>,
    /// Only these statuses (all when empty).
    pub statuses: Vec<String>,
    pub due_before: Option<DateTime<Utc>>,
    pub limit: u64,
}

pub(super) fn from_model(m: tasks::Model) -> TaskRecord {
    TaskRecord {
        id: m.id,
        venue_id: m.venue_id,
        event_id: m.event_id,
        title: m.title,
        description: m.description,
        assigned_to: m.assigned_to,
        status: m.status,
        priority: m.priority,
        due_at: m.due_at,
        created_by: m.created_by,
        created_at: m.created_at,
    }
}

impl DomainStore {
    pub async fn insert_task(&self, t: &TaskRecord) -> StoreResult<()> {
        Entity::insert(tasks::ActiveModel {
            id: Set(t.id.clone()),
            venue_id: Set(t.venue_id.clone()),
            event_id: Set(t.event_id.clone()),
            title: Set(t.title.clone()),
            description: Set(t.description.clone()),
            assigned_to: Set(t.assigned_to.clone()),
            status: Set(t.status.clone()),
            priority: Set(t.priority.clone()),
            due_at: Set(t.due_at),
            created_by: Set(t.created_by.clone()),
            created_at: Set(t.created_at),
            updated_at: Set(t.created_at),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }

    pub async fn task(&self, id: &str) -> StoreResult<Option<TaskRecord>> {
        Ok(Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(from_model))
    }

    /// Tasks of a venue, soonest due first (undated last), then oldest.
    pub async fn venue_tasks(&self, venue_id: &str, q: &TaskQuery) -> StoreResult<Vec<TaskRecord>> {
        let mut sel = Entity::find().filter(Column::VenueId.eq(venue_id));
        if let Some(e) = &q.event_id {
            sel = sel.filter(Column::EventId.eq(e.as_str()));
        }
        if !q.statuses.is_empty() {
            sel = sel.filter(Column::Status.is_in(q.statuses.iter().map(String::as_str)));
        }
        if let Some(d) = q.due_before {
            sel = sel.filter(Column::DueAt.lt(d));
        }
        let mut rows: Vec<TaskRecord> = sel
            .order_by_asc(Column::CreatedAt)
            .limit(q.limit.max(1))
            .all(&self.db)
            .await?
            .into_iter()
            .map(from_model)
            .collect();
        // Sorted here because NULLS LAST is spelled differently on SQLite and Postgres.
        rows.sort_by_key(|t| (t.due_at.is_none(), t.due_at));
        Ok(rows)
    }
}
