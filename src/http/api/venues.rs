//! `GET /api/v1/venues/{venue_id}`: the venue, for its staff.

use actix_web::web;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::domain::venues::staff_venue;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Venue {
    pub id: String,
    pub name: String,
    pub address: String,
    pub city: String,
    pub capacity: i32,
    pub description: String,
    pub contact_email: String,
}

/// The venue.
#[utoipa::path(get, path = "/api/v1/venues/{venue_id}", operation_id = "getVenue", tag = "venues",
    params(("venue_id" = String, Path, description = "The venue id")),
    responses(
        (status = 200, body = Venue),
        (status = 401, body = super::openapi::ErrorBody),
        (status = 403, description = "not staff of this venue", body = super::openapi::ErrorBody),
        (status = 404, body = super::openapi::ErrorBody),
    ))]
pub async fn show(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<String>,
) -> Result<web::Json<Venue>, ApiError> {
    let v = staff_venue(&state.stores.domain, &p, &path).await?;
    Ok(web::Json(Venue {
        id: v.id,
        name: v.name,
        address: v.address,
        city: v.city,
        capacity: v.capacity,
        description: v.description,
        contact_email: v.contact_email,
    }))
}
