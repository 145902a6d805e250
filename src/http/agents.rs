//! `GET /api/agents/{agent_type}`: what the web page needs to set up an assistant (starter
//! prompts, required metadata).

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::agents::starters::starter_prompts;
use crate::error::ApiError;

#[get("/api/agents/{agent_type}")]
pub async fn starter_prompts_route(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let agent_type = path.into_inner();
    let prompts = starter_prompts(&agent_type)
        .ok_or_else(|| ApiError::NotFound(format!("unknown agent type {agent_type:?}")))?;
    let required: &[&str] = match agent_type.as_str() {
        "client" => &["eventId"],
        "venue_general" => &["venueId"],
        _ => &["venueId", "eventId"],
    };
    Ok(HttpResponse::Ok().json(json!({
        "agent_type": agent_type,
        "starter_prompts": prompts,
        "required_metadata": required,
    })))
}
