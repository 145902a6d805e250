//! Starter prompts per assistant, shown by the web page before the first message (the
//! seed's lists).

use crate::vocab::AgentType;

/// Starter prompts of an assistant.
pub fn starter_prompts(agent_type: AgentType) -> &'static [&'static str] {
    match agent_type {
        AgentType::Client => &[
            "Show me my event details",
            "What are my next steps?",
            "Help me customize the catering",
            "Add guests to my event",
        ],
        AgentType::VenueGeneral => &[
            "What events do I have this week?",
            "Show me tasks needing attention",
            "List my pending vendor approvals",
        ],
        AgentType::VenueEvent => &[
            "What's the current event status?",
            "Has the client approved all elements?",
            "Send a reminder to the photographer",
        ],
    }
}
