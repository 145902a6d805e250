//! Request limits: per client address before authentication, and per user on the ChatKit
//! endpoint (a request rate limit and a cap on open streams).
//!
//! - The address limit: a [`RateLimiter`] keyed by client address
//!   (`limits.address_rate_limit_per_minute` / `_burst`), taken by every request that
//!   presents a token (the `Principal` extractor) or an upload or preview token, before the
//!   token is looked at. It is what stops a client without a valid token: it gets 429 with
//!   `Retry-After` after the burst, which costs a map lookup, instead of a verification and a
//!   401 per request. The address is the peer's, or what a trusted proxy reports
//!   (`address.rs`). It is generous (several people behind one NAT share it); the per-user
//!   limit below is the fine one.
//! - [`RateLimiter`]: one token bucket per user (`limits.rate_limit_per_minute` refilled
//!   continuously, at most `limits.rate_limit_burst` saved up). A request takes one token;
//!   without one it is refused with the time until the next token (HTTP 429 +
//!   `Retry-After`). `rate_limit_per_minute = 0` turns the limit off.
//! - [`StreamLimiter`]: the number of SSE responses open per user
//!   (`limits.max_concurrent_streams`, `0` = no cap). A slot is a [`StreamSlot`] owned by
//!   the response body ([`Guarded`]), so it is released however the stream ends: finished,
//!   failed, or the client went away.
//!
//! - In a cluster (`cluster.enabled`), [`ClusterLimits`] keeps the two per-user limits in
//!   PostgreSQL so that they hold across the nodes (a bucket row per user, a lease row per open
//!   stream; the protocol is in the docs of `cluster.rs`). The in-process `rate` and `streams`
//!   then only decide while the database cannot answer (fail open onto the node's own limit).
//!   Without a cluster nothing here touches the database.
//!
//! The two per-user limits are keyed by user id, not by address, so that a user behind a
//! shared NAT does not starve another. The clock is a parameter (`*_at(.., now)`) so the
//! arithmetic is tested without sleeping. Every refusal is counted in
//! `eventchat_rate_limited_total{scope}` (`address`, `user`, `streams`).
//!
//! Layout: `rate.rs` (the token buckets), `streams.rs` (the open-stream cap and the body
//! wrapper that holds a slot), `cluster.rs` (both, cluster-wide), `address.rs` (who the
//! client is). Plain names, not links:
//! `rate` and `streams` are private, so rustdoc could not resolve a link to them from this
//! public page.

pub mod address;
pub mod cluster;
#[cfg(test)]
mod cluster_tests;
mod rate;
mod streams;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use actix_web::http::header::HeaderMap;

pub use cluster::{ClusterLease, ClusterLimitError, ClusterLimits};
pub use rate::RateLimiter;
pub use streams::{Guarded, StreamLimiter, StreamSlot};

use crate::config::{LimitSettings, ProxyNet};
use crate::error::ApiError;

/// The limiters, shared by every worker (`AppState::limits`).
#[derive(Debug)]
pub struct Limits {
    pub rate: RateLimiter,
    pub streams: StreamLimiter,
    /// Per client address ([`address::bucket_key`]), before authentication.
    pub address: RateLimiter,
    trusted_proxies: Vec<ProxyNet>,
    /// In a cluster: the per-user limits shared by every node (`cluster.rs`); `rate` and
    /// `streams` then only serve while the database cannot answer.
    cluster: Option<ClusterLimits>,
}

impl Limits {
    pub fn new(settings: &LimitSettings, trusted_proxies: &[ProxyNet]) -> Self {
        Self {
            rate: RateLimiter::new(settings.rate_limit_per_minute, settings.rate_limit_burst),
            streams: StreamLimiter::new(settings.max_concurrent_streams),
            address: RateLimiter::new(
                settings.address_rate_limit_per_minute,
                settings.address_rate_limit_burst,
            ),
            trusted_proxies: trusted_proxies.to_vec(),
            cluster: None,
        }
    }

    /// These limits with the per-user rate limit and stream cap kept cluster-wide by
    /// `cluster` (built from the same `LimitSettings`). The address limit stays per node.
    pub fn with_cluster(mut self, cluster: ClusterLimits) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// The cluster-wide backend, if any.
    pub fn cluster(&self) -> Option<&ClusterLimits> {
        self.cluster.as_ref()
    }

    /// The client address of a request from `peer` with these headers (`address.rs`).
    pub fn client_ip(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        address::client_ip(peer, headers, &self.trusted_proxies)
    }

    /// Takes one request token for the client address `ip`, or the 429 to answer. A request
    /// with no peer address (not a TCP connection) is not limited.
    pub fn check_address(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(ip) = ip else {
            return Ok(());
        };
        self.address
            .check(&address::bucket_key(ip))
            .map_err(|wait| refused("address", "too many requests from this address", wait))
    }

    /// Takes one request token for `user_id`, or the 429 to answer. In a cluster the bucket
    /// is the database's (one statement); if that fails, this node's own bucket decides.
    pub async fn check_rate(&self, user_id: &str) -> Result<(), ApiError> {
        let decision = match &self.cluster {
            Some(c) if c.limits_rate() => match c.check_rate(user_id).await {
                Ok(decision) => decision,
                Err(e) => {
                    c.record_failure("rate", &e);
                    self.rate.check(user_id)
                }
            },
            _ => self.rate.check(user_id),
        };
        decision.map_err(|wait| refused("user", "too many requests", wait))
    }

    /// Opens a stream slot for `user_id`, or the 429 to answer. In a cluster the slot is a
    /// lease row counted across the nodes; if the database fails, a slot of this node's own.
    pub async fn open_stream(&self, user_id: &str) -> Result<StreamSlot, ApiError> {
        let slot = match &self.cluster {
            Some(c) if c.limits_streams() => match c.try_acquire(user_id).await {
                Ok(lease) => lease.map(StreamSlot::cluster),
                Err(e) => {
                    c.record_failure("streams", &e);
                    self.streams.try_acquire(user_id)
                }
            },
            _ => self.streams.try_acquire(user_id),
        };
        slot.ok_or_else(|| {
            crate::metrics::global().record_rate_limited("streams");
            ApiError::RateLimited {
                message: format!(
                    "too many open streams: at most {} at a time per user; wait for one to finish",
                    self.streams.max
                ),
                retry_after_secs: 1,
            }
        })
    }
}

/// The 429 of a token bucket of `scope`, counted.
fn refused(scope: &'static str, what: &str, wait: Duration) -> ApiError {
    crate::metrics::global().record_rate_limited(scope);
    let secs = retry_after_secs(wait);
    ApiError::RateLimited {
        message: format!("{what}; try again in {secs} s"),
        retry_after_secs: secs,
    }
}

/// Whole seconds for `Retry-After`, rounded up and never 0 (0 would invite a busy loop).
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}
