//! The admin API (admin principals only): inspect and control live actors.
//!
//! - `GET /admin/actors?page=1&per_page=50`: supervisors and their thread actors;
//! - `GET /admin/actors/{thread_id}`: one live thread actor;
//! - `POST /admin/actors/{thread_id}/stop`: cancel its turn (keeping partial text) and stop it;
//! - `POST /admin/venues/{venue_id}/evict`: stop every idle thread actor of the venue now;
//! - `POST /admin/actors/{thread_id}/panic`: only with `actors.fault_injection` (tests);
//! - `GET /admin/cluster`: this node (id, epoch, whether it takes turns, threads it holds,
//!   live actors) and every node of the membership table with its heartbeat's age and how
//!   many threads it owns; `{"enabled": false}` on a single node.

use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::actors::supervisor::EvictIdle;
use crate::auth::{Principal, access};
use crate::error::ApiError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/actors", web::get().to(list))
        .route("/admin/actors/{thread_id}", web::get().to(show))
        .route("/admin/actors/{thread_id}/stop", web::post().to(stop))
        .route("/admin/actors/{thread_id}/panic", web::post().to(panic))
        .route("/admin/venues/{venue_id}/evict", web::post().to(evict))
        .route("/admin/cluster", web::get().to(cluster));
}

fn require_admin(p: &Principal) -> Result<(), ApiError> {
    if access::is_admin(p) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "the admin API is for admins only".into(),
        ))
    }
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default = "one")]
    page: usize,
    #[serde(default = "fifty")]
    per_page: usize,
}

fn one() -> usize {
    1
}
fn fifty() -> usize {
    50
}

async fn list(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&p)?;
    let per_page = q.per_page.clamp(1, 500);
    let page = q.page.max(1);
    let venues = state.registry.inspect_all().await;
    let threads: Vec<_> = venues
        .iter()
        .flat_map(|v| v.threads.iter().cloned())
        .collect();
    let total = threads.len();
    let items: Vec<_> = threads
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let supervisors: Vec<_> = venues
        .iter()
        .map(|v| {
            json!({
                "venue_id": v.venue_id,
                "live_threads": v.live_threads,
                "restarts": v.restarts,
                "evicted": v.evicted,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "supervisors": supervisors,
        "threads": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "has_more": page * per_page < total,
    })))
}

async fn cluster(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    require_admin(&p)?;
    let Some(cluster) = &state.cluster else {
        return Ok(HttpResponse::Ok().json(json!({"enabled": false})));
    };
    let nodes = cluster.nodes().await?;
    let live_actors: usize = state
        .registry
        .inspect_all()
        .await
        .iter()
        .map(|v| v.live_threads)
        .sum();
    Ok(HttpResponse::Ok().json(json!({
        "enabled": true,
        "node": {
            "node_id": cluster.node_id(),
            "epoch": cluster.epoch(),
            "address": cluster.address(),
            "accepting": cluster.accepting(),
            "heartbeat_age_ms": u64::try_from(cluster.health().since_renewed().as_millis()).unwrap_or(u64::MAX),
            "threads_held": cluster.owners().held(),
            "live_actors": live_actors,
        },
        "nodes": nodes,
    })))
}

async fn live(state: &AppState, thread_id: &str) -> Result<crate::actors::ThreadHandle, ApiError> {
    crate::http::chatkit::check_id(thread_id, "thread")?;
    // A 404 that says which: no such thread, or no live actor for it.
    state.stores.threads.load_thread_unscoped(thread_id).await?;
    state
        .registry
        .live_thread(thread_id)
        .ok_or_else(|| ApiError::NotFound("no live actor for this thread".into()))
}

async fn show(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&p)?;
    let handle = live(&state, &path).await?;
    Ok(HttpResponse::Ok().json(handle.inspect().await?))
}

async fn stop(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&p)?;
    crate::http::chatkit::check_id(&path, "thread")?;
    let thread = state.stores.threads.load_thread_unscoped(&path).await?;
    if !state.registry.stop_thread(&thread).await? {
        return Err(ApiError::NotFound("no live actor for this thread".into()));
    }
    Ok(HttpResponse::Ok().json(json!({"stopped": true})))
}

async fn panic(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&p)?;
    if !state.settings.actors.fault_injection {
        return Err(ApiError::NotFound("no such route".into()));
    }
    let handle = live(&state, &path).await?;
    handle.inject_panic();
    Ok(HttpResponse::Accepted().json(json!({"injected": true})))
}

async fn evict(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&p)?;
    let Some(sup) = state.registry.venue(&path) else {
        return Ok(HttpResponse::Ok().json(json!({"evicted": 0})));
    };
    // "Now" far enough ahead that every idle thread is past its ttl.
    let ttl = Duration::from_secs(state.settings.actors.idle_ttl_secs);
    let now = Instant::now() + ttl;
    let n = sup
        .send(EvictIdle { now })
        .await
        .map_err(|e| ApiError::internal(format!("venue supervisor unavailable: {e}")))?;
    Ok(HttpResponse::Ok().json(json!({"evicted": n})))
}
