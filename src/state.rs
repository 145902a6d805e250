//! Shared application state handed to every handler (`web::Data<AppState>`).

use std::sync::Arc;

use crate::actors::Registry;
use crate::auth::JwtVerifier;
use crate::config::Settings;
use crate::limits::Limits;
use crate::store::Stores;

/// Everything a request handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub stores: Stores,
    pub verifier: Arc<JwtVerifier>,
    /// Users looked up by recent requests (`auth.user_cache_secs`).
    pub users: Arc<crate::auth::UserCache>,
    pub registry: Registry,
    /// The per-address limit before authentication, and the per-user rate limit and
    /// open-stream cap of the ChatKit endpoint.
    pub limits: Arc<Limits>,
    /// This node's part in a cluster (`cluster.enabled`); `None` on a single node.
    pub cluster: Option<crate::cluster::Cluster>,
}
