//! What answers a turn: the [`Responder`] trait the assistants implement, what it is asked
//! to respond to ([`RespondInput`]), the dependencies every turn shares ([`TurnDeps`]) and
//! the agent context a thread actor caches between turns ([`CachedContext`]).
//!
//! The production responder is `agents::AgentResponder`; the tests script their own.

use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;

use super::bus::DomainBus;
use super::context::TurnContext;
use crate::chatkit::{Action, ThreadItem};
use crate::config::Settings;
use crate::error::TurnError;
use crate::store::Stores;

/// What the responder is asked to respond to.
#[derive(Debug, Clone)]
pub enum RespondInput {
    /// A new user message (create, add message) or the message a retry regenerates.
    UserMessage(ThreadItem),
    /// The client answered a client tool call, or a structured input was submitted; the
    /// conversation continues without a new user message.
    Continue,
    /// A widget action, with the widget that sent it.
    Action {
        action: Action,
        sender: Option<ThreadItem>,
    },
}

/// Produces the events of one turn.
pub trait Responder: Send + Sync + 'static {
    fn respond<'a>(&'a self, turn: &'a mut TurnContext) -> BoxFuture<'a, Result<(), TurnError>>;
}

/// Shared dependencies of every turn; cheap to clone.
#[derive(Clone)]
pub struct TurnDeps {
    pub stores: Stores,
    pub settings: Arc<Settings>,
    pub responder: Arc<dyn Responder>,
    pub bus: DomainBus,
}

/// The agent context built for a thread, and when; kept by its actor between turns.
#[derive(Clone)]
pub struct CachedContext {
    pub text: Arc<str>,
    pub built_at: Instant,
}
