//! The six streaming requests: validated here, then handed to the thread's actor, which
//! runs (or queues) the turn and streams its events back through a subscriber channel.

use serde_json::{Map, Value};

use super::dispatch::{Reply, TurnStream, check_id};
use super::threads::load;
use super::{lists, metadata};
use crate::actors::thread_actor::QueuedTurn;
use crate::auth::{Principal, access};
use crate::chatkit::content::UserMessageContent;
use crate::chatkit::ids::{IdPrefix, new_id};
use crate::chatkit::params::{
    AddClientToolOutputParams, AddStructuredInputParams, AddUserMessageParams, CreateThreadParams,
    CustomActionParams, RetryAfterItemParams,
};
use crate::chatkit::time::now_micros;
use crate::chatkit::{Action, ThreadStatus, UserMessageInput};
use crate::config::OnDisconnect;
use crate::conversation::TurnInput;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{StoreError, ThreadRecord};
use crate::vocab::{ItemStatus, ItemType};

/// How a streaming request wants its turn handled (from its headers, and for a send from its
/// metadata).
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// What the loss of this request's connection does to its turn.
    pub on_disconnect: OnDisconnect,
    /// The send's idempotency key, checked (see `idempotency.rs`).
    pub idempotency_key: Option<String>,
}

async fn submit(
    state: &AppState,
    p: &Principal,
    thread: &ThreadRecord,
    input: TurnInput,
    opts: &SendOptions,
) -> Result<Reply, ApiError> {
    let handle = state.registry.thread(thread).await?;
    let log = state.registry.new_turn(thread);
    let started = handle
        .start_turn(QueuedTurn {
            input,
            principal: p.clone(),
            log: log.clone(),
            on_disconnect: opts.on_disconnect,
        })
        .await;
    if let Err(e) = started {
        // Refused (the queue is full): no turn will write this log; ended, the sweep drops it.
        log.end();
        return Err(e);
    }
    Ok(Reply::Stream(TurnStream { log, handle }))
}

/// A thread the principal may still talk in (their own, and still allowed its assistant).
pub(super) async fn load_for_turn(
    state: &AppState,
    p: &Principal,
    thread_id: &str,
) -> Result<ThreadRecord, ApiError> {
    // A live actor's record answers ownership and assistant type without a query.
    check_id(thread_id, "thread")?;
    let thread = match state.registry.live_record(thread_id, &p.user_id) {
        Some(live) => ThreadRecord::clone(&live),
        None => load(state, p, thread_id).await?,
    };
    access::may_use_agent(p, thread.agent_type).map_err(|d| ApiError::Forbidden(d.0.into()))?;
    Ok(thread)
}

/// An item of the thread named by a request (id checked before the query).
pub(super) async fn load_item(
    state: &AppState,
    thread: &ThreadRecord,
    item_id: &str,
) -> Result<crate::store::ItemRecord, ApiError> {
    check_id(item_id, "item")?;
    Ok(state.stores.items.load_item(thread, item_id).await?)
}

/// Checks a user message before anything is written; a repeated attachment id is kept once.
async fn validate_input(
    state: &AppState,
    p: &Principal,
    input: &mut UserMessageInput,
) -> Result<(), ApiError> {
    lists::check_message(&state.settings.limits, input)?;
    let max = state.settings.limits.max_message_chars;
    let chars: usize = input
        .content
        .iter()
        .map(|c| match c {
            UserMessageContent::InputText { text } => text.chars().count(),
            UserMessageContent::InputTag { text, .. } => text.chars().count(),
        })
        .sum::<usize>()
        + input.quoted_text.as_ref().map_or(0, |q| q.chars().count());
    if chars > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "the message has {chars} characters; the limit is {max}"
        )));
    }
    let has_text = input.content.iter().any(|c| match c {
        UserMessageContent::InputText { text } => !text.trim().is_empty(),
        UserMessageContent::InputTag { .. } => true,
    });
    if !has_text && input.attachments.is_empty() {
        return Err(ApiError::bad_request("the message is empty"));
    }
    for id in &input.attachments {
        check_id(id, "attachment")?;
        match state.stores.attachments.load(&p.user_id, id).await {
            Ok(a) if a.uploaded => {}
            Ok(_) => {
                return Err(ApiError::bad_request(format!(
                    "attachment {id} has not been uploaded"
                )));
            }
            Err(StoreError::NotFound(_)) => return Err(ApiError::not_found("attachment")),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

pub(super) async fn create(
    state: &AppState,
    p: &Principal,
    mut params: CreateThreadParams,
    meta: &Map<String, Value>,
    opts: &SendOptions,
) -> Result<Reply, ApiError> {
    let plan = metadata::plan_thread(state, p, meta).await?;
    validate_input(state, p, &mut params.input).await?;
    let now = now_micros();
    let thread = ThreadRecord {
        id: new_id(IdPrefix::Thread),
        user_id: p.user_id.clone(),
        agent_type: plan.agent_type,
        venue_id: plan.venue_id,
        event_id: plan.event_id,
        title: None,
        status: ThreadStatus::Active,
        allowed_image_domains: None,
        metadata: plan.metadata,
        tokens_in: 0,
        tokens_out: 0,
        created_at: now,
        updated_at: now,
    };
    // Not stored here: the turn's first write stores the row together with the first
    // message (`store::runs`), so a thread never exists without it.
    submit(
        state,
        p,
        &thread,
        TurnInput::Create {
            input: params.input,
            send_key: opts.idempotency_key.clone(),
        },
        opts,
    )
    .await
}

pub(super) async fn add_user_message(
    state: &AppState,
    p: &Principal,
    mut params: AddUserMessageParams,
    opts: &SendOptions,
) -> Result<Reply, ApiError> {
    let thread = load_for_turn(state, p, &params.thread_id).await?;
    validate_input(state, p, &mut params.input).await?;
    submit(
        state,
        p,
        &thread,
        TurnInput::UserMessage {
            input: params.input,
            send_key: opts.idempotency_key.clone(),
        },
        opts,
    )
    .await
}

pub(super) async fn add_client_tool_output(
    state: &AppState,
    p: &Principal,
    params: AddClientToolOutputParams,
    opts: &SendOptions,
) -> Result<Reply, ApiError> {
    let thread = load_for_turn(state, p, &params.thread_id).await?;
    if state
        .stores
        .items
        .pending_client_tool_call(&thread)
        .await?
        .is_none()
    {
        return Err(ApiError::bad_request(
            "there is no pending client tool call in this thread",
        ));
    }
    submit(
        state,
        p,
        &thread,
        TurnInput::ClientToolOutput {
            result: params.result,
        },
        opts,
    )
    .await
}

pub(super) async fn add_structured_input(
    state: &AppState,
    p: &Principal,
    params: AddStructuredInputParams,
    opts: &SendOptions,
) -> Result<Reply, ApiError> {
    lists::check_submission(&state.settings.limits, &params.input)?;
    let thread = load_for_turn(state, p, &params.thread_id).await?;
    let item = load_item(state, &thread, &params.item_id).await?;
    if item.item_type != ItemType::StructuredInput || item.status != Some(ItemStatus::Pending) {
        return Err(ApiError::bad_request(
            "the item is not a pending structured input",
        ));
    }
    let input = TurnInput::StructuredInput {
        item_id: params.item_id,
        submission: params.input,
    };
    submit(state, p, &thread, input, opts).await
}

pub(super) async fn retry(
    state: &AppState,
    p: &Principal,
    params: RetryAfterItemParams,
    opts: &SendOptions,
) -> Result<Reply, ApiError> {
    let thread = load_for_turn(state, p, &params.thread_id).await?;
    let item = load_item(state, &thread, &params.item_id).await?;
    if item.item_type != ItemType::UserMessage {
        return Err(ApiError::bad_request("only a user message can be retried"));
    }
    submit(
        state,
        p,
        &thread,
        TurnInput::Retry {
            item_id: params.item_id,
        },
        opts,
    )
    .await
}

/// Bounds a widget action before it is stored for the model: its `type` and `payload`
/// come from the client (a form's payload is what the user typed), so together they may
/// take at most `limits.max_metadata_bytes` as JSON, like the request's metadata; larger is
/// a 413 (`payload_too_large`) before anything is written.
pub(super) fn check_action(state: &AppState, action: &Action) -> Result<(), ApiError> {
    let max = state.settings.limits.max_metadata_bytes;
    let len = serde_json::to_vec(action).map_or(usize::MAX, |v| v.len());
    if len > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "the action is {len} bytes as JSON; the limit is {max}"
        )));
    }
    Ok(())
}

/// `threads.custom_action`: the thread's actor stores the action as a hidden note for the
/// model (`conversation::notes::action_text`) and runs a turn that answers it; the action
/// `eventchat.attach` instead follows the running turn, if any (`attach.rs`).
pub(super) async fn custom_action(
    state: &AppState,
    p: &Principal,
    params: CustomActionParams,
    opts: &SendOptions,
) -> Result<Reply, ApiError> {
    if params.action.kind == super::attach::ATTACH_ACTION {
        return super::attach::attach(state, p, &params.thread_id).await;
    }
    let thread = load_for_turn(state, p, &params.thread_id).await?;
    check_action(state, &params.action)?;
    if let Some(item_id) = &params.item_id {
        let item = load_item(state, &thread, item_id).await?;
        if item.item_type != ItemType::Widget {
            return Err(ApiError::bad_request(
                "the sender of an action must be a widget item",
            ));
        }
    }
    let input = TurnInput::CustomAction {
        item_id: params.item_id,
        action: params.action,
    };
    submit(state, p, &thread, input, opts).await
}
