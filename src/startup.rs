//! `Application::build`: the one startup path shared by `main` and the tests.
//!
//! It connects to the database, runs migrations (unless turned off), builds the shared state,
//! binds the listener (port 0 picks a free port, which the tests use) and returns a server
//! that has not started yet, so the caller knows the port before serving.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::actors::Registry;
use crate::agents::AgentResponder;
use crate::auth::JwtVerifier;
use crate::config::Settings;
use crate::conversation::{Deps, DomainBus, Responder, TurnDeps};
use crate::state::AppState;
use crate::store::{Stores, db};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Settings that must not serve in this environment (a shipped secret in production).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot connect to the database: {0}")]
    Database(#[source] sea_orm::DbErr),
    #[error("cannot run migrations: {0}")]
    Migrate(#[source] sea_orm::DbErr),
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Auth(#[from] crate::auth::AuthError),
    #[error("cannot set up the LLM client: {0}")]
    Llm(#[source] crate::llm::LlmError),
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A built application: the bound listener, the HTTP server (not yet serving) and the
/// shared state. When it is dropped, or its server stops, the actor arbiters stop too, so an
/// application leaves no thread behind.
pub struct Application {
    port: u16,
    /// Taken by [`Application::run_until_stopped`].
    server: Option<Server>,
    state: AppState,
}

impl Application {
    /// Connects, migrates, binds, with the production responder (the assistants). Call
    /// [`Application::run_until_stopped`] to serve.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with(settings, None).await
    }

    /// As [`Application::build`], with another responder (the tests' scripted one).
    pub async fn build_with(
        settings: Settings,
        responder: Option<Arc<dyn Responder>>,
    ) -> Result<Self, StartupError> {
        // Before anything is touched: a server that must not run does not migrate either.
        settings.check_deployment()?;
        std::fs::create_dir_all(&settings.server.data_dir).map_err(|source| {
            StartupError::DataDir {
                path: settings.server.data_dir.display().to_string(),
                source,
            }
        })?;
        let conn = db::connect(&settings.database)
            .await
            .map_err(StartupError::Database)?;
        if settings.database.migrate_on_start {
            db::migrate_up(&conn).await.map_err(StartupError::Migrate)?;
        }
        let verifier = Arc::new(JwtVerifier::new(&settings.auth)?);
        // Bound before the cluster is joined: a node's internal address names its real port.
        let addr = settings.bind_address();
        let listener =
            listen(&addr, settings.server.backlog).map_err(|source| StartupError::Bind {
                addr: addr.clone(),
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?
            .port();
        let settings = Arc::new(settings);
        let cluster = if settings.cluster.enabled {
            let address = internal_address(&settings, port);
            Some(crate::cluster::Cluster::join(&settings.cluster, conn.clone(), address).await?)
        } else {
            None
        };
        let writer = db::writer(&settings.database, &conn)
            .await
            .map_err(StartupError::Database)?;
        let owners = cluster.as_ref().map(|c| c.owners().clone());
        let max_batch = settings.database.sqlite_group_commit_max;
        let group = (conn.get_database_backend() == sea_orm::DbBackend::Sqlite && max_batch > 0)
            .then(|| crate::store::GroupCommit::spawn(writer.clone(), max_batch));
        let writes = crate::store::Writes {
            pool: writer,
            group,
        };
        let stores = Stores::with_writer(conn, writes, owners);
        match &cluster {
            // In a cluster the other nodes' turns are running: a turn left by a dead node
            // is closed by the node that takes its thread over (`actors::registry`).
            Some(c) => c.spawn_heartbeat(),
            None => close_abandoned_turns(&stores).await,
        }
        let responder = match responder {
            Some(r) => r,
            None => Arc::new(AgentResponder::new(&settings).map_err(StartupError::Llm)?),
        };
        let (bus, changes) = DomainBus::channel();
        // Cluster (#17, item 5): this node's domain changes go to the outbox, and the other
        // nodes' come back from it to this node's bus (`cluster::outbox`). Runs until exit.
        if let Some(c) = &cluster {
            bus.set_outbox(
                crate::store::OutboxStore::new(c.db().clone()),
                c.node_id().to_owned(),
            );
            let retention = std::time::Duration::from_secs(c.settings().outbox_retention_secs);
            crate::cluster::outbox::start(
                c.db().clone(),
                c.node_id().to_owned(),
                bus.clone(),
                retention,
            )
            .await?;
        }
        let deps = TurnDeps::new(Deps {
            stores: stores.clone(),
            settings: settings.clone(),
            responder,
            bus,
        });
        let registry = Registry::new(
            deps,
            per_core(settings.server.actor_threads),
            changes,
            cluster.clone(),
        );
        let limits = crate::limits::Limits::new(&settings.limits, &settings.server.trusted_proxies);
        // In a cluster the per-user limits hold across the nodes (`limits::cluster`).
        let limits = Arc::new(match &cluster {
            Some(c) => limits.with_cluster(crate::limits::ClusterLimits::new(
                c.db().clone(),
                c.node_id().to_owned(),
                c.epoch_handle(),
                c.settings().heartbeat_timeout(),
                settings.limits.rate_limit_per_minute,
                settings.limits.rate_limit_burst,
                settings.limits.max_concurrent_streams,
            )),
            None => limits,
        });
        let user_cache_secs = settings.auth.user_cache_secs;
        let state = AppState {
            settings,
            stores,
            verifier,
            users: Arc::new(crate::auth::UserCache::new(std::time::Duration::from_secs(
                user_cache_secs,
            ))),
            registry,
            limits,
            cluster,
        };
        let server = Self::server(listener, state.clone())?;
        tracing::info!(
            port,
            database = db::backend_name(&state.stores.db),
            "eventchat listening"
        );
        Ok(Self {
            port,
            server: Some(server),
            state,
        })
    }

    fn server(listener: TcpListener, state: AppState) -> Result<Server, StartupError> {
        let workers = per_core(state.settings.server.workers);
        let data = web::Data::new(state);
        let server = HttpServer::new(move || {
            let state = data.clone();
            App::new()
                .wrap(actix_web::middleware::from_fn(
                    crate::http::nul_url::refuse_nul,
                ))
                .wrap(cors(&state.settings.server.cors_allowed_origins))
                .wrap(TracingLogger::<crate::http::request_log::RequestLog>::new())
                .app_data(state.clone())
                .configure(|cfg| crate::http::configure(cfg, &state))
        })
        .workers(workers)
        // A client that closes its connection (the widget's Stop aborts the fetch) is seen at
        // once, not at the next write: the response (and with it the turn's SSE body, which
        // tells the thread's actor) is dropped as soon as the read side reports EOF. Browsers
        // never half-close a request, so nothing legitimate is cut off.
        .h1_allow_half_closed(false)
        // SSE frames are small writes on long-lived (kept-alive) connections: without
        // TCP_NODELAY, Nagle holds each one until the previous is acknowledged, and a client's
        // delayed ACK makes that ~40 ms per frame (measured by the #7 benchmark).
        .on_connect(|conn, _| {
            if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>()
                && let Err(e) = tcp.set_nodelay(true)
            {
                tracing::warn!(error = %e, "cannot set TCP_NODELAY");
            }
        })
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            addr: "listener".into(),
            source,
        })?
        .run();
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A handle that stops the server (tests; the CLI stops on Ctrl-C or SIGTERM).
    pub fn server_handle(&self) -> Option<actix_web::dev::ServerHandle> {
        self.server.as_ref().map(Server::handle)
    }

    /// Serves until the server is stopped (Ctrl-C, SIGTERM or its handle), then stops the
    /// actor arbiters.
    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        let served = match self.server.take() {
            Some(server) => server.await,
            None => Ok(()),
        };
        // The turns have drained with the server: the node's threads can move now.
        if let Some(cluster) = &self.state.cluster {
            cluster.leave().await;
        }
        served
        // `self` drops here, which shuts the registry down.
    }
}

impl Drop for Application {
    fn drop(&mut self) {
        self.state.registry.shutdown();
    }
}

/// CORS for the configured origins (the ChatKit CDN iframe and the app's own pages):
/// preflights answered, credentials not needed (auth is a bearer header).
fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "OPTIONS"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::ACCEPT,
            actix_web::http::header::ACCEPT_LANGUAGE,
        ])
        .allowed_header("x-upload-token")
        .allowed_header("x-eventchat-on-disconnect")
        .allowed_header("idempotency-key")
        // The fetch wrapper names the thread for a load balancer that hashes on it.
        .allowed_header("x-eventchat-thread")
        // The page's fetch wrapper reads the turn id to resume or cancel the turn.
        .expose_headers(["x-eventchat-turn"])
        .max_age(3600);
    for origin in origins {
        if origin == "*" {
            cors = cors.allow_any_origin();
        } else {
            cors = cors.allowed_origin(origin);
        }
    }
    cors
}

/// Binds `addr` with a listen queue of `backlog` (std's `TcpListener::bind` fixes it at 128,
/// which a burst of new connections overflows).
fn listen(addr: &str, backlog: u32) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    use std::net::ToSocketAddrs;
    let mut last = None;
    for sa in addr.to_socket_addrs()? {
        let socket = Socket::new(Domain::for_address(sa), Type::STREAM, Some(Protocol::TCP))?;
        // As std does: a restarted server can bind while old connections are in TIME_WAIT.
        socket.set_reuse_address(true)?;
        match socket.bind(&sa.into()) {
            Ok(()) => {
                socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
                return Ok(socket.into());
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to bind")
    }))
}

/// Closes, before any request, the turns the previous process did not finish: their partial
/// answers kept and marked (a failure here is logged, never fatal). One node only.
async fn close_abandoned_turns(stores: &Stores) {
    match crate::conversation::recovery::close_abandoned_turns(stores).await {
        Ok(r) => {
            if r.turns > 0 {
                tracing::warn!(
                    turns = r.turns,
                    partial_answers = r.partial_answers,
                    "closed turns the previous process left running"
                );
            }
            if r.stale_rows > 0 {
                // Finished turns whose row's delete was cut short by the stop: nothing lost.
                tracing::info!(
                    rows = r.stale_rows,
                    "dropped the run rows of turns that had finished"
                );
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot look for turns left running"),
    }
}

/// The `host:port` the other nodes reach this one at: `cluster.internal_address`, else the
/// listening address with the bound port (a wildcard host becomes loopback, reachable only
/// from this machine: set `cluster.internal_address` for a cluster of several machines).
fn internal_address(settings: &Settings, port: u16) -> String {
    let configured = settings.cluster.internal_address.trim();
    if !configured.is_empty() {
        return configured.to_owned();
    }
    match settings.server.host.as_str() {
        "0.0.0.0" | "::" | "[::]" => format!("127.0.0.1:{port}"),
        host => format!("{host}:{port}"),
    }
}

/// A configured thread count, where 0 means one per core.
fn per_core(configured: usize) -> usize {
    match configured {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    }
}
