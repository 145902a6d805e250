//! Guest list services.
//!
//! Rules for adding a guest (the event's client or its venue's staff):
//! - name 1..=200 characters; email optional but, when given, syntactically valid and not
//!   already on this event's list (case-insensitive);
//! - RSVP a [`Rsvp`] (parsed by the caller), `pending` by default;
//! - the heads that count against the venue capacity are attending and pending guests,
//!   each plus-one counting as one more head; adding a counted guest may not push that
//!   total past the venue capacity.

use chrono::Utc;
use serde::Serialize;

use super::{DomainError, DomainResult, authorized_event, new_id, required_text};
use crate::auth::principal::Principal;
use crate::store::domain::{DomainStore, GuestRecord};
use crate::vocab::Rsvp;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GuestCounts {
    pub total: usize,
    pub attending: usize,
    pub pending: usize,
    pub maybe: usize,
    pub declined: usize,
    /// Attending + pending guests, plus-ones included.
    pub counted_heads: i64,
}

/// Heads a guest counts for against capacity.
fn heads(g: &GuestRecord) -> i64 {
    if g.rsvp_status.counts_against_capacity() {
        1 + i64::from(g.plus_one)
    } else {
        0
    }
}

pub fn count_guests(guests: &[GuestRecord]) -> GuestCounts {
    let mut c = GuestCounts {
        total: guests.len(),
        ..GuestCounts::default()
    };
    for g in guests {
        match g.rsvp_status {
            Rsvp::Attending => c.attending += 1,
            Rsvp::Pending => c.pending += 1,
            Rsvp::Maybe => c.maybe += 1,
            Rsvp::Declined => c.declined += 1,
        }
        c.counted_heads += heads(g);
    }
    c
}

/// A plausible email address: `local@domain.tld`, no spaces, ≤ 254 characters.
pub fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|part| !part.is_empty())
}

#[derive(Debug, Clone, Serialize)]
pub struct GuestList {
    pub guests: Vec<GuestRecord>,
    /// Counts over the whole list (not only the filtered guests).
    pub counts: GuestCounts,
    pub venue_capacity: i32,
}

#[derive(Debug, Clone, Default)]
pub struct NewGuest {
    pub name: String,
    pub email: Option<String>,
    /// Default pending.
    pub rsvp_status: Option<Rsvp>,
    pub dietary_needs: Option<String>,
    pub plus_one: bool,
}

pub async fn list_guests(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
    rsvp_status: Option<Rsvp>,
) -> DomainResult<GuestList> {
    let event = authorized_event(store, p, event_id).await?;
    let all = store.event_guests(event_id, None).await?;
    let counts = count_guests(&all);
    let guests = all
        .into_iter()
        .filter(|g| rsvp_status.is_none_or(|s| g.rsvp_status == s))
        .collect();
    let venue_capacity = store
        .venue(&event.venue_id)
        .await?
        .map_or(0, |v| v.capacity);
    Ok(GuestList {
        guests,
        counts,
        venue_capacity,
    })
}

pub async fn add_guest(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
    g: NewGuest,
) -> DomainResult<GuestRecord> {
    let event = authorized_event(store, p, event_id).await?;
    let name = required_text("name", &g.name, 200)?;
    let email = match g.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(e) if valid_email(e) => Some(e.to_lowercase()),
        Some(e) => {
            return Err(DomainError::invalid(
                "email",
                format!("{e:?} is not a valid email address"),
            ));
        }
    };
    let rsvp = g.rsvp_status.unwrap_or(Rsvp::Pending);
    let existing = store.event_guests(event_id, None).await?;
    if let Some(e) = &email
        && existing
            .iter()
            .any(|x| x.email.as_deref().map(str::to_lowercase).as_ref() == Some(e))
    {
        return Err(DomainError::Conflict(format!(
            "a guest with email {e} is already on the list"
        )));
    }
    let guest = GuestRecord {
        id: new_id(),
        event_id: event_id.to_owned(),
        name,
        email,
        phone: None,
        rsvp_status: rsvp,
        dietary_needs: g
            .dietary_needs
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty()),
        plus_one: g.plus_one,
        table_number: None,
        created_at: Utc::now(),
    };
    let added = heads(&guest);
    if added > 0 {
        let capacity = store
            .venue(&event.venue_id)
            .await?
            .map_or(0, |v| v.capacity);
        let current = count_guests(&existing).counted_heads;
        if current + added > i64::from(capacity) {
            return Err(DomainError::Conflict(format!(
                "the venue holds {capacity} people and {current} are already attending or invited; \
                 adding {added} more would exceed it"
            )));
        }
    }
    store.insert_guest(&guest).await?;
    tracing::info!(event_id, guest_id = %guest.id, user = %p.user_id, "guest added");
    Ok(guest)
}

#[cfg(test)]
mod tests {
    use super::valid_email;

    #[test]
    fn email_syntax() {
        for ok in ["a@b.co", "ana.lima+x@mail.example.com"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.co", "a@b..co", "a@.co",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }
}
