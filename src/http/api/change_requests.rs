//! `GET /api/v1/venues/{venue_id}/change-requests` (paged, newest first) and
//! `POST .../change-requests/{request_id}/approve|decline` (body `{"note": ".."}` or empty),
//! for the venue's staff.
//!
//! A review goes through `domain::views::review_at_venue` (a request of another venue's
//! event is 404, an already resolved one 409), then is announced on the domain bus with
//! the same one-line summary the `reviewChangeRequest` tool uses, so the live threads of
//! the event (the client's) learn it before their next turn. No `tool_calls` audit row is
//! written: that table records assistant tool calls (it needs a thread and an agent).

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::events::Element;
use super::paging::{Page, PageQuery};
use crate::auth::Principal;
use crate::domain::change_requests::review_summary;
use crate::domain::views::{ChangeRequestView, review_at_venue, venue_change_requests};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestFilter {
    /// `open`, `approved` or `declined` (default: all).
    pub status: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeRequest {
    pub id: String,
    pub event_id: String,
    pub event_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element_name: Option<String>,
    /// The requester's user id.
    pub requested_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_by_name: Option<String>,
    /// `add`, `modify` or `remove`.
    pub request_type: String,
    pub description: String,
    /// What to change, as the client asked (free-form).
    #[schema(value_type = Object)]
    pub details: Value,
    /// `open`, `approved` or `declined`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
}

impl From<ChangeRequestView> for ChangeRequest {
    fn from(v: ChangeRequestView) -> Self {
        let r = v.request;
        Self {
            id: r.id,
            event_id: r.event_id,
            event_name: v.event_name,
            element_id: r.element_id,
            element_name: v.element_name,
            requested_by: r.requested_by,
            requested_by_name: v.requested_by_name,
            request_type: r.request_type,
            description: r.description,
            details: r.details,
            status: r.status,
            resolution_note: r.resolution_note,
            resolved_by: r.resolved_by,
            created_at: r.created_at,
            resolved_at: r.resolved_at,
        }
    }
}

/// The venue's change requests.
#[utoipa::path(get, path = "/api/v1/venues/{venue_id}/change-requests", operation_id = "listVenueChangeRequests", tag = "change requests",
    params(("venue_id" = String, Path, description = "The venue id"), RequestFilter, PageQuery),
    responses(
        (status = 200, body = Page<ChangeRequest>),
        (status = 400, description = "bad status, limit or cursor", body = super::openapi::ErrorBody),
        (status = 401, body = super::openapi::ErrorBody),
        (status = 403, body = super::openapi::ErrorBody),
        (status = 404, body = super::openapi::ErrorBody),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<String>,
    filter: web::Query<RequestFilter>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<ChangeRequest>>, ApiError> {
    let rows = venue_change_requests(
        &state.stores.domain,
        &p,
        &path,
        filter.status.as_deref(),
        &page.request()?,
    )
    .await?;
    Ok(web::Json(Page::of(rows, ChangeRequest::from)))
}

/// The optional body of a review.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReviewBody {
    /// Shown to the client as the resolution note.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewResult {
    pub request: ChangeRequest,
    /// The element added, changed or cancelled by an approval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<Element>,
}

/// An empty body means no note; anything else must be the JSON object.
fn parse_body(body: &[u8]) -> Result<ReviewBody, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ReviewBody::default());
    }
    crate::http::json_body::parse(body)
}

async fn review(
    state: &AppState,
    p: &Principal,
    (venue_id, request_id): (String, String),
    body: &[u8],
    approve: bool,
) -> Result<web::Json<ReviewResult>, ApiError> {
    let body = parse_body(body)?;
    let note = body.note.as_deref();
    let Some(cluster) = &state.cluster else {
        let v = review_at_venue(
            &state.stores.domain,
            p,
            &venue_id,
            &request_id,
            approve,
            note,
        )
        .await?;
        let event = &v.outcome.event;
        state.registry.bus().publish(
            &event.venue_id,
            &event.id,
            &review_summary(&v.outcome),
            None,
        );
        return Ok(web::Json(ReviewResult {
            request: v.request.into(),
            element: v.element.map(Element::from),
        }));
    };
    // In a cluster the review and the outbox row that tells the other nodes commit together
    // (`cluster::outbox`); this node's threads and pages are told after the commit.
    let txn = std::sync::Arc::new(sea_orm::TransactionTrait::begin(&state.stores.db).await?);
    let domain = state.stores.domain.in_transaction(txn.clone());
    let v = review_at_venue(&domain, p, &venue_id, &request_id, approve, note).await?;
    let change = crate::store::OutboxChange {
        venue_id: v.outcome.event.venue_id.clone(),
        event_id: v.outcome.event.id.clone(),
        summary: review_summary(&v.outcome),
        origin_thread: None,
    };
    crate::store::OutboxStore::append_on(&*txn, &change, cluster.node_id()).await?;
    drop(domain);
    std::sync::Arc::try_unwrap(txn)
        .map_err(|_| ApiError::internal("the review's transaction is still shared"))?
        .commit()
        .await?;
    state
        .registry
        .bus()
        .deliver_local(crate::conversation::DomainChange {
            venue_id: change.venue_id,
            event_id: change.event_id,
            summary: change.summary,
            origin_thread: None,
        });
    Ok(web::Json(ReviewResult {
        request: v.request.into(),
        element: v.element.map(Element::from),
    }))
}

/// Approves an open request and applies it.
#[utoipa::path(post, path = "/api/v1/venues/{venue_id}/change-requests/{request_id}/approve", operation_id = "approveChangeRequest",
    tag = "change requests",
    params(("venue_id" = String, Path, description = "The venue id"),
        ("request_id" = String, Path, description = "The change request id")),
    request_body(content = Option<ReviewBody>, description = "Optional; an empty body is allowed"),
    responses(
        (status = 200, body = ReviewResult),
        (status = 400, body = super::openapi::ErrorBody),
        (status = 401, body = super::openapi::ErrorBody),
        (status = 403, body = super::openapi::ErrorBody),
        (status = 404, description = "no such request at this venue", body = super::openapi::ErrorBody),
        (status = 409, description = "already resolved", body = super::openapi::ErrorBody),
    ))]
pub async fn approve(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<web::Json<ReviewResult>, ApiError> {
    review(&state, &p, path.into_inner(), &body, true).await
}

/// Declines an open request; no element changes.
#[utoipa::path(post, path = "/api/v1/venues/{venue_id}/change-requests/{request_id}/decline", operation_id = "declineChangeRequest",
    tag = "change requests",
    params(("venue_id" = String, Path, description = "The venue id"),
        ("request_id" = String, Path, description = "The change request id")),
    request_body(content = Option<ReviewBody>, description = "Optional; an empty body is allowed"),
    responses(
        (status = 200, body = ReviewResult),
        (status = 400, body = super::openapi::ErrorBody),
        (status = 401, body = super::openapi::ErrorBody),
        (status = 403, body = super::openapi::ErrorBody),
        (status = 404, description = "no such request at this venue", body = super::openapi::ErrorBody),
        (status = 409, description = "already resolved", body = super::openapi::ErrorBody),
    ))]
pub async fn decline(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<web::Json<ReviewResult>, ApiError> {
    review(&state, &p, path.into_inner(), &body, false).await
}
