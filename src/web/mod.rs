//! The web pages, served by eventchat itself on its own port.
//!
//! Pages: `/` (sign-in), `/venues/{venue_id}` (the venue dashboard), `/events/{event_id}`
//! (the client's event page), `/admin` (the live-actor admin page). Each page is the same
//! small HTML shell ([`pages`]) naming its ES module; the module fetches its data from the
//! REST API (`/api/v1`) and the ChatKit endpoint with the bearer token the sign-in page
//! kept in `sessionStorage`. The shell itself carries no data, only public settings, so
//! serving it needs no authentication and no cookie exists that the API would accept: a
//! user who may not see a venue gets the shell and a refusal from the API, never its data.
//!
//! Assets (`/assets/{name}`) are compiled into the binary ([`assets`]): no Node, npm or CDN
//! at run time (the `chatkit` renderer alone loads OpenAI's ChatKit.js from its CDN).

pub mod assets;
pub mod pages;

use actix_web::{Route, guard, web};

use crate::state::AppState;

/// Registers the pages and their assets (when `ui.enabled`).
pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    if !state.settings.ui.enabled {
        return;
    }
    cfg.route("/", get().to(pages::sign_in))
        .route("/venues/{venue_id}", get().to(pages::venue_dashboard))
        .route("/events/{event_id}", get().to(pages::event_page))
        .route("/admin", get().to(pages::admin))
        .route("/assets/{name}", get().to(assets::serve));
}

/// GET, and HEAD answered the same way (actix leaves the body out).
fn get() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}
