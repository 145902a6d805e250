//! Command-line options of `eventchat-bench`: a small hand-written parser (no clap, so the
//! benchmark's flags stay in one readable `USAGE` text) and the `Args` every scenario reads.

use std::io::Write as _;
use std::path::PathBuf;

use crate::Res;

pub const USAGE: &str = "eventchat-bench [options]
  --scenarios a,b,c,d,e,f which scenarios to run (default a,b,c,d,e,f; s (search), m (local model
                          performance), q (local model quality), k (cluster) and i (callgrind
                          instructions per turn) only when named)
  --server-bin PATH       eventchat binary (default target/release/eventchat)
  --python PATH           python of a venv with openai-chatkit + openai-agents; enables the reference
  --reference-script PATH default scripts/bench/reference_server.py
  --reference-max-v N     skip reference runs above N users (default 1024)
  --va LIST               users for (a)/(e) (default 1,64,256)
  --vb LIST               users for (b) (default 64,256,1024)
  --messages M            turns per user, the first one creates the thread (default 5)
  --v1-rounds R           at V=1, R users one after another, for stable percentiles (default 20)
  --tokens N              tokens per reply (default 32)
  --token-delay-ms D      per-token delay in (b) (default 20)
  --first-token-delay-ms D delay before the first token in (b) (default 0)
  --no-keep-alive         a new connection per turn (default: each user keeps one)
  --tool-call-first       each reply is first a getEventDetails tool call, then the text (a, b, e)
  --mock-workers N        worker threads of the mock LLM (default 2)
  --idle LIST             idle live threads to hold in (c) (default 10000,100000)
  --rehydrate-threads K   threads of 200 stored items in (d) (default 20)
  --vk N                  users of the cluster scenario (k) (default 256)
  --instr-turns N         first turns (and as many later turns) counted under callgrind in (i) (default 30)
  --cluster-timeout-ms T  heartbeat timeout of the (k) nodes; the interval is a fifth (default 2000)
  --takeover-rounds R     kill -9 takeovers timed in (k) (default 20)
  --lifecycle-turns N     turns cancelled by a dropped connection in (f) (default 50)
  --lifecycle-deltas N    text deltas of the turn replayed in (f) (default 1500; within turns.buffer_events)
  --search-docs N         documents written for (s) (default 1000000)
  --search-queries Q      timed queries per class in (s) (default 100)
  --search-db LIST        backends of (s) (default sqlite,postgres)
  --pg-url URL            PostgreSQL server for (e) and (s) (default postgres://postgres@127.0.0.1:5432/postgres)
  --models LIST           local models of (m) and (q) (default qwen2.5-0.5b,qwen2.5-1.5b)
  --model-dir DIR         where MODEL.gguf lives (default $HOME/.cache/eventchat/models)
  --model-threads N       llama.cpp threads of the server (default 0 = every core)
  --model-concurrency LIST concurrent threads of the (m) throughput runs (default 1,4,16)
  --model-turns N         turns per thread in those runs, the first creates it (default 2)
  --ttft-rounds R         (m) first/second-turn latency pairs per model (default 3)
  --context-tokens T      (m) prompt size of the second turn (default 2000)
  --llama-bench-dir DIR   where scripts/bench/llama-bench.sh wrote MODEL.jsonl (default target/llama-bench)
  --eval PATH             (q) evaluation set (default: bench/eval/local_model.json, built in)
  --eval-cases N          (q) run N of the cases: every refusal case and the others evenly spread (default all)
  --max-run-secs S        wall-clock bound of one load run, and of one (m) throughput run (default 300)
  --out PATH              JSON results (default target/bench/results.json)
environment:
  EVENTCHAT_*             passed on to the eventchat server (it otherwise runs on its defaults)
  BENCH_SERVER_LOG        the server's log filter (default warn)
  BENCH_KEEP_WORK=1       keep the work dir (server log, databases) after the run";

#[derive(Debug, Clone)]
pub struct Args {
    pub scenarios: Vec<String>,
    pub server_bin: PathBuf,
    pub python: Option<PathBuf>,
    pub reference_script: PathBuf,
    pub reference_max_v: usize,
    pub va: Vec<usize>,
    pub vb: Vec<usize>,
    pub messages: usize,
    /// At V=1, how many users run one after another (each: a new thread, M turns).
    pub v1_rounds: usize,
    pub tokens: usize,
    pub token_delay_ms: u64,
    pub first_token_delay_ms: u64,
    pub tool_call_first: bool,
    /// Each virtual user keeps its connection between turns (a browser's `fetch` does).
    pub keep_alive: bool,
    pub mock_workers: usize,
    pub idle: Vec<usize>,
    pub rehydrate_threads: usize,
    pub lifecycle_turns: usize,
    /// Scenario (k): users, the nodes' heartbeat timeout, kill -9 rounds.
    pub vk: usize,
    /// Scenario (i): first turns (and as many later turns) counted under callgrind.
    pub instr_turns: usize,
    pub cluster_timeout_ms: u64,
    pub takeover_rounds: usize,
    pub lifecycle_deltas: usize,
    /// Scenario (s): documents to write, timed queries per class, backends.
    pub search_docs: usize,
    pub search_queries: usize,
    pub search_backends: Vec<String>,
    pub pg_url: String,
    /// Scenarios (m) and (q): the local models and their files, llama.cpp threads.
    pub models: Vec<String>,
    pub model_dir: PathBuf,
    pub model_threads: u32,
    pub model_concurrency: Vec<usize>,
    pub model_turns: usize,
    pub ttft_rounds: usize,
    pub context_tokens: usize,
    pub llama_bench_dir: PathBuf,
    pub eval: Option<PathBuf>,
    pub eval_cases: Option<usize>,
    pub max_run_secs: u64,
    pub out: PathBuf,
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

pub fn parse_args() -> Res<Option<Args>> {
    let mut a = Args {
        scenarios: ["a", "b", "c", "d", "e", "f"].map(String::from).to_vec(),
        server_bin: PathBuf::from("target/release/eventchat"),
        python: None,
        reference_script: PathBuf::from("scripts/bench/reference_server.py"),
        reference_max_v: 1024,
        va: vec![1, 64, 256],
        vb: vec![64, 256, 1024],
        messages: 5,
        v1_rounds: 20,
        tokens: 32,
        token_delay_ms: 20,
        first_token_delay_ms: 0,
        tool_call_first: false,
        keep_alive: true,
        mock_workers: 2,
        idle: vec![10_000, 100_000],
        rehydrate_threads: 20,
        lifecycle_turns: 50,
        vk: 256,
        instr_turns: 30,
        cluster_timeout_ms: 2000,
        takeover_rounds: 20,
        lifecycle_deltas: 1500,
        search_docs: 1_000_000,
        search_queries: 100,
        search_backends: vec!["sqlite".into(), "postgres".into()],
        pg_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
        models: vec!["qwen2.5-0.5b".into(), "qwen2.5-1.5b".into()],
        model_dir: PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/eventchat/models"),
        model_threads: 0,
        model_concurrency: vec![1, 4, 16],
        model_turns: 2,
        ttft_rounds: 3,
        context_tokens: 2000,
        llama_bench_dir: PathBuf::from("target/llama-bench"),
        eval: None,
        eval_cases: None,
        max_run_secs: 300,
        out: PathBuf::from("target/bench/results.json"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            writeln!(std::io::stdout().lock(), "{USAGE}")?;
            return Ok(None);
        }
        if flag == "--tool-call-first" {
            a.tool_call_first = true;
            continue;
        }
        if flag == "--no-keep-alive" {
            a.keep_alive = false;
            continue;
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
            "--v1-rounds" => a.v1_rounds = val.parse::<usize>()?.max(1),
            "--tokens" => a.tokens = val.parse::<usize>()?.max(1),
            "--token-delay-ms" => a.token_delay_ms = val.parse()?,
            "--first-token-delay-ms" => a.first_token_delay_ms = val.parse()?,
            "--mock-workers" => a.mock_workers = val.parse::<usize>()?.max(1),
            "--idle" => a.idle = list(&val)?,
            "--rehydrate-threads" => a.rehydrate_threads = val.parse::<usize>()?.max(1),
            "--vk" => a.vk = val.parse::<usize>()?.max(1),
            "--instr-turns" => a.instr_turns = val.parse::<usize>()?.max(1),
            "--cluster-timeout-ms" => a.cluster_timeout_ms = val.parse::<u64>()?.max(100),
            "--takeover-rounds" => a.takeover_rounds = val.parse()?,
            "--lifecycle-turns" => a.lifecycle_turns = val.parse::<usize>()?.max(1),
            "--lifecycle-deltas" => a.lifecycle_deltas = val.parse::<usize>()?.max(1),
            "--search-docs" => a.search_docs = val.parse::<usize>()?.max(10),
            "--search-queries" => a.search_queries = val.parse::<usize>()?.max(1),
            "--search-db" => {
                a.search_backends = val.split(',').map(|s| s.trim().to_owned()).collect();
                if let Some(bad) = a
                    .search_backends
                    .iter()
                    .find(|b| *b != "sqlite" && *b != "postgres")
                {
                    return Err(format!("--search-db: unknown backend {bad}").into());
                }
            }
            "--pg-url" => a.pg_url = val,
            "--models" => a.models = val.split(',').map(|s| s.trim().to_owned()).collect(),
            "--model-dir" => a.model_dir = val.into(),
            "--model-threads" => a.model_threads = val.parse()?,
            "--model-concurrency" => a.model_concurrency = list(&val)?,
            "--model-turns" => a.model_turns = val.parse::<usize>()?.max(1),
            "--ttft-rounds" => a.ttft_rounds = val.parse::<usize>()?.max(1),
            "--context-tokens" => a.context_tokens = val.parse()?,
            "--llama-bench-dir" => a.llama_bench_dir = val.into(),
            "--eval" => a.eval = Some(val.into()),
            "--eval-cases" => a.eval_cases = Some(val.parse::<usize>()?.max(1)),
            "--max-run-secs" => a.max_run_secs = val.parse()?,
            "--out" => a.out = val.into(),
            other => return Err(format!("unknown option {other}\n{USAGE}").into()),
        }
    }
    Ok(Some(a))
}
