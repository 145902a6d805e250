//! What answers a turn: the [`Responder`] trait the assistants implement, what it is asked
//! to respond to ([`RespondInput`]), the dependencies every turn shares ([`TurnDeps`]) and
//! the agent context a thread actor caches between turns ([`CachedContext`]). A responder
//! also answers the non-streaming widget actions ([`SyncAction`], protocol §3.8).
//!
//! The production responder is `agents::AgentResponder`; the tests script their own.

use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;

use super::bus::DomainBus;
use super::context::TurnContext;
use crate::auth::Principal;
use crate::chatkit::{Action, ThreadItem};
use crate::config::Settings;
use crate::error::{ApiError, TurnError};
use crate::store::{Stores, ThreadRecord};

/// What the responder is asked to respond to.
#[derive(Debug, Clone)]
pub enum RespondInput {
    /// A new user message (create, add message) or the message a retry regenerates.
    UserMessage(ThreadItem),
    /// The client answered a client tool call, or a structured input was submitted; the
    /// conversation continues without a new user message.
    Continue,
    /// A widget action, with the widget that sent it. The turn has already stored it as a
    /// hidden note (`notes::action_text`), so a responder that rebuilds the model's input
    /// from the thread's items sees it there.
    Action {
        action: Action,
        sender: Option<ThreadItem>,
    },
}

/// A widget action declared `streaming: false` (`threads.sync_custom_action`), validated by
/// the handler: its thread is the principal's, and a named sender is a widget of it. It may
/// arrive while a turn of the thread runs.
pub struct SyncAction<'a> {
    pub deps: &'a TurnDeps,
    pub thread: &'a ThreadRecord,
    pub principal: &'a Principal,
    pub action: &'a Action,
    pub sender: Option<&'a ThreadItem>,
}

/// Produces the events of one turn, and answers sync widget actions.
pub trait Responder: Send + Sync + 'static {
    fn respond<'a>(&'a self, turn: &'a mut TurnContext) -> BoxFuture<'a, Result<(), TurnError>>;

    /// The item that replaces the sender widget in place, or `None` for no update (the
    /// default). The caller stores a returned item (an upsert, in the action's thread) before
    /// answering with it; anything else the responder writes is its own to store.
    fn sync_action<'a>(
        &'a self,
        action: SyncAction<'a>,
    ) -> BoxFuture<'a, Result<Option<ThreadItem>, ApiError>> {
        let _ = action;
        Box::pin(async { Ok(None) })
    }
}

/// Shared dependencies of every turn: one allocation that every thread actor and turn
/// points to (a pointer to clone, where a copy of the stores was ~1 KiB in each idle actor:
/// issue #18).
#[derive(Clone)]
pub struct TurnDeps(Arc<Deps>);

/// What [`TurnDeps`] shares.
pub struct Deps {
    pub stores: Stores,
    pub settings: Arc<Settings>,
    pub responder: Arc<dyn Responder>,
    pub bus: DomainBus,
}

impl TurnDeps {
    pub fn new(deps: Deps) -> Self {
        Self(Arc::new(deps))
    }
}

impl std::ops::Deref for TurnDeps {
    type Target = Deps;

    fn deref(&self) -> &Deps {
        &self.0
    }
}

/// The agent context built for a thread, and when; kept by its actor between turns.
#[derive(Clone)]
pub struct CachedContext {
    pub text: Arc<str>,
    pub built_at: Instant,
}
