//! HTTP routes. Handlers are thin: they extract, call into the library, and return; every
//! error goes through `crate::error::ApiError`. Malformed JSON, query strings and paths are
//! turned into the same error table by the extractor configs registered here. JSON bodies are
//! read with `json_body::JsonBody` (lone surrogate escapes and U+0000 handled as in ChatKit
//! requests), within the same `server.body_limit_bytes` as the ChatKit endpoint; a URL that
//! holds `%00` is refused before routing (`nul_url`, wrapped around the app by `startup`).
//!
//! Routes: `POST {chatkit_path}` (ChatKit), `PUT|POST {chatkit_path}/uploads/{id}` and
//! `GET {chatkit_path}/attachments/{id}/content` (attachment bytes), the turn lifecycle
//! (`POST {chatkit_path}/turns/{id}/events|cancel`, `GET {chatkit_path}/threads/{id}/turn`), `GET /health`,
//! `GET /ready`, `GET /metrics`, `/admin/...` (admins), `POST /dev/token` and `GET /dev/users`
//! (dev login only), the live change feeds `GET /api/v1/{venues,events}/{id}/changes`, and
//! the web pages and their assets (`crate::web`), the REST API `/api/v1/...` of the
//! pages, search included (`api`).

pub mod admin;
mod admin_llm;
pub mod agents;
pub mod api;
pub mod changes;
pub mod chatkit;
pub mod dev;
pub mod health;
pub mod json_body;
pub mod nul_url;
pub mod request_log;
pub mod sse_body;

use actix_web::{HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;

/// Registers every route of the application.
pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    let settings = &state.settings;
    let path = settings
        .server
        .chatkit_path
        .trim_end_matches('/')
        .to_owned();
    cfg.app_data(
        web::JsonConfig::default()
            .limit(settings.server.body_limit_bytes)
            .error_handler(|err, _| {
                ApiError::bad_request(format!("invalid JSON body: {err}")).into()
            }),
    )
    .app_data(web::PayloadConfig::new(settings.server.body_limit_bytes))
    .app_data(
        web::PathConfig::default()
            .error_handler(|err, _| ApiError::bad_request(format!("invalid path: {err}")).into()),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|err, _| ApiError::bad_request(format!("invalid query: {err}")).into()),
    )
    .service(health::health)
    .service(health::ready)
    .route("/metrics", web::get().to(metrics))
    .route(&path, web::post().to(chatkit::chatkit))
    .route(
        &format!("{path}/uploads/{{id}}"),
        web::put().to(chatkit::upload),
    )
    .route(
        &format!("{path}/uploads/{{id}}"),
        web::post().to(chatkit::upload),
    )
    .route(
        &format!("{path}/attachments/{{id}}/content"),
        web::get().to(chatkit::preview),
    )
    .route(
        &format!("{path}/turns/{{turn_id}}/events"),
        web::post().to(chatkit::turns::events),
    )
    .route(
        &format!("{path}/turns/{{turn_id}}/cancel"),
        web::post().to(chatkit::turns::cancel),
    )
    .route(
        &format!("{path}/threads/{{thread_id}}/turn"),
        web::get().to(chatkit::turns::current),
    )
    .service(agents::starter_prompts_route)
    .configure(admin::configure)
    .configure(admin_llm::configure)
    .configure(api::configure)
    .configure(|c| crate::web::configure(c, state));
    if settings.auth.dev_login {
        cfg.service(dev::dev_token).service(dev::dev_users);
    }
    cfg.default_service(web::to(not_found));
}

async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::metrics::global().render())
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such route".into()))
}
