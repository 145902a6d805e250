//! The three assistants: one [`spec::AgentSpec`] each (role, context builder, tools,
//! settings key, starter prompts, required metadata), the prompts, context builders,
//! history and the turn runner.
//!
//! `runner::AgentResponder` is the production [`crate::conversation::Responder`]: it
//! answers a turn with the configured model, calling the agent type's tools
//! (`crate::tools`) and streaming ChatKit events as it goes.

pub mod context;
pub mod history;
pub mod message;
pub mod prompts;
pub mod repeat_guard;
pub mod runner;
pub mod spec;
pub mod tool_round;

pub use runner::AgentResponder;
