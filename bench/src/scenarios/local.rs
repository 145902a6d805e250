//! What scenarios (m) and (q) share: an `eventchat serve --demo` child on the in-process
//! local model (llama.cpp, `EVENTCHAT_LLM__PROVIDER=local`), its load time read from the
//! engine's `local model ready` log line, the `eventchat_local_*` counters of `/metrics`,
//! and one ChatKit turn read in full (timings, the answer, whether a tool ran).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Res;
use crate::http::{Conn, find, http};
use crate::servers::{Eventchat, Setup, start_eventchat_with};

/// The server on a local model, and how long the model took to load.
pub struct LocalServer {
    pub ec: Eventchat,
    /// The engine's own figure (`load_ms` of its log line): file read, weights, KV cache.
    pub load_ms: Option<u64>,
    /// From spawning the process to that log line (process start, migrations, seed, load).
    pub ready_s: f64,
}

/// Starts the server on `model` and waits (bounded) until the model is loaded. A turn sent
/// before that is answered with "still starting", which would spoil every timing.
pub async fn start_local(setup: &Setup, model: &str, label: &str) -> Res<LocalServer> {
    let args = &setup.args;
    let file = args.model_dir.join(format!("{model}.gguf"));
    if !file.is_file() {
        return Err(format!(
            "{} is missing (scripts/fetch-model {model} {})",
            file.display(),
            args.model_dir.display()
        )
        .into());
    }
    // The engine's info lines (load time) in the log; everything else as quiet as usual.
    let log = std::env::var("BENCH_SERVER_LOG")
        .unwrap_or_else(|_| "warn,eventchat::llm::local=info".to_owned());
    let extra: Vec<(String, String)> = [
        ("EVENTCHAT_LLM__PROVIDER", "local"),
        ("EVENTCHAT_LLM__LOCAL__MODEL", model),
        (
            "EVENTCHAT_LLM__LOCAL__MODEL_DIR",
            &args.model_dir.to_string_lossy(),
        ),
        (
            "EVENTCHAT_LLM__LOCAL__THREADS",
            &args.model_threads.to_string(),
        ),
        ("EVENTCHAT_LLM__LOCAL__GREEDY", "true"),
        // 16 threads on 4 sequences and 2 cores wait minutes for a turn: the defaults
        // (60 s to the first token, 300 s a turn) would turn queueing into errors.
        ("EVENTCHAT_LLM__FIRST_TOKEN_TIMEOUT_SECS", "1200"),
        ("EVENTCHAT_LLM__TURN_TIMEOUT_SECS", "1200"),
        ("RUST_LOG", &log),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let t0 = Instant::now();
    // A file (not `:memory:`): scenario (q) reads the audit rows from it.
    let db = setup.work.join(format!("{label}.sqlite3"));
    let db_url = format!("sqlite://{}?mode=rwc", db.display());
    let ec = start_eventchat_with(setup, &db_url, label, &extra).await?;
    let until = Instant::now() + Duration::from_secs(300);
    loop {
        let text = std::fs::read_to_string(&ec.log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("local model ready")) {
            return Ok(LocalServer {
                load_ms: number_after(line, "load_ms"),
                ready_s: t0.elapsed().as_secs_f64(),
                ec,
            });
        }
        if let Some(line) = text
            .lines()
            .find(|l| l.contains("ERROR") || l.contains("\"level\":\"ERROR\""))
        {
            return Err(format!("the model did not load: {line}").into());
        }
        if Instant::now() > until {
            return Err(format!("{model} not loaded after 300 s").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// ANSI colour sequences (`ESC [ ... m`) removed: the pretty log colours its fields.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The first number after `key` in a log line (`load_ms=123` or `"load_ms":123`).
fn number_after(line: &str, key: &str) -> Option<u64> {
    let line = plain(line);
    let rest = &line[line.find(key)? + key.len()..];
    let digits: String = rest
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// One reading of `/metrics`: every unlabelled sample by name.
#[derive(Clone, Default)]
pub struct Metrics(HashMap<String, f64>);

impl Metrics {
    pub async fn scrape(addr: SocketAddr) -> Res<Self> {
        let r = http(addr, "GET", "/metrics", None, None, |_| {}).await?;
        let text = String::from_utf8_lossy(&r.body);
        let mut out = HashMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            if let Some((name, v)) = line.rsplit_once(' ')
                && !name.contains('{')
                && let Ok(v) = v.trim().parse::<f64>()
            {
                out.insert(name.to_owned(), v);
            }
        }
        Ok(Self(out))
    }

    pub fn get(&self, name: &str) -> f64 {
        self.0.get(name).copied().unwrap_or(0.0)
    }

    /// `name` now minus `name` in `before`.
    pub fn since(&self, before: &Self, name: &str) -> f64 {
        self.get(name) - before.get(name)
    }
}

pub const EVALUATED: &str = "eventchat_local_prompt_tokens_evaluated_total";
pub const REUSED: &str = "eventchat_local_prompt_tokens_reused_total";
pub const GENERATED: &str = "eventchat_local_generated_tokens_total";
pub const GEN_US: &str = "eventchat_local_generation_microseconds_total";
pub const PROMPT_US: &str = "eventchat_local_prompt_microseconds_total";
pub const QUEUE_SUM: &str = "eventchat_local_queue_wait_seconds_sum";
pub const QUEUE_COUNT: &str = "eventchat_local_queue_wait_seconds_count";

/// One turn, read to the end.
#[derive(Debug, Default)]
pub struct Exchange {
    pub status: u16,
    pub thread_id: Option<String>,
    /// To the first SSE event and to the first assistant text delta.
    pub ttfe: Option<Duration>,
    pub ttft: Option<Duration>,
    pub total: Duration,
    /// The last assistant message's text.
    pub answer: String,
    /// Workflow items done (one per tool round).
    pub tool_rounds: usize,
    /// An `error` event's message, or the HTTP error body.
    pub error: Option<String>,
}

/// Sends `body` (a `threads.create` or `threads.add_user_message`) and reads the stream.
pub async fn exchange(
    addr: SocketAddr,
    token: &str,
    body: &Value,
    timeout: Duration,
) -> Res<Exchange> {
    let bytes = body.to_string();
    let t0 = Instant::now();
    let mut out = Exchange::default();
    let mut conn = Conn::new(addr, false);
    let fut = conn.request(
        "POST",
        "/api/chatkit",
        Some(token),
        Some(bytes.as_bytes()),
        |frame| {
            let Some(data) = frame.split(|b| *b == b'\n').find_map(|l| {
                l.strip_prefix(b"data: ")
                    .or_else(|| l.strip_prefix(b"data:"))
            }) else {
                return;
            };
            if out.ttfe.is_none() {
                out.ttfe = Some(t0.elapsed());
            }
            if out.ttft.is_none() && find(data, b"content_part.text_delta").is_some() {
                out.ttft = Some(t0.elapsed());
            }
            // Deltas are most of the frames and need no parsing.
            if find(data, b"content_part.text_delta").is_some() {
                return;
            }
            let Ok(v) = serde_json::from_slice::<Value>(data) else {
                return;
            };
            match v["type"].as_str().unwrap_or_default() {
                "thread.created" => out.thread_id = v["thread"]["id"].as_str().map(str::to_owned),
                "error" => out.error = Some(v["message"].as_str().unwrap_or("error").to_owned()),
                "thread.item.done" => match v["item"]["type"].as_str().unwrap_or_default() {
                    "workflow" => out.tool_rounds += 1,
                    "assistant_message" => {
                        out.answer = v["item"]["content"]
                            .as_array()
                            .map(|parts| {
                                parts
                                    .iter()
                                    .filter_map(|p| p["text"].as_str())
                                    .collect::<Vec<_>>()
                                    .join("")
                            })
                            .unwrap_or_default();
                    }
                    _ => {}
                },
                _ => {}
            }
        },
    );
    let r = tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| format!("turn timed out after {} s", timeout.as_secs()))??;
    out.total = t0.elapsed();
    out.status = r.status;
    if r.status != 200 {
        let body: String = String::from_utf8_lossy(&r.body).chars().take(300).collect();
        out.error = Some(format!("HTTP {}: {body}", r.status));
    }
    Ok(out)
}

/// Median of some durations in seconds (NaN when empty).
pub fn median_s(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The llama-bench figures `scripts/bench/llama-bench.sh` left for `model`, if any:
/// `(test, tokens/s)` pairs such as `("pp512", 180.0)`, `("tg128", 25.0)`.
pub fn llama_bench(dir: &Path, model: &str) -> Option<Vec<(String, f64)>> {
    let text = std::fs::read_to_string(dir.join(format!("{model}.jsonl"))).ok()?;
    let rows: Vec<(String, f64)> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| {
            let (p, n) = (v["n_prompt"].as_u64()?, v["n_gen"].as_u64()?);
            let mut test = if n == 0 {
                format!("pp{p}")
            } else {
                format!("tg{n}")
            };
            // A test run after `depth` tokens already in the context (`-d`).
            if let Some(d) = v["n_depth"].as_u64().filter(|d| *d > 0) {
                test.push_str(&format!("@d{d}"));
            }
            Some((test, v["avg_ts"].as_f64()?))
        })
        .collect();
    (!rows.is_empty()).then_some(rows)
}

/// The depth of a test name of [`llama_bench`] (`tg64@d3072` -> 3072, `tg128` -> 0).
pub fn bench_depth(test: &str) -> u64 {
    test.split_once("@d")
        .and_then(|(_, d)| d.parse().ok())
        .unwrap_or(0)
}
