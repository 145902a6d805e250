//! Task services for venue staff.
//!
//! Rules: a task belongs to the staff member's venue; its optional event must be an event
//! of that venue; title 1..=200 characters; `dueAt` a date (17:00 UTC that day) or an
//! RFC 3339 date-time; priority `low`, `medium` (default) or `high`; the assignee, when
//! given, must be staff of the same venue. New tasks start `pending`.

use chrono::{NaiveTime, Utc};

use super::{
    DomainError, DomainResult, new_id, parse_date_or_datetime, require_venue, required_text,
    staff_event,
};
use crate::auth::principal::Principal;
use crate::store::domain::{DomainStore, TaskQuery, TaskRecord};

pub const PRIORITIES: &[&str] = &["low", "medium", "high"];
/// Every task status, in workflow order.
pub const TASK_STATUSES: &[&str] = &["pending", "in_progress", "done", "cancelled"];
/// Statuses of tasks that still need doing.
pub const OPEN_STATUSES: &[&str] = &["pending", "in_progress"];

/// Default time of a due date given as a bare day: end of the working day.
const DUE_TIME: NaiveTime = match NaiveTime::from_hms_opt(17, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};

#[derive(Debug, Clone, Default)]
pub struct NewTask {
    pub venue_id: String,
    pub event_id: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub due_at: Option<String>,
    pub priority: Option<String>,
    pub assigned_to: Option<String>,
}

pub async fn create_task(
    store: &DomainStore,
    p: &Principal,
    t: NewTask,
) -> DomainResult<TaskRecord> {
    require_venue(p, &t.venue_id)?;
    if let Some(e) = &t.event_id {
        let event = staff_event(store, p, e).await?;
        if event.venue_id != t.venue_id {
            return Err(DomainError::forbidden("event not accessible"));
        }
    }
    let title = required_text("title", &t.title, 200)?;
    let due_at = t
        .due_at
        .as_deref()
        .map(|d| parse_date_or_datetime("dueAt", d, DUE_TIME))
        .transpose()?;
    let priority = t.priority.unwrap_or_else(|| "medium".into());
    if !PRIORITIES.contains(&priority.as_str()) {
        return Err(DomainError::invalid(
            "priority",
            "must be low, medium or high",
        ));
    }
    if let Some(a) = &t.assigned_to {
        let staff = store.user_profile(a).await?;
        if !staff
            .is_some_and(|u| u.user_type == "venue" && u.venue_id.as_deref() == Some(&t.venue_id))
        {
            return Err(DomainError::invalid(
                "assignedTo",
                "must be a staff member of this venue",
            ));
        }
    }
    let task = TaskRecord {
        id: new_id(),
        venue_id: t.venue_id,
        event_id: t.event_id,
        title,
        description: t
            .description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty()),
        assigned_to: t.assigned_to,
        status: "pending".into(),
        priority,
        due_at,
        created_by: Some(p.user_id.clone()),
        created_at: Utc::now(),
    };
    store.insert_task(&task).await?;
    tracing::info!(task_id = %task.id, user = %p.user_id, "task created");
    Ok(task)
}

/// Open (pending or in-progress) tasks of the venue, soonest due first, at most 100.
pub async fn list_open_tasks(
    store: &DomainStore,
    p: &Principal,
    venue_id: &str,
    event_id: Option<&str>,
    due_before: Option<&str>,
) -> DomainResult<Vec<TaskRecord>> {
    require_venue(p, venue_id)?;
    if let Some(e) = event_id {
        staff_event(store, p, e).await?;
    }
    let due_before = due_before
        .map(|d| parse_date_or_datetime("dueBefore", d, NaiveTime::MIN))
        .transpose()?;
    let q = TaskQuery {
        event_id: event_id.map(str::to_owned),
        statuses: OPEN_STATUSES.iter().map(|s| (*s).to_owned()).collect(),
        due_before,
        limit: 100,
    };
    Ok(store.venue_tasks(venue_id, &q).await?)
}
