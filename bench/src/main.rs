//! `eventchat-bench`: the side-by-side benchmark of issue #7 (see README, "Performance").
//!
//! Starts, on loopback, a mock OpenAI-compatible model (the `mock-llm` crate, in this
//! process), the real `eventchat serve --demo` binary as a child process (a fresh SQLite file,
//! or a fresh PostgreSQL database), optionally the Python reference server
//! (`scripts/bench/reference_server.py`, `openai-chatkit` + `openai-agents`) pointed at the
//! same mock, and a load generator speaking the ChatKit protocol over plain HTTP/1.1. Every
//! run is bounded in turns and in time; every child is stopped at the end. Prints a Markdown
//! table and writes the results as JSON.
//!
//! `scripts/bench.sh` builds everything and calls this; run it directly for other sizes:
//! `eventchat-bench --help`.
//!
//! Modules: `args` (options), `servers` + `procs` (the servers under test as child processes,
//! `/proc` figures), `http` (the raw HTTP/SSE client), `load` (the load generator), `replies`
//! (what the mock answers), `stats` (percentiles, server time), `report` (table and JSON),
//! `scenarios` (one module per scenario).

mod args;
mod http;
mod load;
mod pg;
mod procs;
mod replies;
mod report;
mod scenarios;
mod servers;
mod stats;

use std::io::Write as _;
use std::time::Duration;

use mock_llm::MockLlm;
use serde_json::json;

use args::{Args, parse_args};
use report::{Report, machine, table};
use scenarios::{
    scenario_cluster, scenario_idle, scenario_instructions, scenario_lifecycle, scenario_load,
    scenario_model_eval, scenario_model_perf, scenario_rehydrate, scenario_search,
};
use servers::Setup;

// The server's allocator (the root package's src/main.rs): the load generator and the mock
// allocate per frame, and glibc malloc was the top user-space cost of this process under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

pub fn say(line: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", line.as_ref());
    let _ = out.flush();
}

async fn run(args: Args) -> Res<()> {
    let work = std::env::temp_dir().join(format!("eventchat-bench-{}", std::process::id()));
    std::fs::create_dir_all(work.join("data"))?;
    let mock = MockLlm::start_with_workers(args.mock_workers);
    // Keep a request count, not every request body, for the whole run.
    mock.set_recording(false);
    let setup = Setup {
        args: args.clone(),
        work: work.clone(),
        mock_base: mock.base_url(),
    };
    let mut report = Report::default();
    if args.tool_call_first {
        report.note(format!(
            "--tool-call-first: each turn is a {} tool call, the tool's run, then the text (two model requests); the reference's {} is a trivial function tool with a constant result, eventchat's reads the event from its database",
            replies::TOOL,
            replies::TOOL
        ));
    }
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
            "f" => scenario_lifecycle(&mut report, &setup, &mock).await,
            "e" => scenario_load(&mut report, &setup, &mock, "e", &args.va, None, true).await,
            "s" => scenario_search(&mut report, &setup).await,
            "m" => scenario_model_perf(&mut report, &setup).await,
            "q" => scenario_model_eval(&mut report, &setup).await,
            "k" => scenario_cluster(&mut report, &setup, &mock).await,
            "i" => scenario_instructions(&mut report, &setup, &mock).await,
            other => Err(format!("unknown scenario {other}").into()),
        };
        if let Err(e) = result {
            report.note(format!("scenario {s} failed: {e}"));
        }
    }
    let m = machine();
    let header = format!(
        "{} UTC, {} cores, {:.1} GiB RAM ({}), tokens/reply {}, messages/user {}, (b) {} ms/token + {} ms first, tool call first: {}, mock workers {}",
        started.format("%Y-%m-%d %H:%M"),
        m["cores"],
        m["ram_gib"].as_f64().unwrap_or(0.0),
        m["cpu"].as_str().unwrap_or(""),
        args.tokens,
        args.messages,
        args.token_delay_ms,
        args.first_token_delay_ms,
        args.tool_call_first,
        args.mock_workers
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
            "scenarios": args.scenarios, "tool_call_first": args.tool_call_first,
            "search_docs": args.search_docs, "search_queries": args.search_queries,
            "mock_workers": args.mock_workers,
            "models": args.models, "model_threads": args.model_threads,
            "model_concurrency": args.model_concurrency, "model_turns": args.model_turns,
            "ttft_rounds": args.ttft_rounds, "context_tokens": args.context_tokens,
            "eval_cases": args.eval_cases,
        },
        "results": report.rows, "notes": report.notes, "table_markdown": t,
    });
    std::fs::write(&args.out, serde_json::to_vec_pretty(&out)?)?;
    say(format!("results written to {}", args.out.display()));
    drop(mock);
    if std::env::var_os("BENCH_KEEP_WORK").is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
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
        .thread_name(procs::LOADGEN_THREAD)
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
