//! One [`AgentSpec`] per assistant (design.md §5): everything that makes `client`,
//! `venue_general` and `venue_event` different, in one table. The runner, the context
//! dispatch, the tool offer, the starter prompts and the `threads.create` metadata check
//! read it; none of them matches on the agent type itself.
//!
//! What the assistants share (the prompt template and style options, the tool handlers,
//! the context line formats) stays in `prompts`, `tools` and `context`; a spec only points
//! at its parts.

use std::sync::{Arc, LazyLock};

use super::context::{self, ContextBuilder};
use crate::config::{AgentSettings, LlmSettings};
use crate::llm::types::ToolSpec;
use crate::tools::{self, ToolName};
use crate::vocab::AgentType;

/// A metadata field a new thread of an assistant must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataField {
    VenueId,
    EventId,
}

impl MetadataField {
    /// The name ChatKit.js integrations send (and the 400 names when it is missing).
    pub const fn key(self) -> &'static str {
        match self {
            Self::VenueId => "venueId",
            Self::EventId => "eventId",
        }
    }

    /// The snake_case spelling, accepted too.
    pub const fn snake_key(self) -> &'static str {
        match self {
            Self::VenueId => "venue_id",
            Self::EventId => "event_id",
        }
    }
}

/// What one assistant is.
pub struct AgentSpec {
    pub agent_type: AgentType,
    /// Its section of `[llm.agents]` in the config (model, temperature, style options).
    pub settings: fn(&LlmSettings) -> &AgentSettings,
    /// The opening of its system prompt (`prompts::system_prompt` adds the shared rules,
    /// the style from its settings and the context).
    pub role: &'static str,
    /// Builds its context text from the database.
    pub context: ContextBuilder,
    /// The tools it is offered; a call to any other tool is refused.
    pub tools: &'static [ToolName],
    /// Shown by the web page before the first message (the seed's lists).
    pub starter_prompts: &'static [&'static str],
    /// What `threads.create` must name, in the order a missing one is reported.
    pub required_metadata: &'static [MetadataField],
}

impl AgentSpec {
    /// The spec of an assistant.
    pub fn of(agent_type: AgentType) -> &'static AgentSpec {
        match agent_type {
            AgentType::Client => &CLIENT,
            AgentType::VenueGeneral => &VENUE_GENERAL,
            AgentType::VenueEvent => &VENUE_EVENT,
        }
    }

    /// The model-facing schemas of its tools.
    pub fn tool_specs(&self) -> Arc<[ToolSpec]> {
        // Built once per assistant: every model request offers the same list.
        static SPECS: LazyLock<Vec<(AgentType, Arc<[ToolSpec]>)>> = LazyLock::new(|| {
            AgentType::ALL
                .iter()
                .map(|&a| (a, tools::specs(AgentSpec::of(a).tools)))
                .collect()
        });
        SPECS
            .iter()
            .find(|(a, _)| *a == self.agent_type)
            .map_or_else(|| tools::specs(self.tools), |(_, specs)| specs.clone())
    }
}

fn client_settings(llm: &LlmSettings) -> &AgentSettings {
    &llm.agents.client
}

fn venue_general_settings(llm: &LlmSettings) -> &AgentSettings {
    &llm.agents.venue_general
}

fn venue_event_settings(llm: &LlmSettings) -> &AgentSettings {
    &llm.agents.venue_event
}

static CLIENT: AgentSpec = AgentSpec {
    agent_type: AgentType::Client,
    settings: client_settings,
    role: "You are a warm, capable event-planning assistant for a client planning their \
           event at a venue. Help them understand their event, explore the venue's \
           offerings, manage their guest list and review their contract. You cannot \
           change event elements directly: propose changes with requestElementChange, \
           and explain that venue staff will review them.",
    context: context::client_context,
    tools: &[
        ToolName::GetEventDetails,
        ToolName::ListAvailableElements,
        ToolName::RequestElementChange,
        ToolName::ViewGuestList,
        ToolName::AddGuest,
        ToolName::ViewContract,
    ],
    starter_prompts: &[
        "Show me my event details",
        "What are my next steps?",
        "Help me customize the catering",
        "Add guests to my event",
    ],
    required_metadata: &[MetadataField::EventId],
};

static VENUE_GENERAL: AgentSpec = AgentSpec {
    agent_type: AgentType::VenueGeneral,
    settings: venue_general_settings,
    role: "You are the operations assistant of a venue's staff. Help them see across all \
           of the venue's events: what is coming up, what needs attention, which vendors \
           they work with and what was said in messages.",
    context: context::venue_general_context,
    tools: &[
        ToolName::GetEventSummary,
        ToolName::ListEvents,
        ToolName::ListVendors,
        ToolName::ListPendingTasks,
        ToolName::SearchMessages,
    ],
    starter_prompts: &[
        "What events do I have this week?",
        "Show me tasks needing attention",
        "List my pending vendor approvals",
    ],
    required_metadata: &[MetadataField::VenueId],
};

static VENUE_EVENT: AgentSpec = AgentSpec {
    agent_type: AgentType::VenueEvent,
    settings: venue_event_settings,
    role: "You are the event coordination assistant of a venue's staff, working on one \
           specific event. Help them keep elements, vendors, tasks and communication with \
           the client on track. Confirm before sending messages on someone's behalf \
           unless asked explicitly.",
    context: context::venue_event_context,
    tools: &[
        ToolName::GetEventDetails,
        ToolName::UpdateEvent,
        ToolName::UpdateElementStatus,
        ToolName::ReviewChangeRequest,
        ToolName::CreateTask,
        ToolName::SendMessageToClient,
        ToolName::SendMessageToVendor,
    ],
    starter_prompts: &[
        "What's the current event status?",
        "Has the client approved all elements?",
        "Send a reminder to the photographer",
    ],
    required_metadata: &[MetadataField::VenueId, MetadataField::EventId],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::schema;

    #[test]
    fn one_spec_per_agent_type() {
        for &a in AgentType::ALL {
            let spec = AgentSpec::of(a);
            assert_eq!(spec.agent_type, a);
            assert!(!spec.role.is_empty() && !spec.starter_prompts.is_empty());
            assert!(!spec.required_metadata.is_empty());
        }
    }

    #[test]
    fn the_client_role_names_a_tool_it_has() {
        let spec = AgentSpec::of(AgentType::Client);
        assert!(spec.tools.contains(&ToolName::RequestElementChange));
        assert!(spec.role.contains(ToolName::RequestElementChange.as_str()));
    }

    #[test]
    fn specs_per_agent_type() {
        let names = |a: AgentType| {
            AgentSpec::of(a)
                .tool_specs()
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        };
        let sorted = |mut v: Vec<&str>| {
            v.sort_unstable();
            v.into_iter().map(String::from).collect::<Vec<_>>()
        };
        let mut got = names(AgentType::Client);
        got.sort();
        assert_eq!(
            got,
            sorted(vec![
                "getEventDetails",
                "listAvailableElements",
                "requestElementChange",
                "viewGuestList",
                "addGuest",
                "viewContract"
            ])
        );
        let mut got = names(AgentType::VenueGeneral);
        got.sort();
        assert_eq!(
            got,
            sorted(vec![
                "listEvents",
                "getEventSummary",
                "listVendors",
                "listPendingTasks",
                "searchMessages"
            ])
        );
        let mut got = names(AgentType::VenueEvent);
        got.sort();
        assert_eq!(
            got,
            sorted(vec![
                "getEventDetails",
                "updateElementStatus",
                "sendMessageToClient",
                "sendMessageToVendor",
                "createTask",
                "updateEvent",
                "reviewChangeRequest"
            ])
        );
        for a in [
            AgentType::Client,
            AgentType::VenueGeneral,
            AgentType::VenueEvent,
        ] {
            for s in AgentSpec::of(a).tool_specs().iter() {
                assert!(
                    schema::is_object_schema(&s.parameters),
                    "{} has a bad schema: {}",
                    s.name,
                    s.parameters
                );
                assert!(!s.description.is_empty());
            }
        }
    }
}
