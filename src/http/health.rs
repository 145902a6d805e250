//! `GET /health` (the process is up) and `GET /ready` (the database answers, and in a
//! cluster this node takes turns: a self-fenced node is not ready, so a load balancer stops
//! sending it requests).
//!
//! `/ready` answers within a second whatever the database does: its round trip gets
//! [`READY_DEADLINE`], and a database that has not answered by then (down, unreachable, its
//! pool exhausted) is a 503, not a probe that hangs for the pool's acquire timeout. The
//! abandoned round trip is dropped with its future; the pool closes a connection dropped
//! mid-query instead of reusing it.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::db;

/// How long `/ready` waits for the database: below a second, with room for the response.
pub const READY_DEADLINE: Duration = Duration::from_millis(800);

/// The database did not answer `/ready` within [`READY_DEADLINE`].
#[derive(Debug, thiserror::Error)]
#[error("the database did not answer within {} ms", READY_DEADLINE.as_millis())]
struct NoAnswer;

#[get("/health")]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

/// A cluster node that does not take turns (its heartbeat lapsed, or it was replaced).
#[derive(Debug, thiserror::Error)]
#[error("this cluster node is self-fenced: its heartbeat was last renewed {0} ms ago")]
struct SelfFenced(u128);

#[get("/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if let Some(cluster) = &state.cluster
        && !cluster.accepting()
    {
        let since = cluster.health().since_renewed().as_millis();
        return Err(ApiError::Unavailable(Box::new(SelfFenced(since))));
    }
    match tokio::time::timeout(READY_DEADLINE, db::ping(&state.stores.db)).await {
        Ok(Ok(())) => Ok(HttpResponse::Ok().json(json!({
            "status": "ok",
            "database": db::backend_name(&state.stores.db),
        }))),
        Ok(Err(e)) => Err(ApiError::Unavailable(Box::new(e))),
        Err(_) => Err(ApiError::Unavailable(Box::new(NoAnswer))),
    }
}
