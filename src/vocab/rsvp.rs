//! A guest's RSVP, as in the `guests.rsvp_status` column and the tools' `rsvpStatus`.

use super::string_enum;

string_enum! {
    /// Whether a guest comes.
    pub enum Rsvp ("RSVP status") {
        Pending = "pending",
        Attending = "attending",
        Declined = "declined",
        Maybe = "maybe",
    }
}

impl Rsvp {
    /// Whether the guest (and a plus-one) counts against the venue capacity: attending and
    /// pending guests do, since a pending guest may still come.
    pub fn counts_against_capacity(self) -> bool {
        matches!(self, Rsvp::Attending | Rsvp::Pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for &r in Rsvp::ALL {
            assert_eq!(Rsvp::parse(r.as_str()), Ok(r));
        }
        assert_eq!(Rsvp::NAMES, ["pending", "attending", "declined", "maybe"]);
        assert!(Rsvp::parse("sure").is_err());
    }
}
