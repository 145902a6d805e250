//! `GET /api/v1/venues/{venue_id}/events` (a venue's events, paged, for its staff) and
//! `GET /api/v1/events/{event_id}` (one event with its elements, guests, contract and
//! change requests, for its client or its venue's staff).

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::change_requests::ChangeRequest;
use super::paging::{Page, PageQuery};
use crate::auth::Principal;
use crate::domain::format_cents;
use crate::domain::guests::GuestCounts as DomainGuestCounts;
use crate::domain::listings::{EventListQuery, EventListing, venue_events};
use crate::domain::views::{ElementView, event_overview};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::domain::GuestRecord;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    /// First day, `YYYY-MM-DD` (inclusive).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    /// `inquiry`, `planning`, `confirmed`, `completed` or `cancelled`.
    pub status: Option<String>,
}

/// A row of the venue's event list.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventRow {
    pub id: String,
    pub name: String,
    pub event_type: String,
    pub event_date: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<DateTime<Utc>>,
    pub status: String,
    pub guest_count: i32,
    /// Guests whose RSVP is `attending`.
    pub confirmed_guests: i64,
    /// Elements not yet declined or cancelled.
    pub pending_elements: i64,
    pub client_id: String,
    pub client_name: String,
}

impl From<EventListing> for EventRow {
    fn from(l: EventListing) -> Self {
        let e = l.event;
        Self {
            id: e.id,
            name: e.name,
            event_type: e.event_type,
            event_date: e.event_date,
            end_date: e.end_date,
            status: e.status,
            guest_count: e.guest_count,
            confirmed_guests: l.confirmed_guests,
            pending_elements: l.pending_elements,
            client_id: e.client_id,
            client_name: l.client_name,
        }
    }
}

/// A venue's events, soonest first.
#[utoipa::path(get, path = "/api/v1/venues/{venue_id}/events", operation_id = "listVenueEvents", tag = "events",
    params(("venue_id" = String, Path, description = "The venue id"), EventFilter, PageQuery),
    responses(
        (status = 200, body = Page<EventRow>),
        (status = 400, description = "bad date, status, limit or cursor", body = super::openapi::ErrorBody),
        (status = 401, body = super::openapi::ErrorBody),
        (status = 403, body = super::openapi::ErrorBody),
        (status = 404, body = super::openapi::ErrorBody),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<String>,
    filter: web::Query<EventFilter>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<EventRow>>, ApiError> {
    let filter = filter.into_inner();
    let q = EventListQuery {
        from: filter.from,
        to: filter.to,
        status: filter.status,
    };
    let rows = venue_events(&state.stores.domain, &p, &path, &q, &page.request()?).await?;
    Ok(web::Json(Page::of(rows, EventRow::from)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventInfo {
    pub id: String,
    pub venue_id: String,
    pub venue_name: String,
    pub client_id: String,
    pub client_name: String,
    pub name: String,
    pub event_type: String,
    pub event_date: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<DateTime<Utc>>,
    pub guest_count: i32,
    pub budget_cents: i64,
    /// `budget_cents` as `$1,234.56`.
    pub budget: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Element {
    pub id: String,
    pub category: String,
    pub name: String,
    pub description: String,
    pub quantity: i32,
    /// Total price of the element.
    pub price_cents: i64,
    pub price: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl From<ElementView> for Element {
    fn from(v: ElementView) -> Self {
        let e = v.element;
        Self {
            id: e.id,
            category: e.category,
            name: e.name,
            description: e.description,
            quantity: e.quantity,
            price: format_cents(e.price_cents),
            price_cents: e.price_cents,
            status: e.status,
            vendor_id: e.vendor_id,
            vendor_name: v.vendor_name,
            notes: e.notes,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Guest {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// `pending`, `attending`, `declined` or `maybe`.
    pub rsvp_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dietary_needs: Option<String>,
    pub plus_one: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_number: Option<i32>,
}

impl From<GuestRecord> for Guest {
    fn from(g: GuestRecord) -> Self {
        Self {
            id: g.id,
            name: g.name,
            email: g.email,
            phone: g.phone,
            rsvp_status: g.rsvp_status.as_str().to_owned(),
            dietary_needs: g.dietary_needs,
            plus_one: g.plus_one,
            table_number: g.table_number,
        }
    }
}

/// The guest list's counts (`domain::guests::GuestCounts`).
#[derive(Debug, Serialize, ToSchema)]
pub struct GuestCounts {
    pub total: usize,
    pub attending: usize,
    pub pending: usize,
    pub maybe: usize,
    pub declined: usize,
    /// Attending and pending guests, plus-ones included: what counts against capacity.
    pub counted_heads: i64,
}

impl From<DomainGuestCounts> for GuestCounts {
    fn from(c: DomainGuestCounts) -> Self {
        Self {
            total: c.total,
            attending: c.attending,
            pending: c.pending,
            maybe: c.maybe,
            declined: c.declined,
            counted_heads: c.counted_heads,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Contract {
    /// `draft`, `sent`, `signed` or `cancelled`.
    pub status: String,
    pub subtotal_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
    /// `total_cents` as `$1,234.56`.
    pub total: String,
    pub deposit_cents: i64,
    pub deposit_paid: bool,
    pub balance_due_cents: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<DateTime<Utc>>,
    /// `{description, quantity, unit_price_cents, unit_price, total_cents, total}`.
    #[schema(value_type = Vec<Object>)]
    pub line_items: Vec<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub event: EventInfo,
    pub elements: Vec<Element>,
    /// The price of the elements not declined or cancelled, in cents and formatted.
    pub active_total_cents: i64,
    pub active_total: String,
    pub guests: Vec<Guest>,
    pub guest_counts: GuestCounts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract: Option<Contract>,
    /// Every change request of the event, newest first.
    pub change_requests: Vec<ChangeRequest>,
}

/// One event with everything its page shows.
#[utoipa::path(get, path = "/api/v1/events/{event_id}", operation_id = "getEvent", tag = "events",
    params(("event_id" = String, Path, description = "The event id")),
    responses(
        (status = 200, body = EventPage),
        (status = 401, body = super::openapi::ErrorBody),
        (status = 403, description = "not the event's client nor staff of its venue", body = super::openapi::ErrorBody),
        (status = 404, body = super::openapi::ErrorBody),
    ))]
pub async fn show(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<String>,
) -> Result<web::Json<EventPage>, ApiError> {
    let o = event_overview(&state.stores.domain, &p, &path).await?;
    let d = o.details;
    let e = d.event;
    let contract = o.contract.map(|c| Contract {
        status: c.status,
        subtotal_cents: c.subtotal_cents,
        tax_cents: c.tax_cents,
        total: format_cents(c.total_cents),
        total_cents: c.total_cents,
        deposit_cents: c.deposit_cents,
        deposit_paid: c.deposit_paid,
        balance_due_cents: c.balance_due_cents,
        signed_at: c.signed_at,
        line_items: c.line_items,
    });
    let active_total_cents = d.elements_total_cents;
    Ok(web::Json(EventPage {
        active_total_cents,
        active_total: format_cents(active_total_cents),
        event: EventInfo {
            id: e.id,
            venue_id: e.venue_id,
            venue_name: d.venue_name,
            client_id: e.client_id,
            client_name: d.client_name,
            name: e.name,
            event_type: e.event_type,
            event_date: e.event_date,
            end_date: e.end_date,
            guest_count: e.guest_count,
            budget: format_cents(e.budget_cents),
            budget_cents: e.budget_cents,
            status: e.status,
            notes: e.notes,
        },
        elements: o.elements.into_iter().map(Element::from).collect(),
        guests: o.guests.guests.into_iter().map(Guest::from).collect(),
        guest_counts: o.guests.counts.into(),
        contract,
        change_requests: o
            .change_requests
            .into_iter()
            .map(ChangeRequest::from)
            .collect(),
    }))
}
