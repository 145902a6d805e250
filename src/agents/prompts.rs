//! System prompts per assistant: role, rules, style options from config, and the context
//! built from the database.

use crate::config::AgentSettings;
use crate::vocab::AgentType;

fn role(agent_type: AgentType) -> &'static str {
    match agent_type {
        AgentType::Client => {
            "You are a warm, capable event-planning assistant for a client planning their \
             event at a venue. Help them understand their event, explore the venue's \
             offerings, manage their guest list and review their contract. You cannot \
             change event elements directly: propose changes with requestElementChange, \
             and explain that venue staff will review them."
        }
        AgentType::VenueGeneral => {
            "You are the operations assistant of a venue's staff. Help them see across all \
             of the venue's events: what is coming up, what needs attention, which vendors \
             they work with and what was said in messages."
        }
        AgentType::VenueEvent => {
            "You are the event coordination assistant of a venue's staff, working on one \
             specific event. Help them keep elements, vendors, tasks and communication with \
             the client on track. Confirm before sending messages on someone's behalf \
             unless asked explicitly."
        }
    }
}

fn style(s: &AgentSettings) -> String {
    let length = match s.response_length.as_str() {
        "detailed" => "Give complete, detailed answers with the relevant figures.",
        "brief" => "Answer in one or two sentences.",
        _ => "Keep answers concise: a short paragraph or a short list.",
    };
    let proactivity = match s.proactivity.as_str() {
        "proactive" => "Point out risks, gaps and next steps without being asked.",
        "reactive" => "Answer what was asked; do not volunteer extra suggestions.",
        _ => "Suggest a next step when it clearly helps.",
    };
    format!(
        "Tone: {tone}. Formality: {formality}. {length} {proactivity}",
        tone = s.tone,
        formality = s.formality
    )
}

/// The full system prompt.
pub fn system_prompt(agent_type: AgentType, settings: &AgentSettings, context: &str) -> String {
    format!(
        "{role}\n\n\
         Rules: use the tools to read or change data; never invent ids, prices, dates or \
         statuses; if a tool refuses, explain the refusal plainly. Amounts are in US dollars. \
         Format answers in Markdown.\n\n\
         Style: {style}\n\n\
         Current context (from the platform's database):\n{context}",
        role = role(agent_type),
        style = style(settings),
    )
}

/// The prompt that asks for a thread title.
pub fn title_prompt(first_user_text: &str, first_answer: &str) -> String {
    format!(
        "Write a short title (at most 6 words, no quotes, no trailing period) for a \
         conversation that starts like this.\nUser: {}\nAssistant: {}",
        truncate(first_user_text, 500),
        truncate(first_answer, 500)
    )
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(length: &str) -> AgentSettings {
        AgentSettings {
            model: "m".into(),
            temperature: 0.2,
            max_tokens: 100,
            max_tool_rounds: 3,
            tone: "warm".into(),
            formality: "casual".into(),
            response_length: length.into(),
            proactivity: "proactive".into(),
        }
    }

    #[test]
    fn style_options_change_the_prompt() {
        let a = system_prompt(AgentType::Client, &settings("brief"), "CTX");
        let b = system_prompt(AgentType::Client, &settings("detailed"), "CTX");
        assert_ne!(a, b);
        assert!(a.contains("Tone: warm"));
        assert!(a.contains("CTX"));
        assert!(a.contains("requestElementChange"));
        assert!(system_prompt(AgentType::VenueGeneral, &settings("x"), "").contains("operations"));
    }
}
