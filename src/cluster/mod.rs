//! Several eventchat nodes on one PostgreSQL database (issue #17; design in
//! `docs/scaling.md`).
//!
//! The database holds the whole cluster state; there is no second datastore and no
//! consensus of our own. Pieces:
//!
//! - [`membership`]: the nodes table, each node's epoch and heartbeat, self-fencing.
//! - `store::owners`: one owner row per live thread; a node claims a thread before it starts
//!   the thread's actor, takes it over only from a dead node, and every write of the thread
//!   checks the claim (the fence).
//! - [`forward`]: any node takes any request; one that needs a thread's actor and reaches a
//!   node that does not own the thread is forwarded to the owner over internal HTTP, with
//!   the principal signed by [`signing`], and the owner's bytes are streamed back unchanged.
//! - [`outbox`]: domain changes written to `cluster_outbox` and announced with `NOTIFY`, so
//!   the live threads of every node see a change any node made.
//!
//! [`Cluster`] is the handle the rest of the server holds (`AppState::cluster`), `None`
//! on a single node.

pub mod forward;
pub mod membership;
pub mod outbox;
pub mod signing;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use sea_orm::{DatabaseConnection, DbErr};
use secrecy::ExposeSecret;

use crate::config::ClusterSettings;
use crate::store::OwnerStore;
use membership::{Health, NodeInfo};
use signing::Signer;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot join the cluster: {0}")]
    Join(#[source] DbErr),
    #[error("cannot set up the cluster: {0}")]
    Setup(String),
}

#[derive(Debug)]
struct Inner {
    settings: ClusterSettings,
    node_id: String,
    address: String,
    epoch: Arc<AtomicI64>,
    db: DatabaseConnection,
    owners: OwnerStore,
    health: Arc<Health>,
    signer: Signer,
    http: reqwest::Client,
}

/// This node's part in the cluster; cheap to clone.
#[derive(Debug, Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

impl Cluster {
    /// Joins the cluster as `address` (the internal `host:port` the others reach this node
    /// at): takes the node's row with a new epoch. The heartbeat starts with
    /// [`Cluster::spawn_heartbeat`].
    pub async fn join(
        settings: &ClusterSettings,
        db: DatabaseConnection,
        address: String,
    ) -> Result<Self, ClusterError> {
        let node_id = if settings.node_id.trim().is_empty() {
            address.clone()
        } else {
            settings.node_id.trim().to_owned()
        };
        let epoch = membership::join(&db, &node_id, &address)
            .await
            .map_err(ClusterError::Join)?;
        let epoch = Arc::new(AtomicI64::new(epoch));
        let owners = OwnerStore::new(
            db.clone(),
            node_id.clone(),
            epoch.clone(),
            settings.heartbeat_timeout(),
        );
        let signer = Signer::new(
            settings.secret.expose_secret().as_bytes(),
            settings.forward_ttl_secs,
        )
        .map_err(|e| ClusterError::Setup(format!("cluster.secret: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_millis(
                settings.forward_timeout_ms.clamp(100, 10_000),
            ))
            // Internal hops on a private network: no proxy from the environment.
            .no_proxy()
            .build()
            .map_err(|e| ClusterError::Setup(format!("internal HTTP client: {e}")))?;
        tracing::info!(
            node_id,
            epoch = epoch.load(Ordering::Acquire),
            address,
            "joined the cluster"
        );
        Ok(Self {
            inner: Arc::new(Inner {
                health: Arc::new(Health::new(settings.heartbeat_timeout())),
                settings: settings.clone(),
                node_id,
                address,
                epoch,
                db,
                owners,
                signer,
                http,
            }),
        })
    }

    /// Starts the heartbeat on the current runtime; it runs until the runtime stops or the
    /// node is replaced (then every thread this node held is lost).
    pub fn spawn_heartbeat(&self) {
        let i = &self.inner;
        let owners = i.owners.clone();
        actix_web::rt::spawn(membership::heartbeat(
            i.db.clone(),
            i.node_id.clone(),
            i.epoch.clone(),
            i.health.clone(),
            i.settings.heartbeat_interval(),
            move || owners.lose_all(),
        ));
    }

    /// Leaves the cluster (a clean stop): the node's threads move at once.
    pub async fn leave(&self) {
        let i = &self.inner;
        match membership::leave(&i.db, &i.node_id, self.epoch()).await {
            Ok(()) => tracing::info!(node_id = %i.node_id, "left the cluster"),
            Err(e) => {
                tracing::warn!(node_id = %i.node_id, error = %e, "cannot leave the cluster cleanly; the others will see this node dead at its timeout")
            }
        }
        i.owners.forget_all();
    }

    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    pub fn epoch(&self) -> i64 {
        self.inner.epoch.load(Ordering::Acquire)
    }

    /// The shared cell of this node's epoch, for code that reads the current epoch later
    /// without holding the `Cluster` (the stream leases of `limits::cluster`).
    pub fn epoch_handle(&self) -> Arc<AtomicI64> {
        self.inner.epoch.clone()
    }

    pub fn address(&self) -> &str {
        &self.inner.address
    }

    pub fn settings(&self) -> &ClusterSettings {
        &self.inner.settings
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// The owner rows and this node's claims (`store::owners`).
    pub fn owners(&self) -> &OwnerStore {
        &self.inner.owners
    }

    pub fn health(&self) -> &Health {
        &self.inner.health
    }

    /// Whether this node takes new turns (not self-fenced, not replaced).
    pub fn accepting(&self) -> bool {
        self.inner.health.accepting()
    }

    pub fn signer(&self) -> &Signer {
        &self.inner.signer
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Every node, for the admin API.
    pub async fn nodes(&self) -> Result<Vec<NodeInfo>, DbErr> {
        membership::nodes(&self.inner.db, self.inner.settings.heartbeat_timeout()).await
    }
}
