//! The stored columns of a thread item that the server queries and compares: its type and
//! its status. Both are derived from the ChatKit item when it is stored
//! (`conversation::convert`), with the protocol's strings.

use super::string_enum;

string_enum! {
    /// A thread item's `type` (protocol §2.6), as in the `item_type` column.
    pub enum ItemType ("item type") {
        UserMessage = "user_message",
        AssistantMessage = "assistant_message",
        ClientToolCall = "client_tool_call",
        Widget = "widget",
        GeneratedImage = "generated_image",
        StructuredInput = "structured_input",
        Workflow = "workflow",
        Task = "task",
        EndOfTurn = "end_of_turn",
        /// Integration-written context for the model; never sent to the client.
        HiddenContextItem = "hidden_context_item",
        /// Server-written context for the model; never sent to the client.
        SdkHiddenContext = "sdk_hidden_context",
    }
}

impl ItemType {
    /// The types that are stored but never shown to clients.
    pub const HIDDEN: [ItemType; 2] = [ItemType::HiddenContextItem, ItemType::SdkHiddenContext];

    /// Whether items of this type are kept from clients.
    pub fn is_hidden(self) -> bool {
        Self::HIDDEN.contains(&self)
    }
}

string_enum! {
    /// The `status` column: a client tool call's (pending, completed) or a structured
    /// input's (pending, answered, skipped); an assistant message stored while its turn is
    /// still streaming it is `in_progress` (a server-only state: the wire item has no
    /// status, and visible listings leave such rows out); other items have none.
    pub enum ItemStatus ("item status") {
        Pending = "pending",
        Completed = "completed",
        Answered = "answered",
        Skipped = "skipped",
        InProgress = "in_progress",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_hidden_types() {
        for &t in ItemType::ALL {
            assert_eq!(ItemType::parse(t.as_str()), Ok(t));
        }
        for &s in ItemStatus::ALL {
            assert_eq!(ItemStatus::parse(s.as_str()), Ok(s));
        }
        assert!(ItemType::SdkHiddenContext.is_hidden() && !ItemType::Widget.is_hidden());
        assert!(ItemType::parse("message").is_err());
    }
}
