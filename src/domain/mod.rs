//! Domain services: the business rules the assistants (and the REST API) reach.
//!
//! Every function takes the acting [`Principal`] and re-checks authorization with the pure
//! rules of `auth::access`: ids come from untrusted input (a model's tool arguments), so an
//! event, element, vendor or task the principal may not touch is refused here, whatever the
//! caller claims. Queries go through [`DomainStore`]; nothing here imports `entity`.
//!
//! Errors are [`DomainError`]; their messages are safe to show to the model and the user.

pub mod change_requests;
pub mod contracts;
pub mod elements;
pub mod events;
pub mod guests;
pub mod listings;
pub mod messages;
pub mod paging;
pub mod search;
pub mod tasks;
pub mod venues;
pub mod views;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use crate::auth::access::{EventRef, can_access_event, can_access_venue};
use crate::auth::principal::{Principal, UserType};
use crate::store::StoreError;
use crate::store::domain::{DomainStore, EventRecord};

/// Why a domain operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The thing (e.g. "event", "element") does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The principal may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A field has an unacceptable value: (field, reason).
    #[error("invalid {0}: {1}")]
    Invalid(String, String),
    /// The request conflicts with the current state (duplicate, invalid transition, ...).
    #[error("{0}")]
    Conflict(String),
    #[error("storage error")]
    Store(StoreError),
}

/// A store-level conflict or missing row (e.g. a row that changed between read and
/// guarded write) is a domain outcome the caller may show; anything else stays a failure.
impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(reason) => Self::Conflict(reason),
            StoreError::NotFound(what) => Self::NotFound(what.to_owned()),
            other => Self::Store(other),
        }
    }
}

impl DomainError {
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid(field.to_owned(), reason.into())
    }

    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::Forbidden(reason.into())
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

/// Loads an event the principal may access: NotFound if missing, Forbidden if foreign.
pub async fn authorized_event(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
) -> DomainResult<EventRecord> {
    let event = store
        .event(event_id)
        .await?
        .ok_or_else(|| DomainError::NotFound("event".into()))?;
    let r = EventRef {
        venue_id: &event.venue_id,
        client_id: &event.client_id,
    };
    if !can_access_event(p, r) {
        return Err(DomainError::forbidden("event not accessible"));
    }
    Ok(event)
}

/// Like [`authorized_event`], but only for staff of the event's venue.
pub async fn staff_event(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
) -> DomainResult<EventRecord> {
    require_staff(p)?;
    authorized_event(store, p, event_id).await
}

/// The principal must be venue staff.
pub fn require_staff(p: &Principal) -> DomainResult<()> {
    if p.user_type == UserType::Venue {
        Ok(())
    } else {
        Err(DomainError::forbidden("only venue staff may do this"))
    }
}

/// The principal must be staff of `venue_id`.
pub fn require_venue(p: &Principal, venue_id: &str) -> DomainResult<()> {
    if can_access_venue(p, venue_id) {
        Ok(())
    } else {
        Err(DomainError::forbidden("venue not accessible"))
    }
}

/// `$1,234.56` (negative amounts as `-$1.00`).
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let dollars = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in dollars.chars().enumerate() {
        if i > 0 && (dollars.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}${grouped}.{:02}", abs % 100)
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(field: &str, s: &str) -> DomainResult<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| DomainError::invalid(field, format!("expected a date YYYY-MM-DD, got {s:?}")))
}

/// Parses an RFC 3339 date-time, or a date (taken as `default_time` UTC that day).
pub fn parse_date_or_datetime(
    field: &str,
    s: &str,
    default_time: NaiveTime,
) -> DomainResult<DateTime<Utc>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(dt.with_timezone(&Utc));
    }
    let date = parse_date(field, s).map_err(|_| {
        DomainError::invalid(field, format!("expected YYYY-MM-DD or RFC 3339, got {s:?}"))
    })?;
    Ok(date.and_time(default_time).and_utc())
}

/// A fresh domain id.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Trims a required text field; empty is invalid.
pub(crate) fn required_text(field: &str, s: &str, max: usize) -> DomainResult<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("at most {max} characters"),
        ));
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_money() {
        assert_eq!(format_cents(0), "$0.00");
        assert_eq!(format_cents(12_345_678), "$123,456.78");
        assert_eq!(format_cents(100_000), "$1,000.00");
        assert_eq!(format_cents(-150), "-$1.50");
    }

    #[test]
    fn parses_dates() {
        let t = NaiveTime::MIN;
        assert!(parse_date_or_datetime("d", "2030-01-02", t).is_ok());
        assert!(parse_date_or_datetime("d", "2030-01-02T10:00:00Z", t).is_ok());
        assert!(parse_date_or_datetime("d", "next friday", t).is_err());
    }
}
