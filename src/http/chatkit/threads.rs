//! Non-streaming thread and item requests: `threads.get_by_id`, `threads.list`,
//! `items.list`, `threads.update`, `threads.delete`, `items.feedback`,
//! `threads.sync_custom_action`.

use serde_json::{Map, Value};

use super::dispatch::{check_id, store_order};
use super::lists;
use super::metadata::list_filter;
use super::streaming::{check_action, load_for_turn, load_item};
use crate::auth::Principal;
use crate::chatkit::params::{
    CustomActionParams, FeedbackKind, FeedbackParams, ListItemsParams, ListThreadsParams,
    UpdateThreadParams,
};
use crate::chatkit::time::now_micros;
use crate::chatkit::{Page, SyncCustomActionResponse, Thread, ThreadItem};
use crate::conversation::answer_sync_action;
use crate::conversation::convert::{item_from_record, thread_to_wire};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{ItemRecord, Order, StoreError, ThreadPatch, ThreadRecord, Visibility};
use crate::vocab::ItemType;

/// `threads.get_by_id` returns the oldest items first (protocol §12.1).
const GET_BY_ID_ITEMS: u64 = 20;
const MAX_TITLE_CHARS: usize = 200;

pub(super) async fn load(
    state: &AppState,
    p: &Principal,
    thread_id: &str,
) -> Result<ThreadRecord, ApiError> {
    check_id(thread_id, "thread")?;
    Ok(state
        .stores
        .threads
        .load_thread(&p.user_id, thread_id)
        .await?)
}

fn decode(records: Vec<ItemRecord>) -> Result<Vec<ThreadItem>, ApiError> {
    records
        .iter()
        .map(|r| item_from_record(r).map_err(ApiError::internal))
        .collect()
}

fn cursor_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound(_) => ApiError::bad_request("unknown `after` cursor"),
        other => other.into(),
    }
}

pub(super) async fn get_by_id(
    state: &AppState,
    p: &Principal,
    thread_id: &str,
) -> Result<Thread, ApiError> {
    let thread = load(state, p, thread_id).await?;
    let page = state
        .stores
        .items
        .load_items(
            &thread,
            None,
            GET_BY_ID_ITEMS,
            Order::Asc,
            Visibility::Visible,
        )
        .await?;
    Ok(thread_to_wire(
        &thread,
        decode(page.data)?,
        page.has_more,
        page.after,
    ))
}

fn clamp(limit: usize, max: u64) -> u64 {
    u64::try_from(limit)
        .unwrap_or(u64::MAX)
        .clamp(1, max.max(1))
}

/// `threads.list`: the user's threads, narrowed to one assistant (and its venue / event)
/// when the request's `metadata` names them, as the ChatKit `fetch` does with every request
/// (see `metadata::list_filter` for which field applies to which assistant). An unknown
/// `agentType` or a malformed `eventId`/`venueId` is a 400, as on `threads.create`, rather
/// than an empty list: a page that sends them is misconfigured, and an empty history would
/// hide that. Paging (`limit`, `order`, `after`, `has_more`) is within the narrowed list.
pub(super) async fn list(
    state: &AppState,
    p: &Principal,
    params: ListThreadsParams,
    meta: &Map<String, Value>,
) -> Result<Page<Thread>, ApiError> {
    if let Some(after) = &params.after {
        check_id(after, "cursor")?;
    }
    let filter = list_filter(meta)?;
    let limit = clamp(params.limit, state.settings.limits.max_page_size);
    let page = state
        .stores
        .threads
        .list_threads_where(
            &p.user_id,
            &filter,
            limit,
            params.after.as_deref(),
            store_order(params.order),
        )
        .await
        .map_err(cursor_error)?;
    let data = page
        .data
        .iter()
        .map(|t| thread_to_wire(t, Vec::new(), false, None))
        .collect();
    Ok(Page::new(data, page.has_more, page.after))
}

pub(super) async fn list_items(
    state: &AppState,
    p: &Principal,
    params: ListItemsParams,
) -> Result<Page<ThreadItem>, ApiError> {
    let thread = load(state, p, &params.thread_id).await?;
    if let Some(after) = &params.after {
        check_id(after, "cursor")?;
    }
    let limit = clamp(params.limit, state.settings.limits.max_page_size);
    let page = state
        .stores
        .items
        .load_items(
            &thread,
            params.after.as_deref(),
            limit,
            store_order(params.order),
            Visibility::Visible,
        )
        .await
        .map_err(cursor_error)?;
    Ok(Page::new(decode(page.data)?, page.has_more, page.after))
}

pub(super) async fn update(
    state: &AppState,
    p: &Principal,
    params: UpdateThreadParams,
) -> Result<Thread, ApiError> {
    let mut thread = load(state, p, &params.thread_id).await?;
    let title = params
        .title
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    if let Some(t) = &title
        && t.chars().count() > MAX_TITLE_CHARS
    {
        return Err(ApiError::bad_request(format!(
            "title is longer than {MAX_TITLE_CHARS} characters"
        )));
    }
    // A live thread's row has one writer, its actor; otherwise the store is written here.
    let thread = match state.registry.live_thread(&thread.id) {
        Some(live) => live.rename(title).await?,
        None => {
            let patch = ThreadPatch::rename(title, now_micros());
            state
                .stores
                .threads
                .update_thread(&p.user_id, &thread.id, &patch)
                .await?;
            patch.apply(&mut thread);
            thread
        }
    };
    Ok(thread_to_wire(&thread, Vec::new(), false, None))
}

pub(super) async fn delete(
    state: &AppState,
    p: &Principal,
    thread_id: &str,
) -> Result<(), ApiError> {
    load(state, p, thread_id).await?;
    // Taken before the thread leaves the live index, so that no new request reaches the
    // actor that is being stopped.
    let live = state.registry.live_thread(thread_id);
    state.registry.forget(thread_id);
    if let Some(live) = live {
        live.stop().await?;
    }
    state
        .stores
        .threads
        .soft_delete_thread(&p.user_id, thread_id, now_micros())
        .await?;
    Ok(())
}

pub(super) async fn feedback(
    state: &AppState,
    p: &Principal,
    params: FeedbackParams,
) -> Result<(), ApiError> {
    // Bounded before any query: one request rates at most `max_feedback_items` items, each
    // once, however many ids it sends.
    let item_ids = lists::feedback_ids(&state.settings.limits, params.item_ids)?;
    let thread = load(state, p, &params.thread_id).await?;
    if item_ids.is_empty() {
        return Err(ApiError::bad_request(
            "item_ids must name at least one item",
        ));
    }
    for id in &item_ids {
        check_id(id, "item")?;
        state.stores.items.load_item(&thread, id).await?;
    }
    let kind = match params.kind {
        FeedbackKind::Positive => "positive",
        FeedbackKind::Negative => "negative",
    };
    state
        .stores
        .feedback
        .add(&thread, &item_ids, kind, now_micros())
        .await?;
    Ok(())
}

/// `threads.sync_custom_action`: the thread's responder answers at once (beside any running
/// turn) with the item that replaces the sender widget, which is stored and answered as
/// `{"updated_item": ...}`, or with no update, answered `{}`. The production assistants
/// render no widgets: they keep the action as a hidden note for the next turn and answer no
/// update. Refused before the responder is asked: a thread the principal may not talk in
/// (as for a turn), an action over the size limit, a sender that is not a widget (400).
pub(super) async fn sync_custom_action(
    state: &AppState,
    p: &Principal,
    params: CustomActionParams,
) -> Result<SyncCustomActionResponse, ApiError> {
    let thread = load_for_turn(state, p, &params.thread_id).await?;
    check_action(state, &params.action)?;
    let sender = match &params.item_id {
        Some(item_id) => {
            let record = load_item(state, &thread, item_id).await?;
            if record.item_type != ItemType::Widget {
                return Err(ApiError::bad_request(
                    "the sender of an action must be a widget item",
                ));
            }
            Some(record)
        }
        None => None,
    };
    let deps = state.registry.turn_deps();
    let answer = answer_sync_action(deps, &thread, p, &params.action, sender.as_ref()).await;
    // Whatever the responder stored went around the thread's actor, even if it then failed.
    state.registry.items_written(&thread.id).await?;
    Ok(SyncCustomActionResponse {
        updated_item: answer?,
    })
}
