//! Venue services: the vendor relationships of the staff member's venue.

use super::{DomainError, DomainResult, require_venue};
use crate::auth::principal::Principal;
use crate::store::domain::{DomainStore, VenueRecord, VenueVendorRecord};

/// The venue itself, for its staff.
pub async fn venue(
    store: &DomainStore,
    p: &Principal,
    venue_id: &str,
) -> DomainResult<VenueRecord> {
    require_venue(p, venue_id)?;
    venue_record(store, venue_id).await
}

/// The venue for its staff, looked up first: an unknown venue is `NotFound` for everyone,
/// one that exists but is not the caller's is `Forbidden` (the REST API's rule, the same
/// order as [`super::authorized_event`]).
pub async fn staff_venue(
    store: &DomainStore,
    p: &Principal,
    venue_id: &str,
) -> DomainResult<VenueRecord> {
    let venue = venue_record(store, venue_id).await?;
    require_venue(p, venue_id)?;
    Ok(venue)
}

/// The venue row, or `NotFound`; the caller has already authorized the access (for example
/// through the event it belongs to).
pub async fn venue_record(store: &DomainStore, venue_id: &str) -> DomainResult<VenueRecord> {
    store
        .venue(venue_id)
        .await?
        .ok_or_else(|| DomainError::NotFound("venue".into()))
}

/// All vendor relationships (approved and pending) of the venue, optionally one category.
pub async fn list_vendors(
    store: &DomainStore,
    p: &Principal,
    venue_id: &str,
    category: Option<&str>,
) -> DomainResult<Vec<VenueVendorRecord>> {
    require_venue(p, venue_id)?;
    let category = category.map(str::trim).filter(|c| !c.is_empty());
    Ok(store.venue_vendors(venue_id, None, category).await?)
}
