//! Change requests: how a client asks for an element to be added, modified or removed.
//!
//! Rules:
//! - only the event's client creates requests, and creating one never touches an element;
//!   `modify`/`remove` name an element of that event that is not final, `add` may name an
//!   active offering of the event's venue (kept in `details.offering_id`);
//! - only staff of the event's venue review them, and only while `open`;
//! - approving applies the request in the same transaction as the status change:
//!   `add` → a new element in `pending_approval` (from the offering: per-guest offerings
//!   are priced for the event's guest count; otherwise from `details` name/category/
//!   price_cents/quantity/vendor_id); `modify` → the element's fields from `details`
//!   (name, description, category, quantity ≥ 1, price_cents ≥ 0, vendor_id approved at the
//!   venue, notes; with none of them, the request text is added as a note); `remove` →
//!   the element `cancelled`. Declining changes no element.

use chrono::Utc;
use serde::Serialize;
use serde_json::{Map, Value};

use super::elements::is_final;
use super::{DomainError, DomainResult, authorized_event, new_id, required_text, staff_event};
use crate::auth::principal::{Principal, UserType};
use crate::store::domain::{
    ChangeApplication, ChangeRequestRecord, DomainStore, ElementChanges, ElementRecord,
    EventRecord, NewElement, Resolution,
};

pub const REQUEST_TYPES: &[&str] = &["add", "modify", "remove"];

#[derive(Debug, Clone, Default)]
pub struct NewChangeRequest {
    pub event_id: String,
    pub request_type: String,
    pub element_id: Option<String>,
    pub offering_id: Option<String>,
    pub description: String,
    pub details: Option<Map<String, Value>>,
}

/// The result of a review.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewOutcome {
    pub request: ChangeRequestRecord,
    /// The element added, modified or cancelled (after the change), if any.
    pub element: Option<ElementRecord>,
    #[serde(skip)]
    pub event: EventRecord,
}

async fn event_element(
    store: &DomainStore,
    event: &EventRecord,
    id: Option<&str>,
) -> DomainResult<ElementRecord> {
    let id =
        id.ok_or_else(|| DomainError::invalid("elementId", "required for modify and remove"))?;
    let el = store.element(id).await?.filter(|e| e.event_id == event.id);
    let el = el.ok_or_else(|| DomainError::NotFound("element of this event".into()))?;
    if is_final(&el.status) {
        return Err(DomainError::Conflict(format!(
            "element {:?} is already {}",
            el.name, el.status
        )));
    }
    Ok(el)
}

pub async fn request_change(
    store: &DomainStore,
    p: &Principal,
    r: NewChangeRequest,
) -> DomainResult<ChangeRequestRecord> {
    let event = authorized_event(store, p, &r.event_id).await?;
    if p.user_type != UserType::Client {
        return Err(DomainError::forbidden(
            "only the event's client makes change requests; staff change elements directly",
        ));
    }
    if !REQUEST_TYPES.contains(&r.request_type.as_str()) {
        return Err(DomainError::invalid(
            "requestType",
            "must be add, modify or remove",
        ));
    }
    let description = required_text("description", &r.description, 2000)?;
    let mut details = r.details.unwrap_or_default();
    let element_id = if r.request_type == "add" {
        if r.element_id.is_some() {
            return Err(DomainError::invalid("elementId", "not used for add"));
        }
        if let Some(o) = &r.offering_id {
            let offering = store
                .offering(o)
                .await?
                .filter(|x| x.venue_id == event.venue_id && x.active);
            offering.ok_or_else(|| DomainError::NotFound("offering at this venue".into()))?;
            details.insert("offering_id".into(), Value::String(o.clone()));
        }
        None
    } else {
        Some(
            event_element(store, &event, r.element_id.as_deref())
                .await?
                .id,
        )
    };
    let record = ChangeRequestRecord {
        id: new_id(),
        event_id: event.id.clone(),
        element_id,
        requested_by: p.user_id.clone(),
        request_type: r.request_type,
        description,
        details: Value::Object(details),
        status: "open".into(),
        resolution_note: None,
        resolved_by: None,
        created_at: Utc::now(),
        resolved_at: None,
    };
    store.insert_change_request(&record).await?;
    tracing::info!(event_id = %event.id, request_id = %record.id, "change request created");
    Ok(record)
}

fn text(d: &Value, key: &str) -> Option<String> {
    d.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A whole number from the request details; a `{"from": a, "to": b}` change (as clients
/// phrase requests) means `b`.
fn number(d: &Value, key: &str, min: i64) -> DomainResult<Option<i64>> {
    let value = match d.get(key) {
        Some(Value::Object(change)) => change.get("to"),
        other => other,
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n >= min => Ok(Some(n)),
            _ => Err(DomainError::invalid(
                key,
                format!("must be an integer ≥ {min}"),
            )),
        },
    }
}

async fn approved_vendor(
    store: &DomainStore,
    venue_id: &str,
    d: &Value,
) -> DomainResult<Option<String>> {
    let Some(v) = text(d, "vendor_id") else {
        return Ok(None);
    };
    match store.venue_vendor_status(venue_id, &v).await?.as_deref() {
        Some("approved") => Ok(Some(v)),
        _ => Err(DomainError::invalid(
            "vendor_id",
            "vendor is not approved at this venue",
        )),
    }
}

async fn plan_add(
    store: &DomainStore,
    event: &EventRecord,
    cr: &ChangeRequestRecord,
) -> DomainResult<NewElement> {
    let d = &cr.details;
    let quantity = number(d, "quantity", 1)?;
    let mut el = NewElement {
        id: new_id(),
        event_id: event.id.clone(),
        offering_id: None,
        vendor_id: approved_vendor(store, &event.venue_id, d).await?,
        category: text(d, "category").unwrap_or_else(|| "other".into()),
        name: text(d, "name").unwrap_or_else(|| cr.description.chars().take(80).collect()),
        description: text(d, "description").unwrap_or_else(|| cr.description.clone()),
        quantity: 1,
        price_cents: number(d, "price_cents", 0)?.unwrap_or(0),
        status: "pending_approval".into(),
        notes: Some(format!("Added from change request: {}", cr.description)),
    };
    if let Some(o) = text(d, "offering_id") {
        let off = store
            .offering(&o)
            .await?
            .filter(|x| x.venue_id == event.venue_id && x.active);
        let off = off.ok_or_else(|| DomainError::NotFound("offering at this venue".into()))?;
        let qty = if off.unit == "per_guest" {
            i64::from(event.guest_count)
        } else {
            quantity.unwrap_or(1)
        };
        el.quantity = i32::try_from(qty).unwrap_or(i32::MAX);
        el.price_cents = off.price_cents.saturating_mul(qty);
        el.offering_id = Some(off.id);
        el.vendor_id = off.vendor_id.or(el.vendor_id);
        el.category = off.category;
        el.name = off.name;
        el.description = off.description;
    } else if let Some(q) = quantity {
        el.quantity = i32::try_from(q).unwrap_or(i32::MAX);
    }
    Ok(el)
}

async fn plan(
    store: &DomainStore,
    event: &EventRecord,
    cr: &ChangeRequestRecord,
) -> DomainResult<ChangeApplication> {
    match cr.request_type.as_str() {
        "add" => Ok(ChangeApplication::Add(plan_add(store, event, cr).await?)),
        "modify" => {
            let el = event_element(store, event, cr.element_id.as_deref()).await?;
            let d = &cr.details;
            let mut changes = ElementChanges {
                name: text(d, "name"),
                description: text(d, "description"),
                category: text(d, "category"),
                quantity: number(d, "quantity", 1)?.map(|q| i32::try_from(q).unwrap_or(i32::MAX)),
                price_cents: number(d, "price_cents", 0)?,
                vendor_id: approved_vendor(store, &event.venue_id, d).await?,
                notes: text(d, "notes"),
            };
            if changes == ElementChanges::default() {
                changes.notes = Some(format!("Change approved: {}", cr.description));
            }
            Ok(ChangeApplication::Modify {
                element_id: el.id,
                changes,
            })
        }
        _ => {
            let el = event_element(store, event, cr.element_id.as_deref()).await?;
            Ok(ChangeApplication::Cancel {
                element_id: el.id,
                expected: el.status,
            })
        }
    }
}

/// The one line a review is announced with (a tool's title, the domain bus):
/// "Approved the modify request: Increase vegetarian meals ...".
pub fn review_summary(out: &ReviewOutcome) -> String {
    let verb = if out.request.status == "approved" {
        "Approved"
    } else {
        "Declined"
    };
    format!(
        "{verb} the {} request: {}",
        out.request.request_type,
        out.request.description.chars().take(60).collect::<String>()
    )
}

pub async fn review_change_request(
    store: &DomainStore,
    p: &Principal,
    request_id: &str,
    approve: bool,
    note: Option<&str>,
) -> DomainResult<ReviewOutcome> {
    let cr = store
        .change_request(request_id)
        .await?
        .ok_or_else(|| DomainError::NotFound("change request".into()))?;
    let event = staff_event(store, p, &cr.event_id).await?;
    if cr.status != "open" {
        return Err(DomainError::Conflict(format!(
            "change request is already {}",
            cr.status
        )));
    }
    let apply = if approve {
        plan(store, &event, &cr).await?
    } else {
        ChangeApplication::Nothing
    };
    let element_id = match &apply {
        ChangeApplication::Nothing => None,
        ChangeApplication::Add(el) => Some(el.id.clone()),
        ChangeApplication::Modify { element_id, .. }
        | ChangeApplication::Cancel { element_id, .. } => Some(element_id.clone()),
    };
    let resolution = Resolution {
        status: if approve { "approved" } else { "declined" }.into(),
        note: note
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
        resolved_by: p.user_id.clone(),
        apply,
    };
    let request = store
        .resolve_change_request(request_id, &resolution)
        .await?;
    let element = match element_id {
        Some(id) => store.element(&id).await?,
        None => None,
    };
    tracing::info!(request_id, status = %request.status, user = %p.user_id, "change request reviewed");
    Ok(ReviewOutcome {
        request,
        element,
        event,
    })
}
