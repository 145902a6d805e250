//! The `Principal` extractor: who is calling.
//!
//! Built once per request from `Authorization: Bearer <jwt>`: the token is verified, then its
//! subject is loaded from the users table (or from the short-lived
//! [`UserCache`](super::UserCache)). A missing or bad token is 401 (with
//! `WWW-Authenticate: Bearer`); a valid token for an unknown user is 403.
//!
//! Before the token is looked at, the request takes a token of its client address's bucket
//! (`limits`, 429 without one), so a client that floods without a valid token costs a map
//! lookup per request. A 401 is counted in `eventchat_auth_failures_total{reason}` and
//! logged at debug only (`error.rs`): a client cannot make the server write a line for each
//! request it sends.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserType {
    Client,
    Venue,
    Vendor,
    Admin,
}

impl UserType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client" => Some(Self::Client),
            "venue" => Some(Self::Venue),
            "vendor" => Some(Self::Vendor),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Venue => "venue",
            Self::Vendor => "vendor",
            Self::Admin => "admin",
        }
    }
}

/// An authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub user_type: UserType,
    pub venue_id: Option<String>,
}

/// A 401 for `reason` (the metric's label), counted.
fn unauthorized(reason: &'static str, message: impl Into<String>) -> ApiError {
    crate::metrics::global().record_auth_failure(reason);
    ApiError::Unauthorized(message.into())
}

/// The bearer token of a request, if it has a well-formed `Authorization` header.
fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("missing", "missing bearer token"))?;
    let malformed = || unauthorized("malformed_header", "malformed authorization header");
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(unauthorized("not_bearer", "expected a bearer token"));
    }
    Ok(token.trim().to_owned())
}

/// Verifies the token and loads the user.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let claims = state
        .verifier
        .verify(token)
        .map_err(|e| unauthorized(e.reason(), e.to_string()))?;
    let now = std::time::Instant::now();
    if let Some(p) = state.users.get(&claims.sub, now) {
        return Ok(p);
    }
    let user = state
        .stores
        .users
        .find_by_id(&claims.sub)
        .await?
        .ok_or_else(|| ApiError::Forbidden("unknown user".into()))?;
    let user_type = UserType::parse(&user.user_type)
        .ok_or_else(|| ApiError::Forbidden("user has an unknown type".into()))?;
    let principal = Principal {
        user_id: user.id,
        email: user.email,
        name: user.name,
        user_type,
        venue_id: user.venue_id,
    };
    state.users.put(&principal, now);
    Ok(principal)
}

/// Set on a request whose principal another cluster node verified and signed
/// (`cluster::signing`): it is served here and never forwarded again, and the limits were
/// taken by the node the client reached.
#[derive(Debug, Clone)]
pub struct Forwarded {
    /// The node that forwarded it.
    pub from_node: String,
}

/// The principal a cluster node forwarded (see [`Forwarded`]). A node without a cluster, a
/// bad signature or an expired header: 401, counted like any refused token.
fn forwarded(
    req: &HttpRequest,
    state: &AppState,
    value: &header::HeaderValue,
) -> Result<Principal, ApiError> {
    let Some(cluster) = &state.cluster else {
        return Err(unauthorized(
            "forwarded_no_cluster",
            "a forwarded principal is only accepted between cluster nodes",
        ));
    };
    let value = value
        .to_str()
        .map_err(|_| unauthorized("forwarded_malformed", "malformed forwarded principal"))?;
    let now = chrono::Utc::now().timestamp();
    match cluster.signer().verify(value, now) {
        Ok((principal, from_node)) => {
            req.extensions_mut().insert(Forwarded { from_node });
            Ok(principal)
        }
        Err(e) => Err(unauthorized(e.reason(), e.to_string())),
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
            return Box::pin(async { Err(ApiError::internal("application state missing")) });
        };
        if let Some(value) = req.headers().get(crate::cluster::signing::PRINCIPAL_HEADER) {
            // Checked before the address limit: a verified forward comes from a node, whose
            // address must not spend the clients' budget; a refused one takes a token as any
            // bad token does.
            let result = forwarded(req, &state, value);
            if result.is_err() {
                let client = state.limits.client_ip(req.peer_addr(), req.headers());
                if let Err(e) = state.limits.check_address(client) {
                    return Box::pin(async { Err(e) });
                }
            }
            return Box::pin(async move { result });
        }
        // The address's bucket first: refused here, the token is never parsed or verified.
        let client = state.limits.client_ip(req.peer_addr(), req.headers());
        if let Err(e) = state.limits.check_address(client) {
            return Box::pin(async { Err(e) });
        }
        let token = bearer(req);
        Box::pin(async move { authenticate(&state, &token?).await })
    }
}
