//! `GET /api/v1/venues/{venue_id}/tasks`: the venue's tasks, paged, soonest due first
//! (undated last), for its staff. Without `status`, the open ones (`pending`, `in_progress`).

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::paging::{Page, PageQuery};
use crate::auth::Principal;
use crate::domain::listings::{TaskListing, venue_tasks};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskFilter {
    /// Comma-separated statuses among `pending`, `in_progress`, `done`, `cancelled`
    /// (default `pending,in_progress`).
    pub status: Option<String>,
    /// Only the tasks of this event (of the venue).
    pub event_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Task {
    pub id: String,
    pub venue_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The staff member's user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    pub status: String,
    /// `low`, `medium` or `high`.
    pub priority: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<TaskListing> for Task {
    fn from(l: TaskListing) -> Self {
        let t = l.task;
        Self {
            id: t.id,
            venue_id: t.venue_id,
            event_id: t.event_id,
            event_name: l.event_name,
            title: t.title,
            description: t.description,
            assigned_to: t.assigned_to,
            status: t.status,
            priority: t.priority,
            due_at: t.due_at,
            created_at: t.created_at,
        }
    }
}

/// The venue's tasks.
#[utoipa::path(get, path = "/api/v1/venues/{venue_id}/tasks", operation_id = "listVenueTasks", tag = "tasks",
    params(("venue_id" = String, Path, description = "The venue id"), TaskFilter, PageQuery),
    responses(
        (status = 200, body = Page<Task>),
        (status = 400, description = "bad status, limit or cursor", body = super::openapi::ErrorBody),
        (status = 401, body = super::openapi::ErrorBody),
        (status = 403, body = super::openapi::ErrorBody),
        (status = 404, body = super::openapi::ErrorBody),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<String>,
    filter: web::Query<TaskFilter>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<Task>>, ApiError> {
    let rows = venue_tasks(
        &state.stores.domain,
        &p,
        &path,
        filter.status.as_deref(),
        filter.event_id.as_deref(),
        &page.request()?,
    )
    .await?;
    Ok(web::Json(Page::of(rows, Task::from)))
}
