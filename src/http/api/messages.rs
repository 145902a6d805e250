//! `GET /api/v1/events/{event_id}/messages` (the event's messages: all of them for its
//! venue's staff, the ones they sent or received for its client) and
//! `GET /api/v1/venues/{venue_id}/messages` (the venue's, for its staff); newest first.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::paging::{Page, PageQuery};
use crate::auth::Principal;
use crate::domain::listings::{event_messages, venue_messages};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::domain::MessageRecord;

#[derive(Debug, Serialize, ToSchema)]
pub struct Message {
    pub id: String,
    pub venue_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub sender_id: String,
    pub sender_name: String,
    /// `client`, `vendor` or `venue`.
    pub recipient_type: String,
    /// A user id (client, venue) or a vendor id (vendor).
    pub recipient_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_at: Option<DateTime<Utc>>,
}

impl From<MessageRecord> for Message {
    fn from(m: MessageRecord) -> Self {
        Self {
            id: m.id,
            venue_id: m.venue_id,
            event_id: m.event_id,
            sender_id: m.sender_id,
            sender_name: m.sender_name,
            recipient_type: m.recipient_type,
            recipient_id: m.recipient_id,
            subject: m.subject,
            body: m.body,
            created_at: m.created_at,
            read_at: m.read_at,
        }
    }
}

/// The event's messages.
#[utoipa::path(get, path = "/api/v1/events/{event_id}/messages", operation_id = "listEventMessages", tag = "messages",
    params(("event_id" = String, Path, description = "The event id"), PageQuery),
    responses(
        (status = 200, body = Page<Message>),
        (status = 400, description = "bad limit or cursor", body = super::openapi::ErrorBody),
        (status = 401, body = super::openapi::ErrorBody),
        (status = 403, body = super::openapi::ErrorBody),
        (status = 404, body = super::openapi::ErrorBody),
    ))]
pub async fn for_event(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<Message>>, ApiError> {
    let rows = event_messages(&state.stores.domain, &p, &path, &page.request()?).await?;
    Ok(web::Json(Page::of(rows, Message::from)))
}

/// The venue's messages.
#[utoipa::path(get, path = "/api/v1/venues/{venue_id}/messages", operation_id = "listVenueMessages", tag = "messages",
    params(("venue_id" = String, Path, description = "The venue id"), PageQuery),
    responses(
        (status = 200, body = Page<Message>),
        (status = 400, description = "bad limit or cursor", body = super::openapi::ErrorBody),
        (status = 401, body = super::openapi::ErrorBody),
        (status = 403, body = super::openapi::ErrorBody),
        (status = 404, body = super::openapi::ErrorBody),
    ))]
pub async fn for_venue(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<Message>>, ApiError> {
    let rows = venue_messages(&state.stores.domain, &p, &path, &page.request()?).await?;
    Ok(web::Json(Page::of(rows, Message::from)))
}
