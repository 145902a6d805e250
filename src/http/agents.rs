//! `GET /api/agents/{agent_type}`: what the web page needs to set up an assistant (starter
//! prompts, required metadata).

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::agents::starters::starter_prompts;
use crate::error::ApiError;
use crate::vocab::AgentType;

#[get("/api/agents/{agent_type}")]
pub async fn starter_prompts_route(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let raw = path.into_inner();
    let agent_type = AgentType::parse(&raw)
        .map_err(|_| ApiError::NotFound(format!("unknown agent type {raw:?}")))?;
    let prompts = starter_prompts(agent_type);
    let required: &[&str] = match agent_type {
        AgentType::Client => &["eventId"],
        AgentType::VenueGeneral => &["venueId"],
        AgentType::VenueEvent => &["venueId", "eventId"],
    };
    Ok(HttpResponse::Ok().json(json!({
        "agent_type": agent_type,
        "starter_prompts": prompts,
        "required_metadata": required,
    })))
}
