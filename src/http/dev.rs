//! Dev sign-in, registered only when `auth.dev_login` is on (never in production), so with
//! it off the routes do not exist:
//! - `POST /dev/token {email}`: issues a token for a seeded user;
//! - `GET /dev/users`: the users the sign-in page offers (`{data:[{email,name,user_type,
//!   venue_id?}]}`, at most 200).

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::http::json_body::JsonBody;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct DevTokenRequest {
    email: String,
}

#[post("/dev/token")]
pub async fn dev_token(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<DevTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .stores
        .users
        .find_by_email(&body.email)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let ttl = state.settings.auth.token_ttl_secs;
    let token = state
        .verifier
        .issue(&user.id, Some(&user.email), ttl)
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(json!({
        "token": token,
        "user_id": user.id,
        "user_type": user.user_type,
        "expires_in": ttl,
    })))
}

/// How many users the sign-in page lists at most.
const LISTED_USERS: u64 = 200;

#[get("/dev/users")]
pub async fn dev_users(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let users = state.stores.users.list(LISTED_USERS).await?;
    let data: Vec<_> = users
        .into_iter()
        .map(|u| {
            let mut v = json!({"email": u.email, "name": u.name, "user_type": u.user_type});
            if let Some(venue) = u.venue_id {
                v["venue_id"] = json!(venue);
            }
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "data": data })))
}
