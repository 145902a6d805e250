//! Starter prompts per assistant, shown by the web page before the first message (the
//! seed's lists).

/// The three assistants.
pub const AGENT_TYPES: [&str; 3] = ["client", "venue_general", "venue_event"];

/// Starter prompts of an assistant, or `None` for an unknown agent type.
pub fn starter_prompts(agent_type: &str) -> Option<&'static [&'static str]> {
    match agent_type {
        "client" => Some(&[
            "Show me my event details",
            "What are my next steps?",
            "Help me customize the catering",
            "Add guests to my event",
        ]),
        "venue_general" => Some(&[
            "What events do I have this week?",
            "Show me tasks needing attention",
            "List my pending vendor approvals",
        ]),
        "venue_event" => Some(&[
            "What's the current event status?",
            "Has the client approved all elements?",
            "Send a reminder to the photographer",
        ]),
        _ => None,
    }
}
