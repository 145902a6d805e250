//! The REST API `/api/v1` for the web pages (the venue dashboard, the client's event page).
//!
//! Handlers are thin: authenticate (the `Principal` extractor: 401 without a valid bearer
//! token), parse the path and query, call one `crate::domain` service (which authorizes:
//! an unknown venue or event is 404, someone else's 403; every id is re-checked), and map
//! the result to a snake_case DTO with nulls omitted. Lists are keyset-paged
//! (`paging.rs`). Errors are `ApiError` (`{"error":{"code","message"}}`).
//!
//! The routes are declared once, in the `api_routes!` table below, which generates the
//! registration ([`configure`]), the OpenAPI document ([`ApiDoc`], served by
//! `openapi.rs`) and [`ROUTES`], the list the tests compare the document with. A handler
//! added to the table without `#[utoipa::path]` does not compile; one whose documented path
//! or method differs from its registration fails the tests. Register `/api/v1` routes only
//! here.

pub mod change_requests;
pub mod events;
pub mod me;
pub mod messages;
pub mod openapi;
pub mod paging;
pub mod search;
pub mod tasks;
pub mod venues;

use actix_web::web;

use super::changes;
use openapi::BearerAuth;

/// One line per route: `method "path" => module::handler`. Paths use the `{name}` syntax
/// of both actix and OpenAPI.
macro_rules! api_routes {
    ($( $method:ident $path:literal => $module:ident :: $handler:ident ),+ $(,)?) => {
        /// Every route of `/api/v1` as (method, path), exactly as registered.
        pub const ROUTES: &[(&str, &str)] = &[$( (stringify!($method), $path) ),+];

        /// Registers the `/api/v1` routes.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $( cfg.route($path, web::$method().to($module::$handler)); )+
        }

        /// The OpenAPI document of the routes above.
        #[derive(utoipa::OpenApi)]
        #[openapi(
            info(title = "eventchat REST API", version = "1",
                description = "JSON data for the venue dashboard and the client event page."),
            paths($( $module::$handler ),+),
            modifiers(&BearerAuth),
            // The name of `openapi::BEARER`.
            security(("bearer" = [])),
        )]
        pub struct ApiDoc;
    };
}

api_routes! {
    get "/api/v1/me" => me::show,
    get "/api/v1/venues/{venue_id}" => venues::show,
    get "/api/v1/venues/{venue_id}/events" => events::list,
    get "/api/v1/events/{event_id}" => events::show,
    get "/api/v1/venues/{venue_id}/tasks" => tasks::list,
    get "/api/v1/events/{event_id}/messages" => messages::for_event,
    get "/api/v1/venues/{venue_id}/messages" => messages::for_venue,
    get "/api/v1/venues/{venue_id}/change-requests" => change_requests::list,
    post "/api/v1/venues/{venue_id}/change-requests/{request_id}/approve" => change_requests::approve,
    post "/api/v1/venues/{venue_id}/change-requests/{request_id}/decline" => change_requests::decline,
    get "/api/v1/venues/{venue_id}/changes" => changes::venue,
    get "/api/v1/events/{event_id}/changes" => changes::event,
    get "/api/v1/search" => search::search_route,
    get "/api/v1/openapi.json" => openapi::document,
}
