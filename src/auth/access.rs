//! Access rules: pure functions of (principal, resource), tested as a matrix.
//!
//! - a client sees only their own events (and their own threads);
//! - venue staff see their venue and its events (and their own threads);
//! - admins see the admin API; they and vendors have no assistant (a clear 403);
//! - threads are always private to the user who created them (enforced by the store).

use super::principal::{Principal, UserType};
use crate::vocab::AgentType;

/// The owner and venue of an event, which is all the rules need to know about it.
#[derive(Debug, Clone, Copy)]
pub struct EventRef<'a> {
    pub venue_id: &'a str,
    pub client_id: &'a str,
}

/// Why access was refused; the message is safe to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub &'static str);

/// May this principal read or act on the event?
pub fn can_access_event(p: &Principal, event: EventRef<'_>) -> bool {
    match p.user_type {
        UserType::Client => event.client_id == p.user_id,
        UserType::Venue => p.venue_id.as_deref() == Some(event.venue_id),
        UserType::Vendor | UserType::Admin => false,
    }
}

/// May this principal act for the venue?
pub fn can_access_venue(p: &Principal, venue_id: &str) -> bool {
    p.user_type == UserType::Venue && p.venue_id.as_deref() == Some(venue_id)
}

/// May this principal use the admin API?
pub fn is_admin(p: &Principal) -> bool {
    p.user_type == UserType::Admin
}

/// Which assistant a user type may talk to at all.
pub fn may_use_agent(p: &Principal, agent_type: AgentType) -> Result<(), Denied> {
    match (p.user_type, agent_type) {
        (UserType::Client, AgentType::Client) => Ok(()),
        (UserType::Venue, AgentType::VenueGeneral | AgentType::VenueEvent) => Ok(()),
        (UserType::Vendor, _) => Err(Denied("vendors have no assistant yet")),
        (UserType::Admin, _) => Err(Denied("admins have no assistant; use the admin API")),
        (UserType::Client, _) => Err(Denied("clients may only use the client assistant")),
        (UserType::Venue, _) => Err(Denied("venue staff may only use the venue assistants")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(user_type: UserType, id: &str, venue: Option<&str>) -> Principal {
        Principal {
            user_id: id.into(),
            email: format!("{id}@x.example"),
            name: id.into(),
            user_type,
            venue_id: venue.map(Into::into),
        }
    }

    #[test]
    fn event_access_matrix() {
        let ev = EventRef {
            venue_id: "v1",
            client_id: "c1",
        };
        let cases = [
            (p(UserType::Client, "c1", None), true),
            (p(UserType::Client, "c2", None), false),
            (p(UserType::Venue, "s1", Some("v1")), true),
            (p(UserType::Venue, "s2", Some("v2")), false),
            (p(UserType::Venue, "s3", None), false),
            (p(UserType::Vendor, "x", None), false),
            (p(UserType::Admin, "a", None), false),
        ];
        for (principal, expected) in cases {
            assert_eq!(can_access_event(&principal, ev), expected, "{principal:?}");
        }
    }

    #[test]
    fn agent_matrix() {
        let client = p(UserType::Client, "c1", None);
        let staff = p(UserType::Venue, "s1", Some("v1"));
        assert!(may_use_agent(&client, AgentType::Client).is_ok());
        assert!(may_use_agent(&client, AgentType::VenueEvent).is_err());
        assert!(may_use_agent(&staff, AgentType::VenueGeneral).is_ok());
        assert!(may_use_agent(&staff, AgentType::Client).is_err());
        assert!(may_use_agent(&p(UserType::Vendor, "x", None), AgentType::Client).is_err());
        assert!(may_use_agent(&p(UserType::Admin, "a", None), AgentType::Client).is_err());
        assert!(can_access_venue(&staff, "v1"));
        assert!(!can_access_venue(&staff, "v2"));
        assert!(!can_access_venue(&client, "v1"));
        assert!(is_admin(&p(UserType::Admin, "a", None)));
    }
}
