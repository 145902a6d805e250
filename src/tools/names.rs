//! The tools' names, written once: the schema a model is offered, the dispatch of its calls
//! and the assistants' tool sets (`agents::spec`) all use [`ToolName`]. A name a model sends
//! is parsed here; one that is not in the list is an unknown tool.

use crate::vocab::string_enum;

string_enum! {
    /// A tool, by the name the model sees.
    pub enum ToolName ("tool") {
        GetEventDetails = "getEventDetails",
        GetEventSummary = "getEventSummary",
        ListEvents = "listEvents",
        UpdateEvent = "updateEvent",
        ListAvailableElements = "listAvailableElements",
        RequestElementChange = "requestElementChange",
        UpdateElementStatus = "updateElementStatus",
        ReviewChangeRequest = "reviewChangeRequest",
        ViewGuestList = "viewGuestList",
        AddGuest = "addGuest",
        ViewContract = "viewContract",
        ListVendors = "listVendors",
        ListPendingTasks = "listPendingTasks",
        CreateTask = "createTask",
        SearchMessages = "searchMessages",
        SendMessageToClient = "sendMessageToClient",
        SendMessageToVendor = "sendMessageToVendor",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_exactly_one_tool() {
        for &tool in ToolName::ALL {
            let defs = super::super::REGISTRY
                .iter()
                .filter(|d| d.name == tool)
                .count();
            assert_eq!(defs, 1, "{tool}");
            assert_eq!(ToolName::parse(tool.as_str()), Ok(tool));
        }
        assert_eq!(super::super::REGISTRY.len(), ToolName::ALL.len());
        assert!(ToolName::parse("dropTables").is_err());
    }
}
