//! Read models for the web pages: an event with everything its page shows, and change
//! requests with the names beside their ids; plus the venue-scoped review of a request.
//!
//! Everything here authorizes through the same services the assistants use
//! (`events::event_details`, `guests::list_guests`, `contracts::view_contract`,
//! `change_requests::review_change_request`); the extra work is only name lookups, one
//! query per kind of name.

use std::collections::HashMap;

use super::change_requests::{ReviewOutcome, review_change_request};
use super::contracts::{ContractView, view_contract};
use super::events::{EventDetails, event_details};
use super::guests::{GuestList, list_guests};
use super::paging::{PageRequest, unknown_cursor};
use super::venues::staff_venue;
use super::{DomainError, DomainResult};
use crate::auth::principal::Principal;
use crate::store::PageOf;
use crate::store::domain::{ChangeRequestRecord, DomainStore, ElementRecord};

/// Request statuses a list may be filtered by.
pub const REQUEST_STATUSES: &[&str] = &["open", "approved", "declined"];

/// A change request and the names of what it points at.
#[derive(Debug, Clone)]
pub struct ChangeRequestView {
    pub request: ChangeRequestRecord,
    pub event_name: String,
    pub element_name: Option<String>,
    pub requested_by_name: Option<String>,
}

/// An element and the name of its vendor.
#[derive(Debug, Clone)]
pub struct ElementView {
    pub element: ElementRecord,
    pub vendor_name: Option<String>,
}

/// What the event page shows.
#[derive(Debug, Clone)]
pub struct EventOverview {
    pub details: EventDetails,
    pub elements: Vec<ElementView>,
    pub guests: GuestList,
    pub contract: Option<ContractView>,
    /// Every request of the event (open and resolved), newest first.
    pub change_requests: Vec<ChangeRequestView>,
}

/// A review and the names its answer shows.
#[derive(Debug, Clone)]
pub struct ReviewView {
    pub outcome: ReviewOutcome,
    pub request: ChangeRequestView,
    pub element: Option<ElementView>,
}

/// Names for requests the caller was already allowed to see.
async fn describe_requests(
    store: &DomainStore,
    requests: Vec<ChangeRequestRecord>,
) -> DomainResult<Vec<ChangeRequestView>> {
    let events = store
        .event_names(requests.iter().map(|r| r.event_id.as_str()))
        .await?;
    let elements = store
        .element_names(requests.iter().filter_map(|r| r.element_id.as_deref()))
        .await?;
    let users = store
        .user_names(requests.iter().map(|r| r.requested_by.as_str()))
        .await?;
    Ok(requests
        .into_iter()
        .map(|request| ChangeRequestView {
            event_name: events.get(&request.event_id).cloned().unwrap_or_default(),
            element_name: lookup(&elements, request.element_id.as_deref()),
            requested_by_name: users.get(&request.requested_by).cloned(),
            request,
        })
        .collect())
}

/// Vendor names for elements the caller was already allowed to see.
async fn describe_elements(
    store: &DomainStore,
    elements: Vec<ElementRecord>,
) -> DomainResult<Vec<ElementView>> {
    let vendors = store
        .vendor_names(elements.iter().filter_map(|e| e.vendor_id.as_deref()))
        .await?;
    Ok(elements
        .into_iter()
        .map(|element| ElementView {
            vendor_name: lookup(&vendors, element.vendor_id.as_deref()),
            element,
        })
        .collect())
}

fn lookup(names: &HashMap<String, String>, id: Option<&str>) -> Option<String> {
    id.and_then(|i| names.get(i).cloned())
}

/// The event page, for its client or its venue's staff.
pub async fn event_overview(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
) -> DomainResult<EventOverview> {
    let mut details = event_details(store, p, event_id).await?;
    let guests = list_guests(store, p, event_id, None).await?;
    let contract = match view_contract(store, p, event_id).await {
        Ok(c) => Some(c),
        // The event was authorized above, so this can only mean "no contract yet".
        Err(DomainError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let requests = store.event_change_requests(event_id, false).await?;
    let elements = describe_elements(store, std::mem::take(&mut details.elements)).await?;
    Ok(EventOverview {
        details,
        elements,
        guests,
        contract,
        change_requests: describe_requests(store, requests).await?,
    })
}

/// One page of the change requests of the venue's events, newest first, for its staff.
pub async fn venue_change_requests(
    store: &DomainStore,
    p: &Principal,
    venue_id: &str,
    status: Option<&str>,
    page: &PageRequest,
) -> DomainResult<PageOf<ChangeRequestView>> {
    staff_venue(store, p, venue_id).await?;
    let status = status.map(str::trim).filter(|s| !s.is_empty());
    if let Some(s) = status
        && !REQUEST_STATUSES.contains(&s)
    {
        return Err(DomainError::invalid(
            "status",
            format!(
                "unknown change request status {s:?}; expected one of {}",
                REQUEST_STATUSES.join(", ")
            ),
        ));
    }
    let anchor = match &page.after {
        Some(id) => {
            let r = store.change_request(id).await?.ok_or_else(unknown_cursor)?;
            if !request_in_venue(store, &r, venue_id).await? {
                return Err(unknown_cursor());
            }
            Some(r)
        }
        None => None,
    };
    let rows = store
        .venue_change_requests_page(venue_id, status, anchor.as_ref(), page.limit)
        .await?;
    let PageOf {
        data,
        has_more,
        after,
    } = rows;
    Ok(PageOf {
        data: describe_requests(store, data).await?,
        has_more,
        after,
    })
}

async fn request_in_venue(
    store: &DomainStore,
    r: &ChangeRequestRecord,
    venue_id: &str,
) -> DomainResult<bool> {
    Ok(store
        .event_ref(&r.event_id)
        .await?
        .is_some_and(|e| e.venue_id == venue_id))
}

/// Approves or declines a request of one of the venue's events. A request of another
/// venue's event is `NotFound` here (the id does not name a request *of this venue*); the
/// review itself re-checks everything (`change_requests::review_change_request`).
pub async fn review_at_venue(
    store: &DomainStore,
    p: &Principal,
    venue_id: &str,
    request_id: &str,
    approve: bool,
    note: Option<&str>,
) -> DomainResult<ReviewView> {
    staff_venue(store, p, venue_id).await?;
    let found = store.change_request(request_id).await?;
    let in_venue = match &found {
        Some(r) => request_in_venue(store, r, venue_id).await?,
        None => false,
    };
    if !in_venue {
        return Err(DomainError::NotFound("change request".into()));
    }
    let outcome = review_change_request(store, p, request_id, approve, note).await?;
    let mut requests = describe_requests(store, vec![outcome.request.clone()]).await?;
    let request = requests
        .pop()
        .ok_or_else(|| DomainError::NotFound("change request".into()))?;
    let element = match &outcome.element {
        Some(e) => describe_elements(store, vec![e.clone()]).await?.pop(),
        None => None,
    };
    Ok(ReviewView {
        outcome,
        request,
        element,
    })
}
