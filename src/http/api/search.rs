//! `GET /api/v1/search?q=...&limit=20&event_id=...&kind=thread_item,message`: full-text
//! search over the caller's own thread items and the messages they may see.
//!
//! Answers `{"data":[hit, ...]}`, best first (fields of `domain::search::SearchHit`,
//! snake_case, absent rather than null; `snippet` is HTML, the rest plain text). The
//! access rules are `domain::search`'s; this handler only parses the query string. A
//! missing, blank or oversized `q`, a bad `limit` or an unknown `kind` is a 400.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::domain::search::{self, SearchHit, SearchOptions};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::search::DocKind;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// The query: words (all must match), `"a phrase"`, `a OR b`, `-word`, `pre*`.
    #[serde(default)]
    q: String,
    /// At most this many hits (default 20; more than 50 is taken as 50).
    limit: Option<usize>,
    /// Only this event's messages and threads (an event the caller may see).
    event_id: Option<String>,
    /// Comma-separated kinds: `thread_item`, `message` (default both).
    kind: Option<String>,
}

/// One hit, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Hit {
    /// `thread_item` or `message`.
    pub kind: String,
    /// The item id or the message id.
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venue_id: Option<String>,
    /// Plain text: the thread's title, or the message's subject (or its sender).
    pub title: String,
    /// HTML: escaped text with the matches in `<mark>`.
    pub snippet: String,
    /// Relevance, higher is better; only comparable within one response.
    pub score: f64,
    pub created_at: DateTime<Utc>,
}

impl From<SearchHit> for Hit {
    fn from(h: SearchHit) -> Self {
        Self {
            kind: h.kind.to_owned(),
            id: h.id,
            thread_id: h.thread_id,
            thread_title: h.thread_title,
            event_id: h.event_id,
            venue_id: h.venue_id,
            title: h.title,
            snippet: h.snippet,
            score: h.score,
            created_at: h.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Hits {
    pub data: Vec<Hit>,
}

fn kinds(list: &str) -> Result<Vec<DocKind>, ApiError> {
    list.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| match k {
            "thread_item" => Ok(DocKind::ThreadItem),
            "message" => Ok(DocKind::Message),
            other => Err(ApiError::bad_request(format!(
                "invalid kind: {other:?} (thread_item or message)"
            ))),
        })
        .collect()
}

/// Full-text search over the caller's own chats and the messages they may see.
#[utoipa::path(get, path = "/api/v1/search", operation_id = "search", tag = "search",
    params(Params),
    responses(
        (status = 200, body = Hits),
        (status = 400, description = "missing, blank or oversized query, bad limit or kind", body = super::openapi::ErrorBody),
        (status = 401, body = super::openapi::ErrorBody),
        (status = 403, description = "event_id of an event the caller may not see", body = super::openapi::ErrorBody),
        (status = 404, description = "no such event", body = super::openapi::ErrorBody),
    ))]
pub async fn search_route(
    state: web::Data<AppState>,
    p: Principal,
    params: web::Query<Params>,
) -> Result<web::Json<Hits>, ApiError> {
    let params = params.into_inner();
    let opts = SearchOptions {
        limit: params.limit,
        event_id: params.event_id.filter(|e| !e.is_empty()),
        kinds: params.kind.as_deref().map(kinds).transpose()?,
    };
    let stores = &state.stores;
    let hits = search::search(&stores.domain, &stores.search, &p, &params.q, &opts).await?;
    Ok(web::Json(Hits {
        data: hits.into_iter().map(Hit::from).collect(),
    }))
}
