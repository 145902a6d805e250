//! Change request queries. Resolving a request and applying it to the event's elements
//! happen in one transaction: either the request is `approved` and its effect is visible,
//! or nothing changed. The request row is only updated while still `open`, so two
//! reviewers racing cannot both apply it.

use chrono::{DateTime, Utc};
use entity::change_requests::{self, Column, Entity};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use serde_json::Value;

use super::DomainStore;
use super::elements::{ElementChanges, NewElement, apply_changes, insert_element, set_status};
use crate::store::{StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeRequestRecord {
    pub id: String,
    pub event_id: String,
    pub element_id: Option<String>,
    pub requested_by: String,
    /// `add`, `modify` or `remove`.
    pub request_type: String,
    pub description: String,
    pub details: Value,
    /// `open`, `approved` or `declined`.
    pub status: String,
    pub resolution_note: Option<String>,
    pub resolved_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// What approving a request does to the elements (decided by `domain::change_requests`).
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeApplication {
    /// Declined: no element changes.
    Nothing,
    Add(NewElement),
    Modify {
        element_id: String,
        changes: ElementChanges,
    },
    /// Moves the element from `expected` status to `cancelled`.
    Cancel {
        element_id: String,
        expected: String,
    },
}

/// The resolution of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    pub status: String,
    pub note: Option<String>,
    pub resolved_by: String,
    pub apply: ChangeApplication,
}

pub(super) fn from_model(m: change_requests::Model) -> ChangeRequestRecord {
    ChangeRequestRecord {
        id: m.id,
        event_id: m.event_id,
        element_id: m.element_id,
        requested_by: m.requested_by,
        request_type: m.request_type,
        description: m.description,
        details: m.details,
        status: m.status,
        resolution_note: m.resolution_note,
        resolved_by: m.resolved_by,
        created_at: m.created_at,
        resolved_at: m.resolved_at,
    }
}

impl DomainStore {
    pub async fn insert_change_request(&self, r: &ChangeRequestRecord) -> StoreResult<()> {
        Entity::insert(change_requests::ActiveModel {
            id: Set(r.id.clone()),
            event_id: Set(r.event_id.clone()),
            element_id: Set(r.element_id.clone()),
            requested_by: Set(r.requested_by.clone()),
            request_type: Set(r.request_type.clone()),
            description: Set(r.description.clone()),
            details: Set(r.details.clone()),
            status: Set(r.status.clone()),
            resolution_note: Set(r.resolution_note.clone()),
            resolved_by: Set(r.resolved_by.clone()),
            created_at: Set(r.created_at),
            resolved_at: Set(r.resolved_at),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }

    pub async fn change_request(&self, id: &str) -> StoreResult<Option<ChangeRequestRecord>> {
        Ok(Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(from_model))
    }

    /// Requests of an event, newest first; only `open` ones when `open_only`.
    pub async fn event_change_requests(
        &self,
        event_id: &str,
        open_only: bool,
    ) -> StoreResult<Vec<ChangeRequestRecord>> {
        let mut q = Entity::find().filter(Column::EventId.eq(event_id));
        if open_only {
            q = q.filter(Column::Status.eq("open"));
        }
        let rows = q.order_by_desc(Column::CreatedAt).all(&self.db).await?;
        Ok(rows.into_iter().map(from_model).collect())
    }

    /// Resolves an open request and applies its effect, atomically.
    pub async fn resolve_change_request(
        &self,
        id: &str,
        resolution: &Resolution,
    ) -> StoreResult<ChangeRequestRecord> {
        let txn = self.db.begin().await?;
        // A new element goes in first: the request row then points at it (foreign key).
        if let ChangeApplication::Add(el) = &resolution.apply {
            insert_element(&txn, el).await?;
        }
        let mut update = Entity::update_many()
            .col_expr(Column::Status, Expr::value(resolution.status.clone()))
            .col_expr(Column::ResolutionNote, Expr::value(resolution.note.clone()))
            .col_expr(
                Column::ResolvedBy,
                Expr::value(Some(resolution.resolved_by.clone())),
            )
            .col_expr(Column::ResolvedAt, Expr::value(Some(Utc::now())))
            .filter(Column::Id.eq(id))
            .filter(Column::Status.eq("open"));
        if let ChangeApplication::Add(el) = &resolution.apply {
            update = update.col_expr(Column::ElementId, Expr::value(Some(el.id.clone())));
        }
        // Dropping `txn` on an early return rolls the element insert back.
        if update.exec(&txn).await?.rows_affected == 0 {
            return Err(StoreError::Conflict(
                "change request is no longer open".into(),
            ));
        }
        match &resolution.apply {
            ChangeApplication::Nothing | ChangeApplication::Add(_) => {}
            ChangeApplication::Modify {
                element_id,
                changes,
            } => {
                apply_changes(&txn, element_id, changes).await?;
            }
            ChangeApplication::Cancel {
                element_id,
                expected,
            } => set_status(&txn, element_id, expected, "cancelled", None).await?,
        }
        txn.commit().await?;
        self.change_request(id)
            .await?
            .ok_or(StoreError::NotFound("change request"))
    }
}
