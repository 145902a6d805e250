//! `GET /api/agents/{agent_type}`: what the web page needs to set up an assistant (starter
//! prompts, required metadata), from its `AgentSpec`.

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::agents::spec::AgentSpec;
use crate::error::ApiError;
use crate::vocab::AgentType;

#[get("/api/agents/{agent_type}")]
pub async fn starter_prompts_route(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let raw = path.into_inner();
    let agent_type = AgentType::parse(&raw)
        .map_err(|_| ApiError::NotFound(format!("unknown agent type {raw:?}")))?;
    let spec = AgentSpec::of(agent_type);
    let required: Vec<&str> = spec.required_metadata.iter().map(|f| f.key()).collect();
    Ok(HttpResponse::Ok().json(json!({
        "agent_type": agent_type,
        "starter_prompts": spec.starter_prompts,
        "required_metadata": required,
    })))
}
