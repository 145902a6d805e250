//! Unit tests of the text-call recovery: the parser's forms and refusals, the stream filter's
//! holding rules, and the event wrapper's order.

mod events;
mod markup;
mod parser;
mod stream;

use std::sync::Arc;

use crate::llm::ToolSpec;
use crate::tools::{ToolName, specs};

/// Real tool schemas: one with a required id, one with several typed fields, one with only
/// optional fields.
fn tools() -> Arc<[ToolSpec]> {
    specs(&[
        ToolName::GetEventDetails,
        ToolName::AddGuest,
        ToolName::ListEvents,
    ])
}
