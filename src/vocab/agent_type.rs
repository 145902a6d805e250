//! The three assistants (design.md §5). What each one is (prompt, context, tools, settings)
//! is its `agents::spec::AgentSpec`; this is only the name.

use super::string_enum;

string_enum! {
    /// Which assistant a thread talks to; fixed when the thread is created.
    pub enum AgentType ("agent type") {
        /// The client planning their event.
        Client = "client",
        /// Venue staff, across the whole venue.
        VenueGeneral = "venue_general",
        /// Venue staff, on one event.
        VenueEvent = "venue_event",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_string_form_each_way() {
        for &a in AgentType::ALL {
            assert_eq!(AgentType::parse(a.as_str()), Ok(a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
            let back: AgentType = serde_json::from_value(a.as_str().into()).unwrap();
            assert_eq!(back, a);
        }
        assert_eq!(AgentType::VenueGeneral.to_string(), "venue_general");
        let err = AgentType::parse("vendor").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown agent type \"vendor\"; expected one of client, venue_general, venue_event"
        );
        assert!(AgentType::parse("Client").is_err());
        assert!(serde_json::from_value::<AgentType>("vendor".into()).is_err());
    }
}
