//! `POST /dev/token {email}`: issues a token for a seeded user. Registered only when
//! `auth.dev_login` is on (never in production), so with it off the route does not exist.

use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct DevTokenRequest {
    email: String,
}

#[post("/dev/token")]
pub async fn dev_token(
    state: web::Data<AppState>,
    body: web::Json<DevTokenRequest>,
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
