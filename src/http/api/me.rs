//! `GET /api/v1/me`: who the caller is, and (for a client) their events, soonest first.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::domain::listings::own_events;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::domain::EventRecord;

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user_id: String,
    pub email: String,
    pub name: String,
    /// `client`, `venue`, `vendor` or `admin`.
    pub user_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venue_id: Option<String>,
    /// The client's own events; empty for everyone else.
    pub events: Vec<OwnEvent>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnEvent {
    pub id: String,
    pub name: String,
    pub event_date: DateTime<Utc>,
    pub status: String,
    pub venue_id: String,
}

impl From<EventRecord> for OwnEvent {
    fn from(e: EventRecord) -> Self {
        Self {
            id: e.id,
            name: e.name,
            event_date: e.event_date,
            status: e.status,
            venue_id: e.venue_id,
        }
    }
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", operation_id = "getMe", tag = "me",
    responses(
        (status = 200, body = Me),
        (status = 401, description = "no or bad token", body = super::openapi::ErrorBody),
    ))]
pub async fn show(state: web::Data<AppState>, p: Principal) -> Result<web::Json<Me>, ApiError> {
    let events = own_events(&state.stores.domain, &p).await?;
    Ok(web::Json(Me {
        user_id: p.user_id,
        email: p.email,
        name: p.name,
        user_type: p.user_type.as_str().to_owned(),
        venue_id: p.venue_id,
        events: events.into_iter().map(OwnEvent::from).collect(),
    }))
}
