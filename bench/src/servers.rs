//! The two servers under test: `eventchat serve --demo` (environment, seeded personas with
//! tokens minted from the seeded database, admin token for the actor endpoints) and the Python
//! reference (`scripts/bench/reference_server.py`), both pointed at the in-process mock LLM.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use eventchat::auth::JwtVerifier;
use eventchat::config::Settings;
use eventchat::store::db;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::Res;
use crate::args::Args;
use crate::http::http;
use crate::procs::{Proc, free_port};

/// What every scenario needs: the options, the work directory, the mock's base URL.
#[derive(Clone)]
pub struct Setup {
    pub args: Args,
    pub work: PathBuf,
    pub mock_base: String,
}

/// The environment of an eventchat child: loopback, the mock as model, limits off (the load
/// generator is one address, so the per-address limit too); every other setting is the
/// server's default, unless an `EVENTCHAT_*` variable in the bench's own environment (which
/// the child inherits) sets it, e.g. `EVENTCHAT_DATABASE__MAX_CONNECTIONS`.
fn eventchat_env(setup: &Setup, port: u16, db_url: &str) -> Vec<(String, String)> {
    // The server's log filter: quiet by default; `BENCH_SERVER_LOG=debug` (with
    // `BENCH_KEEP_WORK=1`) keeps a detailed log in the work dir.
    let log = std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".to_owned());
    [
        ("EVENTCHAT_ENV", "local"),
        ("EVENTCHAT_SERVER__HOST", "127.0.0.1"),
        ("EVENTCHAT_SERVER__PORT", &port.to_string()),
        (
            "EVENTCHAT_SERVER__DATA_DIR",
            &setup.work.join("data").to_string_lossy(),
        ),
        ("EVENTCHAT_DATABASE__URL", db_url),
        ("EVENTCHAT_LLM__BASE_URL", &setup.mock_base),
        ("EVENTCHAT_LLM__API_KEY", "sk-bench"),
        ("EVENTCHAT_LLM__TITLE_ENABLED", "false"),
        ("EVENTCHAT_LIMITS__RATE_LIMIT_PER_MINUTE", "1000000"),
        ("EVENTCHAT_LIMITS__RATE_LIMIT_BURST", "1000000"),
        ("EVENTCHAT_LIMITS__MAX_CONCURRENT_STREAMS", "100000"),
        ("EVENTCHAT_LIMITS__ADDRESS_RATE_LIMIT_PER_MINUTE", "0"),
        ("EVENTCHAT_AUTH__DEV_LOGIN", "false"),
        ("RUST_LOG", &log),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A seeded client with a token and the metadata of one of their events.
#[derive(Clone)]
pub struct Persona {
    pub token: String,
    pub metadata: Value,
    /// The event of `metadata` (empty for the reference).
    pub event_id: String,
}

pub struct Eventchat {
    pub proc: Proc,
    pub personas: Vec<Persona>,
    pub admin_token: String,
    pub venues: Vec<String>,
    /// The settings the server runs with (its database, its token secret).
    pub settings: Settings,
    /// The server's stdout and stderr.
    pub log: PathBuf,
}

pub async fn start_eventchat(setup: &Setup, db_url: &str, label: &str) -> Res<Eventchat> {
    start_eventchat_with(setup, db_url, label, &[]).await
}

/// [`start_eventchat`] with more environment on top of [`eventchat_env`] (later wins), e.g.
/// the local model provider of scenarios (m) and (q).
pub async fn start_eventchat_with(
    setup: &Setup,
    db_url: &str,
    label: &str,
    extra: &[(String, String)],
) -> Res<Eventchat> {
    start_eventchat_under(setup, db_url, label, extra, &[], 120).await
}

/// [`start_eventchat_with`] with the server run under `prefix` (a program and its arguments
/// before the server binary, e.g. valgrind's), waiting up to `ready_secs` for `/ready`.
pub async fn start_eventchat_under(
    setup: &Setup,
    db_url: &str,
    label: &str,
    extra: &[(String, String)],
    prefix: &[String],
    ready_secs: u64,
) -> Res<Eventchat> {
    let port = free_port()?;
    let mut env = eventchat_env(setup, port, db_url);
    env.extend(extra.iter().cloned());
    let log_path = setup.work.join(format!("{label}.log"));
    let log = std::fs::File::create(&log_path)?;
    let mut command = match prefix.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(&setup.args.server_bin);
            c
        }
        None => Command::new(&setup.args.server_bin),
    };
    let child = command
        .args(["serve", "--demo"])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("start {}: {e}", setup.args.server_bin.display()))?;
    let mut proc = Proc {
        name: format!("eventchat ({label})"),
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    };
    proc.wait_ready("/ready", ready_secs).await?;

    // Tokens and event ids straight from the seeded database.
    let vars: HashMap<String, String> = env.into_iter().collect();
    let settings = Settings::load_from(Path::new("config"), "local", &vars)?;
    let conn = db::connect(&settings.database).await?;
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT e.id AS event_id, e.venue_id AS venue_id, u.id AS user_id, u.email AS email \
             FROM events e JOIN users u ON u.id = e.client_id ORDER BY e.id",
        ))
        .await?;
    let admin = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, email FROM users WHERE user_type = 'admin' ORDER BY id",
        ))
        .await?;
    let verifier = JwtVerifier::new(&settings.auth)?;
    let mut personas = Vec::new();
    let mut venues = Vec::new();
    for row in rows {
        let event_id: String = row.try_get("", "event_id")?;
        let venue_id: String = row.try_get("", "venue_id")?;
        let user_id: String = row.try_get("", "user_id")?;
        let email: String = row.try_get("", "email")?;
        if !venues.contains(&venue_id) {
            venues.push(venue_id);
        }
        personas.push(Persona {
            token: verifier.issue(&user_id, Some(&email), 24 * 3600)?,
            metadata: json!({"agentType": "client", "eventId": event_id}),
            event_id,
        });
    }
    let admin_row = admin.first().ok_or("no admin user seeded")?;
    let admin_id: String = admin_row.try_get("", "id")?;
    let admin_email: String = admin_row.try_get("", "email")?;
    let admin_token = verifier.issue(&admin_id, Some(&admin_email), 24 * 3600)?;
    conn.close().await?;
    if personas.is_empty() {
        return Err("no client events seeded".into());
    }
    Ok(Eventchat {
        proc,
        personas,
        admin_token,
        venues,
        settings,
        log: log_path,
    })
}

/// A token for the seeded user with this email, minted as the server verifies them.
pub async fn token_for(settings: &Settings, email: &str) -> Res<String> {
    let conn = db::connect(&settings.database).await?;
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            // The bench's own constants (the seed's demo emails), not outside input.
            format!(
                "SELECT id FROM users WHERE email = '{}'",
                email.replace('\'', "''")
            ),
        ))
        .await?
        .ok_or_else(|| format!("no seeded user {email}"))?;
    let id: String = row.try_get("", "id")?;
    conn.close().await?;
    Ok(JwtVerifier::new(&settings.auth)?.issue(&id, Some(email), 24 * 3600)?)
}

pub async fn start_reference(setup: &Setup, python: &Path) -> Res<Proc> {
    let port = free_port()?;
    let log = std::fs::File::create(setup.work.join("reference.log"))?;
    let child = Command::new(python)
        .arg(&setup.args.reference_script)
        .args(["--port", &port.to_string()])
        .args([
            "--db",
            &setup.work.join("reference.sqlite3").to_string_lossy(),
        ])
        .args(["--llm-base-url", &setup.mock_base])
        .env("OPENAI_API_KEY", "sk-bench")
        .env("OPENAI_AGENTS_DISABLE_TRACING", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("start {}: {e}", python.display()))?;
    let mut proc = Proc {
        name: "reference (python)".into(),
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    };
    proc.wait_ready("/health", 120).await?;
    Ok(proc)
}

/// Live thread actors in an eventchat server (the `total` of `GET /admin/actors`).
pub async fn live_actors(ec: &Eventchat) -> Res<u64> {
    let r = http(
        ec.proc.addr,
        "GET",
        "/admin/actors?per_page=1",
        Some(&ec.admin_token),
        None,
        |_| {},
    )
    .await?;
    let v: Value = serde_json::from_slice(&r.body)?;
    v["total"]
        .as_u64()
        .ok_or_else(|| format!("admin/actors: {v}").into())
}
