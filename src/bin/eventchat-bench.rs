//! `eventchat-bench`: the side-by-side benchmark of issue #7 (see README, "Performance").
//!
//! Starts, on loopback, a mock OpenAI-compatible model (`tests/support/mock_llm.rs`, in this
//! process), the real `eventchat serve --demo` binary as a child process (a fresh SQLite file,
//! or a fresh PostgreSQL database), optionally the Python reference server
//! (`scripts/bench/reference_server.py`, `openai-chatkit` + `openai-agents`) pointed at the
//! same mock, and a load generator speaking the ChatKit protocol over plain HTTP/1.1. Every
//! run is bounded in turns and in time; every child is stopped at the end. Prints a Markdown
//! table and writes the results as JSON.
//!
//! `scripts/bench.sh` builds everything and calls this; run it directly for other sizes:
//! `eventchat-bench --help`.

#[path = "../../tests/support/mock_llm.rs"]
mod mock_llm;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventchat::auth::JwtVerifier;
use eventchat::config::Settings;
use eventchat::store::db;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use mock_llm::{MockLlm, Reply};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

const USAGE: &str = "eventchat-bench [options]
  --scenarios a,b,c,d,e   which scenarios to run (default a,b,c,d,e)
  --server-bin PATH       eventchat binary (default target/release/eventchat)
  --python PATH           python of a venv with openai-chatkit + openai-agents; enables the reference
  --reference-script PATH default scripts/bench/reference_server.py
  --reference-max-v N     skip reference runs above N users (default 1024)
  --va LIST               users for (a)/(e) (default 1,64,256)
  --vb LIST               users for (b) (default 64,256,1024)
  --messages M            turns per user, the first one creates the thread (default 5)
  --tokens N              tokens per reply (default 32)
  --token-delay-ms D      per-token delay in (b) (default 20)
  --first-token-delay-ms D delay before the first token in (b) (default 0)
  --idle LIST             idle live threads to hold in (c) (default 10000,100000)
  --rehydrate-threads K   threads of 200 stored items in (d) (default 20)
  --pg-url URL            PostgreSQL server for (e) (default postgres://postgres@127.0.0.1:5432/postgres)
  --max-run-secs S        wall-clock bound of one load run (default 300)
  --out PATH              JSON results (default target/bench/results.json)";

#[derive(Debug, Clone)]
struct Args {
    scenarios: Vec<String>,
    server_bin: PathBuf,
    python: Option<PathBuf>,
    reference_script: PathBuf,
    reference_max_v: usize,
    va: Vec<usize>,
    vb: Vec<usize>,
    messages: usize,
    tokens: usize,
    token_delay_ms: u64,
    first_token_delay_ms: u64,
    idle: Vec<usize>,
    rehydrate_threads: usize,
    pg_url: String,
    max_run_secs: u64,
    out: PathBuf,
}

fn list(s: &str) -> Res<Vec<usize>> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.trim()
                .parse::<usize>()
                .map_err(|e| format!("{p}: {e}").into())
        })
        .collect()
}

fn parse_args() -> Res<Option<Args>> {
    let mut a = Args {
        scenarios: ["a", "b", "c", "d", "e"].map(String::from).to_vec(),
        server_bin: PathBuf::from("target/release/eventchat"),
        python: None,
        reference_script: PathBuf::from("scripts/bench/reference_server.py"),
        reference_max_v: 1024,
        va: vec![1, 64, 256],
        vb: vec![64, 256, 1024],
        messages: 5,
        tokens: 32,
        token_delay_ms: 20,
        first_token_delay_ms: 0,
        idle: vec![10_000, 100_000],
        rehydrate_threads: 20,
        pg_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
        max_run_secs: 300,
        out: PathBuf::from("target/bench/results.json"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            writeln!(std::io::stdout().lock(), "{USAGE}")?;
            return Ok(None);
        }
        let val = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--scenarios" => a.scenarios = val.split(',').map(|s| s.trim().to_owned()).collect(),
            "--server-bin" => a.server_bin = val.into(),
            "--python" => a.python = Some(val.into()),
            "--reference-script" => a.reference_script = val.into(),
            "--reference-max-v" => a.reference_max_v = val.parse()?,
            "--va" => a.va = list(&val)?,
            "--vb" => a.vb = list(&val)?,
            "--messages" => a.messages = val.parse::<usize>()?.max(1),
            "--tokens" => a.tokens = val.parse::<usize>()?.max(1),
            "--token-delay-ms" => a.token_delay_ms = val.parse()?,
            "--first-token-delay-ms" => a.first_token_delay_ms = val.parse()?,
            "--idle" => a.idle = list(&val)?,
            "--rehydrate-threads" => a.rehydrate_threads = val.parse::<usize>()?.max(1),
            "--pg-url" => a.pg_url = val,
            "--max-run-secs" => a.max_run_secs = val.parse()?,
            "--out" => a.out = val.into(),
            other => return Err(format!("unknown option {other}\n{USAGE}").into()),
        }
    }
    Ok(Some(a))
}

fn say(line: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", line.as_ref());
    let _ = out.flush();
}

// ---------------------------------------------------------------------------------------
// Processes: start, wait until ready, CPU seconds and RSS from /proc, stop.

fn free_port() -> Res<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0)
}

struct Proc {
    name: String,
    child: Child,
    addr: SocketAddr,
    ticks: f64,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User + system CPU seconds of the process so far.
    fn cpu_secs(&self) -> f64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())) else {
            return f64::NAN;
        };
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            return f64::NAN;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let get = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        (get(11) + get(12)) / self.ticks
    }

    /// (VmRSS, VmHWM) in KiB.
    fn rss_kib(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Resets VmHWM to the current RSS, so the next reading is the peak of one run.
    fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }

    async fn wait_ready(&mut self, path: &str, secs: u64) -> Res<()> {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("{} exited while starting: {status}", self.name).into());
            }
            if let Ok(Ok(r)) = tokio::time::timeout(
                Duration::from_secs(2),
                http(self.addr, "GET", path, None, None, |_| {}),
            )
            .await
                && r.status == 200
            {
                return Ok(());
            }
            if Instant::now() > until {
                return Err(format!("{} not ready after {secs} s", self.name).into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // SIGTERM first (graceful), then SIGKILL after a short grace period.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone)]
struct Setup {
    args: Args,
    work: PathBuf,
    mock_base: String,
}

fn eventchat_env(setup: &Setup, port: u16, db_url: &str) -> Vec<(String, String)> {
    [
        ("EVENTCHAT_ENV", "local"),
        ("EVENTCHAT_SERVER__HOST", "127.0.0.1"),
        ("EVENTCHAT_SERVER__PORT", &port.to_string()),
        (
            "EVENTCHAT_SERVER__DATA_DIR",
            &setup.work.join("data").to_string_lossy(),
        ),
        ("EVENTCHAT_DATABASE__URL", db_url),
        ("EVENTCHAT_DATABASE__MAX_CONNECTIONS", "10"),
        ("EVENTCHAT_LLM__BASE_URL", &setup.mock_base),
        ("EVENTCHAT_LLM__API_KEY", "sk-bench"),
        ("EVENTCHAT_LLM__TITLE_ENABLED", "false"),
        ("EVENTCHAT_LIMITS__RATE_LIMIT_PER_MINUTE", "1000000"),
        ("EVENTCHAT_LIMITS__RATE_LIMIT_BURST", "1000000"),
        ("EVENTCHAT_LIMITS__MAX_CONCURRENT_STREAMS", "100000"),
        ("EVENTCHAT_AUTH__DEV_LOGIN", "false"),
        ("RUST_LOG", "warn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A seeded client with a token and the metadata of one of their events.
#[derive(Clone)]
struct Persona {
    token: String,
    metadata: Value,
}

struct Eventchat {
    proc: Proc,
    personas: Vec<Persona>,
    admin_token: String,
    venues: Vec<String>,
}

async fn start_eventchat(setup: &Setup, db_url: &str, label: &str) -> Res<Eventchat> {
    let port = free_port()?;
    let env = eventchat_env(setup, port, db_url);
    let log = std::fs::File::create(setup.work.join(format!("{label}.log")))?;
    let child = Command::new(&setup.args.server_bin)
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
        ticks: clock_ticks(),
    };
    proc.wait_ready("/ready", 120).await?;

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
    })
}

async fn start_reference(setup: &Setup, python: &Path) -> Res<Proc> {
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
        ticks: clock_ticks(),
    };
    proc.wait_ready("/health", 120).await?;
    Ok(proc)
}

// ---------------------------------------------------------------------------------------
// A small HTTP/1.1 client: one connection per request, chunked or length-delimited or
// read-to-close bodies, SSE frames handed to a callback as they arrive.

struct HttpResult {
    status: u16,
    body: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
    mut on_frame: impl FnMut(&[u8]),
) -> Res<HttpResult> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        let _ = write!(req, "Authorization: Bearer {t}\r\n");
    }
    if let Some(b) = body {
        let _ = write!(
            req,
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        );
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(b);
    }
    s.write_all(&bytes).await?;

    let mut raw: Vec<u8> = Vec::with_capacity(8192);
    let mut buf = vec![0u8; 16384];
    // Headers.
    let header_end = loop {
        if let Some(i) = find(&raw, b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Err("connection closed before the response headers".into());
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..header_end]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .ok_or("bad status line")?;
    let chunked = head.contains("transfer-encoding: chunked");
    let length: Option<usize> = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok());
    raw.drain(..header_end + 4);

    let mut body_out: Vec<u8> = Vec::new();
    let mut sse: Vec<u8> = Vec::new();
    let mut emit = |data: &[u8], sse: &mut Vec<u8>, body_out: &mut Vec<u8>| {
        body_out.extend_from_slice(data);
        sse.extend_from_slice(data);
        while let Some(i) = find(sse, b"\n\n") {
            on_frame(&sse[..i]);
            sse.drain(..i + 2);
        }
    };
    let mut eof = false;
    loop {
        if chunked {
            // Decode every complete chunk in `raw`.
            while let Some(line_end) = find(&raw, b"\r\n") {
                let size_txt = String::from_utf8_lossy(&raw[..line_end]);
                let size =
                    usize::from_str_radix(size_txt.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|e| format!("bad chunk size {size_txt:?}: {e}"))?;
                if size == 0 {
                    return Ok(HttpResult {
                        status,
                        body: body_out,
                    });
                }
                if raw.len() < line_end + 2 + size + 2 {
                    break;
                }
                let data = raw[line_end + 2..line_end + 2 + size].to_vec();
                raw.drain(..line_end + 2 + size + 2);
                emit(&data, &mut sse, &mut body_out);
            }
        } else if !raw.is_empty() {
            let data = std::mem::take(&mut raw);
            emit(&data, &mut sse, &mut body_out);
        }
        if let Some(len) = length
            && !chunked
            && body_out.len() >= len
        {
            break;
        }
        if eof {
            if chunked {
                return Err("connection closed inside a chunked body".into());
            }
            break;
        }
        let n = s.read(&mut buf).await?;
        if n == 0 {
            eof = true;
        } else {
            raw.extend_from_slice(&buf[..n]);
        }
    }
    if !sse.is_empty() {
        on_frame(&sse);
    }
    Ok(HttpResult {
        status,
        body: body_out,
    })
}

// ---------------------------------------------------------------------------------------
// The load generator.

#[derive(Clone, Copy)]
struct Target {
    addr: SocketAddr,
    /// The reference has no auth and no metadata rules; eventchat needs both.
    eventchat: bool,
}

#[derive(Default, Clone, Debug)]
struct Turn {
    ok: bool,
    error: Option<String>,
    ttfe_us: Option<u64>,
    ttft_us: Option<u64>,
    full_us: u64,
}

fn user_input(text: &str) -> Value {
    json!({"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}})
}

/// One streaming request; returns the turn and, for `threads.create`, the new thread id.
async fn turn(
    target: Target,
    persona: &Persona,
    thread: Option<&str>,
    text: &str,
    timeout: Duration,
) -> (Turn, Option<String>) {
    let body = match thread {
        None => {
            json!({"type": "threads.create", "params": {"input": user_input(text)}, "metadata": persona.metadata})
        }
        Some(id) => {
            json!({"type": "threads.add_user_message", "params": {"thread_id": id, "input": user_input(text)}})
        }
    };
    let body = body.to_string();
    let t0 = Instant::now();
    let mut t = Turn::default();
    let mut thread_id = None;
    let mut saw_delta = false;
    let mut saw_done = false;
    let mut error: Option<String> = None;
    let token = target.eventchat.then_some(persona.token.as_str());
    let fut = http(
        target.addr,
        "POST",
        "/api/chatkit",
        token,
        Some(body.as_bytes()),
        |frame| {
            let Some(data) = frame.split(|b| *b == b'\n').find_map(|l| {
                l.strip_prefix(b"data: ")
                    .or_else(|| l.strip_prefix(b"data:"))
            }) else {
                return;
            };
            let us = t0.elapsed().as_micros() as u64;
            if t.ttfe_us.is_none() {
                t.ttfe_us = Some(us);
            }
            if !saw_delta && find(data, b"content_part.text_delta").is_some() {
                saw_delta = true;
                t.ttft_us = Some(us);
            }
            if find(data, b"\"type\":\"thread.created\"").is_some()
                && let Ok(v) = serde_json::from_slice::<Value>(data)
            {
                thread_id = v["thread"]["id"].as_str().map(str::to_owned);
            }
            if data.starts_with(b"{\"type\":\"error\"") {
                error = Some(String::from_utf8_lossy(data).chars().take(200).collect());
            }
            if find(data, b"\"type\":\"assistant_message\"").is_some()
                && data.starts_with(b"{\"type\":\"thread.item.done\"")
            {
                saw_done = true;
            }
        },
    );
    let res = tokio::time::timeout(timeout, fut).await;
    t.full_us = t0.elapsed().as_micros() as u64;
    match res {
        Err(_) => t.error = Some("timeout".into()),
        Ok(Err(e)) => t.error = Some(format!("transport: {e}")),
        Ok(Ok(r)) if r.status != 200 => {
            t.error = Some(format!(
                "HTTP {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ))
        }
        Ok(Ok(_)) => {
            if let Some(e) = error {
                t.error = Some(e);
            } else if !saw_delta || !saw_done {
                t.error = Some("stream ended without an assistant message".into());
            } else {
                t.ok = true;
            }
        }
    }
    (t, thread_id)
}

struct LoadOut {
    turns: Vec<Turn>,
    wall: Duration,
    threads: Vec<(usize, String)>,
}

/// V users; each creates a thread (turn 1) and sends `m - 1` more messages, reading every
/// stream to the end. Stops at `deadline` whatever is left.
async fn load(target: Target, personas: &[Persona], v: usize, m: usize, max: Duration) -> LoadOut {
    let personas = Arc::new(personas.to_vec());
    let start = Instant::now();
    let deadline = start + max;
    let per_turn = max.min(Duration::from_secs(120));
    let mut tasks = Vec::with_capacity(v);
    for u in 0..v {
        let personas = personas.clone();
        tasks.push(tokio::spawn(async move {
            let persona = &personas[u % personas.len()];
            let mut out = Vec::with_capacity(m);
            let mut thread: Option<String> = None;
            for i in 0..m {
                if Instant::now() > deadline {
                    break;
                }
                let text = format!("bench user {u} message {i}: what is left to plan?");
                let (t, created) = turn(target, persona, thread.as_deref(), &text, per_turn).await;
                if thread.is_none() {
                    thread = created;
                }
                let failed_create = thread.is_none();
                out.push(t);
                if failed_create {
                    break;
                }
            }
            (out, thread.map(|t| (u, t)))
        }));
    }
    let mut turns = Vec::new();
    let mut threads = Vec::new();
    for t in tasks {
        if let Ok((ts, th)) = t.await {
            turns.extend(ts);
            threads.extend(th);
        }
    }
    LoadOut {
        turns,
        wall: start.elapsed(),
        threads,
    }
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

/// p50/p90/p99/max in milliseconds.
fn dist(values: impl Iterator<Item = u64>) -> Value {
    let mut v: Vec<u64> = values.collect();
    v.sort_unstable();
    json!({
        "n": v.len(),
        "p50": pct(&v, 50.0), "p90": pct(&v, 90.0), "p99": pct(&v, 99.0), "max": pct(&v, 100.0),
    })
}

#[derive(Default)]
struct Report {
    rows: Vec<Value>,
    notes: Vec<String>,
}

impl Report {
    fn note(&mut self, s: impl Into<String>) {
        let s = s.into();
        say(format!("  note: {s}"));
        self.notes.push(s);
    }
}

#[allow(clippy::too_many_arguments)]
async fn measured_load(
    report: &mut Report,
    scenario: &str,
    server: &str,
    db: &str,
    proc: &Proc,
    target: Target,
    personas: &[Persona],
    v: usize,
    m: usize,
    ideal_turn: Option<Duration>,
    max: Duration,
) -> LoadOut {
    proc.reset_peak();
    let cpu0 = proc.cpu_secs();
    let out = load(target, personas, v, m, max).await;
    let cpu = proc.cpu_secs() - cpu0;
    let (_, peak) = proc.rss_kib();
    let ok: Vec<&Turn> = out.turns.iter().filter(|t| t.ok).collect();
    let errors = out.turns.len() - ok.len() + (v * m).saturating_sub(out.turns.len());
    let wall = out.wall.as_secs_f64();
    let mut first_errors: Vec<String> = Vec::new();
    for e in out.turns.iter().filter_map(|t| t.error.clone()) {
        if first_errors.len() < 3 && !first_errors.contains(&e) {
            first_errors.push(e);
        }
    }
    let ideal = ideal_turn.map(|d| {
        let ideal_wall = d.as_secs_f64() * m as f64;
        json!({"ideal_turns_per_s": v as f64 / d.as_secs_f64(), "fraction_of_ideal": ideal_wall / wall})
    });
    let row = json!({
        "scenario": scenario, "server": server, "db": db, "users": v, "messages": m,
        "turns_planned": v * m, "turns_ok": ok.len(), "errors": errors,
        "first_errors": first_errors,
        "wall_s": wall, "turns_per_s": ok.len() as f64 / wall,
        "ttfe_ms": dist(ok.iter().filter_map(|t| t.ttfe_us)),
        "ttft_ms": dist(ok.iter().filter_map(|t| t.ttft_us)),
        "turn_ms": dist(ok.iter().map(|t| t.full_us)),
        "server_cpu_s": cpu, "server_peak_rss_mib": peak as f64 / 1024.0,
        "ideal": ideal,
    });
    say(format!(
        "  {scenario} {server:<10} {db:<8} V={v:<5} ok={}/{} err={errors} {:.1} turns/s ttfe p50 {:.2} ms turn p50 {:.1} ms cpu {:.1}s rss {:.0} MiB{}",
        ok.len(),
        v * m,
        ok.len() as f64 / wall,
        row["ttfe_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        row["turn_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        cpu,
        peak as f64 / 1024.0,
        row["ideal"]["fraction_of_ideal"]
            .as_f64()
            .map(|f| format!(" ({:.1}% of ideal)", f * 100.0))
            .unwrap_or_default()
    ));
    if !first_errors.is_empty() {
        say(format!("    errors: {first_errors:?}"));
    }
    report.rows.push(row);
    out
}

// ---------------------------------------------------------------------------------------
// Scenarios.

async fn scenario_load(
    report: &mut Report,
    setup: &Setup,
    mock: &MockLlm,
    scenario: &str,
    users: &[usize],
    delay: Option<(Duration, Duration)>,
    postgres: bool,
) -> Res<()> {
    let a = &setup.args;
    let mut reply = Reply::generated(a.tokens);
    let mut ideal = None;
    if let Some((first, per)) = delay {
        reply = reply.first_token_delay(first).token_delay(per);
        ideal = Some(first + per * a.tokens as u32);
    }
    mock.set_fallback(reply);
    let max = Duration::from_secs(a.max_run_secs);
    let (db_url, db_name, pg_db) = if postgres {
        let name = format!("eventchat_bench_{}", std::process::id());
        let admin = sea_orm::Database::connect(&a.pg_url).await?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        admin.close().await?;
        let base = a
            .pg_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&a.pg_url);
        (format!("{base}/{name}"), "postgres", Some(name))
    } else {
        let file = setup.work.join(format!("eventchat-{scenario}.sqlite3"));
        (
            format!("sqlite://{}?mode=rwc", file.display()),
            "sqlite",
            None,
        )
    };
    {
        let ec = start_eventchat(setup, &db_url, scenario).await?;
        let target = Target {
            addr: ec.proc.addr,
            eventchat: true,
        };
        // Warm-up (connections, caches), not measured.
        let _ = load(target, &ec.personas, 4, 2, max).await;
        for &v in users {
            measured_load(
                report,
                scenario,
                "eventchat",
                db_name,
                &ec.proc,
                target,
                &ec.personas,
                v,
                a.messages,
                ideal,
                max,
            )
            .await;
        }
    }
    if let Some(name) = pg_db {
        let admin = sea_orm::Database::connect(&a.pg_url).await?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await?;
        admin.close().await?;
    }
    if postgres {
        return Ok(());
    }
    let Some(python) = &a.python else {
        report.note(format!("{scenario}: reference not run (no --python)"));
        return Ok(());
    };
    let reference = match start_reference(setup, python).await {
        Ok(p) => p,
        Err(e) => {
            report.note(format!("{scenario}: reference did not start: {e}"));
            return Ok(());
        }
    };
    let target = Target {
        addr: reference.addr,
        eventchat: false,
    };
    let personas = vec![Persona {
        token: String::new(),
        metadata: json!({}),
    }];
    let _ = load(target, &personas, 2, 2, max).await;
    for &v in users {
        if v > a.reference_max_v {
            report.note(format!(
                "{scenario}: reference not run at V={v} (above --reference-max-v)"
            ));
            continue;
        }
        measured_load(
            report,
            scenario,
            "reference",
            "sqlite",
            &reference,
            target,
            &personas,
            v,
            a.messages,
            ideal,
            max,
        )
        .await;
    }
    Ok(())
}

async fn live_actors(ec: &Eventchat) -> Res<u64> {
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

async fn scenario_idle(report: &mut Report, setup: &Setup, mock: &MockLlm) -> Res<()> {
    mock.set_fallback(Reply::generated(1));
    let max = Duration::from_secs(setup.args.max_run_secs * 4);
    let file = setup.work.join("eventchat-c.sqlite3");
    let ec = start_eventchat(setup, &format!("sqlite://{}?mode=rwc", file.display()), "c").await?;
    let target = Target {
        addr: ec.proc.addr,
        eventchat: true,
    };
    // Warm-up: 256 threads, then the baseline.
    let _ = load(target, &ec.personas, 256, 1, max).await;
    let mut held = live_actors(&ec).await?;
    for &n in &setup.args.idle {
        let want = (n as u64).saturating_sub(held) as usize;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (rss0, _) = ec.proc.rss_kib();
        let cpu0 = ec.proc.cpu_secs();
        let t0 = Instant::now();
        // Create `want` threads, 256 at a time (one turn each, then idle).
        let mut created = 0usize;
        let mut errors = 0usize;
        let mut left = want;
        while left > 0 && t0.elapsed() < max {
            let batch = left.min(256 * 20);
            let per_user = 20usize;
            let users = batch.div_ceil(per_user);
            let personas = ec.personas.clone();
            let mut tasks = Vec::new();
            for u in 0..users {
                let personas = personas.clone();
                let count = per_user.min(batch - u * per_user);
                tasks.push(tokio::spawn(async move {
                    let p = &personas[u % personas.len()];
                    let mut ok = 0usize;
                    for i in 0..count {
                        let (t, _) = turn(
                            target,
                            p,
                            None,
                            &format!("idle {u}/{i}"),
                            Duration::from_secs(60),
                        )
                        .await;
                        if t.ok {
                            ok += 1;
                        }
                    }
                    (ok, count)
                }));
            }
            for t in tasks {
                if let Ok((ok, count)) = t.await {
                    created += ok;
                    errors += count - ok;
                }
            }
            left -= batch;
        }
        let create_s = t0.elapsed().as_secs_f64();
        let create_cpu = ec.proc.cpu_secs() - cpu0;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let live = live_actors(&ec).await?;
        let (rss1, hwm) = ec.proc.rss_kib();
        let added = live.saturating_sub(held);
        let per = if added > 0 {
            (rss1.saturating_sub(rss0)) as f64 * 1024.0 / added as f64
        } else {
            f64::NAN
        };
        say(format!(
            "  c eventchat N={n}: live actors {live} (+{added}, {errors} create errors, {create_s:.1} s, {create_cpu:.1} cpu s), RSS {:.1} -> {:.1} MiB, {:.0} B ({:.2} KiB) per idle live thread",
            rss0 as f64 / 1024.0,
            rss1 as f64 / 1024.0,
            per,
            per / 1024.0
        ));
        report.rows.push(json!({
            "scenario": "c", "server": "eventchat", "db": "sqlite", "target_live_threads": n,
            "live_threads": live, "added_threads": added, "create_errors": errors,
            "create_s": create_s, "create_turns_per_s": created as f64 / create_s,
            "create_cpu_s": create_cpu,
            "rss_before_mib": rss0 as f64 / 1024.0, "rss_after_mib": rss1 as f64 / 1024.0,
            "peak_rss_mib": hwm as f64 / 1024.0,
            "bytes_per_live_thread": per, "kib_per_live_thread": per / 1024.0,
        }));
        held = live;
        if (live as usize) < n {
            report.note(format!(
                "c: only {live} of {n} threads live (time bound or errors); stopped scaling"
            ));
            break;
        }
    }
    Ok(())
}

async fn scenario_rehydrate(report: &mut Report, setup: &Setup, mock: &MockLlm) -> Res<()> {
    mock.set_fallback(Reply::generated(1));
    let k = setup.args.rehydrate_threads;
    let max = Duration::from_secs(setup.args.max_run_secs * 2);
    let file = setup.work.join("eventchat-d.sqlite3");
    let ec = start_eventchat(setup, &format!("sqlite://{}?mode=rwc", file.display()), "d").await?;
    let target = Target {
        addr: ec.proc.addr,
        eventchat: true,
    };
    // K threads of 200 items: 100 turns each (a user message and an answer per turn).
    let t0 = Instant::now();
    let filled = load(target, &ec.personas, k, 100, max).await;
    let fill_err = filled.turns.iter().filter(|t| !t.ok).count();
    say(format!(
        "  d: {} threads filled with {} turns in {:.1} s ({fill_err} errors)",
        filled.threads.len(),
        filled.turns.len(),
        t0.elapsed().as_secs_f64()
    ));
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut cold_full = Vec::new();
    let mut warm_full = Vec::new();
    let mut evicted_all = true;
    for (u, thread) in &filled.threads {
        let persona = &ec.personas[u % ec.personas.len()];
        for venue in &ec.venues {
            let _ = http(
                target.addr,
                "POST",
                &format!("/admin/venues/{venue}/evict"),
                Some(&ec.admin_token),
                Some(b"{}"),
                |_| {},
            )
            .await?;
        }
        if live_actors(&ec).await? != 0 {
            evicted_all = false;
        }
        let (c, _) = turn(
            target,
            persona,
            Some(thread),
            "cold",
            Duration::from_secs(60),
        )
        .await;
        let (w, _) = turn(
            target,
            persona,
            Some(thread),
            "warm",
            Duration::from_secs(60),
        )
        .await;
        if c.ok && w.ok {
            cold.extend(c.ttfe_us);
            warm.extend(w.ttfe_us);
            cold_full.push(c.full_us);
            warm_full.push(w.full_us);
        }
    }
    if !evicted_all {
        report.note(
            "d: some actors were still live after evict; cold numbers may include warm threads",
        );
    }
    let row = json!({
        "scenario": "d", "server": "eventchat", "db": "sqlite", "threads": cold.len(),
        "stored_items_per_thread": 200, "fill_errors": fill_err,
        "cold_ttfe_ms": dist(cold.iter().copied()),
        "warm_ttfe_ms": dist(warm.iter().copied()),
        "cold_turn_ms": dist(cold_full.iter().copied()),
        "warm_turn_ms": dist(warm_full.iter().copied()),
    });
    say(format!(
        "  d eventchat: cold first event p50 {:.2} ms p99 {:.2} ms; warm p50 {:.2} ms p99 {:.2} ms (n={})",
        row["cold_ttfe_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        row["cold_ttfe_ms"]["p99"].as_f64().unwrap_or(f64::NAN),
        row["warm_ttfe_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        row["warm_ttfe_ms"]["p99"].as_f64().unwrap_or(f64::NAN),
        cold.len()
    ));
    report.rows.push(row);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Output.

fn f(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.is_finite() => {
            if x >= 100.0 {
                format!("{x:.0}")
            } else if x >= 10.0 {
                format!("{x:.1}")
            } else {
                format!("{x:.2}")
            }
        }
        _ => "-".into(),
    }
}

fn d4(v: &Value) -> String {
    format!(
        "{} / {} / {} / {}",
        f(&v["p50"]),
        f(&v["p90"]),
        f(&v["p99"]),
        f(&v["max"])
    )
}

fn table(report: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| scen. | server | db | V | turns ok/planned | errors | turns/s | % of ideal | first event ms p50/p90/p99/max | first text delta ms p50/p90/p99/max | full turn ms p50/p90/p99/max | server CPU s | peak RSS MiB |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in report.rows.iter().filter(|r| r.get("users").is_some()) {
        let ideal = r["ideal"]["fraction_of_ideal"]
            .as_f64()
            .map(|x| format!("{:.1}%", x * 100.0))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {}/{} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r["scenario"].as_str().unwrap_or(""),
            r["server"].as_str().unwrap_or(""),
            r["db"].as_str().unwrap_or(""),
            r["users"],
            r["turns_ok"],
            r["turns_planned"],
            r["errors"],
            f(&r["turns_per_s"]),
            ideal,
            d4(&r["ttfe_ms"]),
            d4(&r["ttft_ms"]),
            d4(&r["turn_ms"]),
            f(&r["server_cpu_s"]),
            f(&r["server_peak_rss_mib"]),
        );
    }
    // Ratios eventchat / reference for the same scenario and V.
    for r in report.rows.iter().filter(|r| r["server"] == "reference") {
        if let Some(e) = report.rows.iter().find(|e| {
            e["server"] == "eventchat"
                && e["db"] == "sqlite"
                && e["scenario"] == r["scenario"]
                && e["users"] == r["users"]
        }) {
            let ratio = e["turns_per_s"].as_f64().unwrap_or(f64::NAN)
                / r["turns_per_s"].as_f64().unwrap_or(f64::NAN);
            let _ = writeln!(
                s,
                "\n({}) V={}: eventchat / reference turns/s = {ratio:.1}x",
                r["scenario"].as_str().unwrap_or(""),
                r["users"]
            );
        }
    }
    for r in report.rows.iter().filter(|r| r["scenario"] == "c") {
        let _ = writeln!(
            s,
            "\n(c) {} idle live threads held (target {}): {} KiB per thread (RSS {} -> {} MiB; created at {} turns/s, {} errors)",
            r["live_threads"],
            r["target_live_threads"],
            f(&r["kib_per_live_thread"]),
            f(&r["rss_before_mib"]),
            f(&r["rss_after_mib"]),
            f(&r["create_turns_per_s"]),
            r["create_errors"],
        );
    }
    for r in report.rows.iter().filter(|r| r["scenario"] == "d") {
        let _ = writeln!(
            s,
            "\n(d) cold start, {} threads of 200 stored items: first event ms p50/p90/p99/max {} (warm {}); full turn {} (warm {})",
            r["threads"],
            d4(&r["cold_ttfe_ms"]),
            d4(&r["warm_ttfe_ms"]),
            d4(&r["cold_turn_ms"]),
            d4(&r["warm_turn_ms"]),
        );
    }
    for n in &report.notes {
        let _ = writeln!(s, "\nnote: {n}");
    }
    s
}

fn machine() -> Value {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default();
    json!({"cores": cores, "ram_gib": mem_kib as f64 / 1024.0 / 1024.0, "cpu": cpu})
}

async fn run(args: Args) -> Res<()> {
    let work = std::env::temp_dir().join(format!("eventchat-bench-{}", std::process::id()));
    std::fs::create_dir_all(work.join("data"))?;
    let mock = MockLlm::start();
    let setup = Setup {
        args: args.clone(),
        work: work.clone(),
        mock_base: mock.base_url(),
    };
    let mut report = Report::default();
    let started = chrono::Utc::now();
    say(format!(
        "eventchat-bench: mock LLM at {}, work dir {}",
        setup.mock_base,
        work.display()
    ));
    let ms = Duration::from_millis;
    for s in &args.scenarios {
        say(format!("scenario {s}"));
        let result = match s.as_str() {
            "a" => scenario_load(&mut report, &setup, &mock, "a", &args.va, None, false).await,
            "b" => {
                let delay = Some((ms(args.first_token_delay_ms), ms(args.token_delay_ms)));
                scenario_load(&mut report, &setup, &mock, "b", &args.vb, delay, false).await
            }
            "c" => scenario_idle(&mut report, &setup, &mock).await,
            "d" => scenario_rehydrate(&mut report, &setup, &mock).await,
            "e" => scenario_load(&mut report, &setup, &mock, "e", &args.va, None, true).await,
            other => Err(format!("unknown scenario {other}").into()),
        };
        if let Err(e) = result {
            report.note(format!("scenario {s} failed: {e}"));
        }
    }
    let m = machine();
    let header = format!(
        "{} UTC, {} cores, {:.1} GiB RAM ({}), tokens/reply {}, messages/user {}, (b) {} ms/token + {} ms first",
        started.format("%Y-%m-%d %H:%M"),
        m["cores"],
        m["ram_gib"].as_f64().unwrap_or(0.0),
        m["cpu"].as_str().unwrap_or(""),
        args.tokens,
        args.messages,
        args.token_delay_ms,
        args.first_token_delay_ms
    );
    let t = table(&report);
    say(format!("\n{header}\n\n{t}"));
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let out = json!({
        "started": started.to_rfc3339(), "machine": m,
        "config": {
            "tokens": args.tokens, "messages": args.messages, "token_delay_ms": args.token_delay_ms,
            "first_token_delay_ms": args.first_token_delay_ms, "va": args.va, "vb": args.vb,
            "idle": args.idle, "rehydrate_threads": args.rehydrate_threads,
            "scenarios": args.scenarios,
        },
        "results": report.rows, "notes": report.notes, "table_markdown": t,
    });
    std::fs::write(&args.out, serde_json::to_vec_pretty(&out)?)?;
    say(format!("results written to {}", args.out.display()));
    drop(mock);
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => return std::process::ExitCode::SUCCESS,
        Err(e) => {
            say(format!("eventchat-bench: {e}"));
            return std::process::ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say(format!("eventchat-bench: runtime: {e}"));
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            say(format!("eventchat-bench: {e}"));
            std::process::ExitCode::FAILURE
        }
    }
}
