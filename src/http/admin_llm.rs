//! `GET /admin/llm` (admins only): which model answers, and for the local model its state
//! (starting with what it is doing, e.g. a download's progress; ready; or why it cannot
//! run), its configuration, the queue, the KV cache and the token figures since the start.
//!
//! The figures are the process's `eventchat_local_*` metrics, as one JSON object for the
//! admin page; rates are totals over the time spent (tokens per second of decoding), not a
//! moving window.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use crate::auth::{Principal, access};
use crate::config::LlmProvider;
use crate::error::ApiError;
use crate::llm::local::{EngineState, LocalEngine};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/llm", web::get().to(show));
}

async fn show(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    if !access::is_admin(&p) {
        return Err(ApiError::Forbidden(
            "the admin API is for admins only".into(),
        ));
    }
    let llm = &state.settings.llm;
    let body = match llm.resolved_provider() {
        LlmProvider::Local => local(&LocalEngine::shared(&llm.local), &llm.local.model),
        _ => json!({
            "provider": "openai",
            "base_url": if llm.base_url.trim().is_empty() { "https://api.openai.com/v1" } else { llm.base_url.as_str() },
        }),
    };
    Ok(HttpResponse::Ok().json(body))
}

fn per_second(count: u64, micros: u64) -> Option<f64> {
    (micros > 0).then(|| (count as f64 * 1e6 / micros as f64 * 10.0).round() / 10.0)
}

/// The local engine's view; the engine is the one the turn runner uses (one per settings).
fn local(engine: &LocalEngine, model: &str) -> Value {
    let m = crate::metrics::global();
    let (waits, mean_wait) = m.local_queue_wait.count_and_mean();
    let (state, detail, info) = match engine.state() {
        EngineState::Starting { what } => ("starting", Some(what), None),
        EngineState::Ready { info, .. } => ("ready", None, Some(info)),
        EngineState::Failed { error } => ("failed", Some(error.to_string()), None),
    };
    let evaluated = m.local_prompt_evaluated.get();
    let generated = m.local_generated.get();
    json!({
        "provider": "local",
        "model": model,
        "state": state,
        "detail": detail,
        "engine": info,
        "queue": {
            "waiting": m.local_queued.get(),
            "active": m.local_active.get(),
            "turns_admitted": waits,
            "mean_wait_ms": u64::try_from(mean_wait.as_millis()).unwrap_or(u64::MAX),
        },
        "cache": {
            "threads_cached": m.local_cached_threads.get(),
            "prompt_tokens_evaluated": evaluated,
            "prompt_tokens_reused": m.local_prompt_reused.get(),
            "prompt_tokens_shared": m.local_prompt_shared.get(),
        },
        "tokens": {
            "generated": generated,
            "prompt_per_second": per_second(evaluated, m.local_prompt_micros.get()),
            "generation_per_second": per_second(generated, m.local_generation_micros.get()),
        },
    })
}
