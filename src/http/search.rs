//! `GET /api/v1/search?q=...&limit=20&event_id=...&kind=thread_item,message`: full-text
//! search over the caller's own thread items and the messages they may see.
//!
//! Answers `{"data":[hit, ...]}`, best first (fields of `domain::search::SearchHit`,
//! snake_case, absent rather than null; `snippet` is HTML, the rest plain text). The
//! access rules are `domain::search`'s; this handler only parses the query string. A
//! missing, blank or oversized `q`, a bad `limit` or an unknown `kind` is a 400.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Principal;
use crate::domain::DomainError;
use crate::domain::search::{self, SearchOptions};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::search::DocKind;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/search", web::get().to(search_route));
}

#[derive(Deserialize)]
struct Params {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
    event_id: Option<String>,
    /// Comma-separated kinds.
    kind: Option<String>,
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

/// A refused search as the error table has it.
fn api_error(e: DomainError) -> ApiError {
    match e {
        DomainError::NotFound(what) => ApiError::not_found(&what),
        DomainError::Forbidden(why) => ApiError::Forbidden(why),
        DomainError::Invalid(..) => ApiError::BadRequest(e.to_string()),
        DomainError::Conflict(why) => ApiError::Conflict(why),
        DomainError::Store(e) => ApiError::from(e),
    }
}

async fn search_route(
    state: web::Data<AppState>,
    p: Principal,
    params: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let opts = SearchOptions {
        limit: params.limit,
        event_id: params.event_id.filter(|e| !e.is_empty()),
        kinds: params.kind.as_deref().map(kinds).transpose()?,
    };
    let stores = &state.stores;
    let hits = search::search(&stores.domain, &stores.search, &p, &params.q, &opts)
        .await
        .map_err(api_error)?;
    Ok(HttpResponse::Ok().json(json!({ "data": hits })))
}
