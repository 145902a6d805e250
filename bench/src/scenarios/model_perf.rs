//! Scenario (m), issue #16 "Benchmark and evaluation": the local model's performance, per
//! model of `--models`, with the real server on `EVENTCHAT_LLM__PROVIDER=local` (greedy).
//!
//! 1. Load: the engine's `load_ms` and the time from spawn to a loaded model.
//! 2. First turn: `--ttft-rounds` fresh threads with a short question; time to the first SSE
//!    event and to the first assistant text delta, and the prompt tokens evaluated against
//!    those taken from another thread's cache (all on one persona's event: the first round
//!    evaluates the system prompt, later rounds reuse it).
//! 3. Second turn with context: as many fresh threads whose first message is long (event
//!    notes, "reply OK"), sized so that the second turn's prompt is about `--context-tokens`;
//!    the second turn asks about those notes, so it needs no tool. Its first-event and
//!    first-token times, and from the counters the prompt tokens taken from the thread's KV
//!    cache against those evaluated. The filler is calibrated on the first round: the base
//!    prompt (system prompt, tools, context) is measured by step 2.
//! 4. Prompt evaluation and generation tokens/s from the `eventchat_local_*` counters over
//!    steps 2 and 3, one turn at a time (so generation is one sequence, as llama-bench's tg).
//! 5. Throughput at each `--model-concurrency`: that many threads (different clients' events)
//!    at once, `--model-turns` turns each, bounded by `--max-run-secs`; turns/s and generated
//!    tokens/s aggregate, mean queue wait.
//! 6. Peak RSS (VmHWM, over the whole run: the model file is mapped, so it counts).
//!
//! Targets reported met / not met: second-turn TTFT < 1.5 s for the 0.5B; generation at
//! least 90 % of llama.cpp's own `llama-bench` tg on the same machine (read from
//! `--llama-bench-dir`, written by `scripts/bench/llama-bench.sh`).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::local::{
    EVALUATED, Exchange, GEN_US, GENERATED, Metrics, PROMPT_US, QUEUE_COUNT, QUEUE_SUM, REUSED,
    bench_depth, exchange, llama_bench, median_s, start_local,
};
use crate::Res;
use crate::load::{Target, turn, user_input};
use crate::report::Report;
use crate::say;
use crate::servers::Setup;

/// One turn's bound: a 1.5B turn on two busy cores takes tens of seconds.
const TURN_TIMEOUT: Duration = Duration::from_secs(600);
/// Second-turn TTFT target of the 0.5B with a ~2,000-token context.
const TTFT_TARGET_S: f64 = 1.5;
/// Generation target against llama-bench's tg.
const TG_TARGET: f64 = 0.9;

const SHORT_QUESTION: &str = "Hi! In one short sentence, what can you help me with?";
const SECOND_QUESTION: &str =
    "Thanks. In one short sentence: which colors did I say I want for the tables?";

/// Event-planning notes to fill the first message; repeated to size.
const NOTES: &[&str] = &[
    "For the tables we want sage and ivory linens with candles in glass holders.",
    "The ceremony should start on the terrace at half past four if the weather is dry.",
    "My grandmother needs a seat close to the front and a quiet corner to rest in.",
    "We would like the first dance right after the main course, before the speeches.",
    "Two of our friends are vegan and one cousin has a severe nut allergy.",
    "The photographer should capture the harbor view during the golden hour.",
    "We prefer acoustic music during dinner and a livelier playlist after ten.",
    "Please keep the gift table near the entrance, away from the dance floor.",
    "The children's table needs crayons, paper and a few simple games.",
    "We plan to hand out small jars of local honey as favors at the end.",
];

fn filler(chars: usize) -> String {
    let mut s = String::from("Here are my notes for the event, for later:\n");
    let mut i = 0;
    while s.len() < chars {
        let _ = write!(s, "{} ", NOTES[i % NOTES.len()]);
        i += 1;
    }
    s.push_str("\nPlease just reply with OK for now.");
    s
}

pub async fn scenario_model_perf(report: &mut Report, setup: &Setup) -> Res<()> {
    for model in setup.args.models.clone() {
        if let Err(e) = run_model(report, setup, &model).await {
            report.note(format!("m ({model}) failed: {e}"));
        }
    }
    Ok(())
}

fn secs(d: Option<Duration>) -> f64 {
    d.map_or(f64::NAN, |d| d.as_secs_f64())
}

fn check(label: &str, ex: &Exchange) -> Res<()> {
    match &ex.error {
        Some(e) => Err(format!("{label}: {e}").into()),
        None => Ok(()),
    }
}

async fn run_model(report: &mut Report, setup: &Setup, model: &str) -> Res<()> {
    let args = &setup.args;
    let srv = start_local(setup, model, &format!("m-{model}")).await?;
    let ec = &srv.ec;
    let addr = ec.proc.addr;
    say(format!(
        "  m {model}: loaded in {} ms (engine), {:.1} s from spawn",
        srv.load_ms.map_or("?".into(), |v| v.to_string()),
        srv.ready_s
    ));
    let persona = ec.personas.first().ok_or("no personas")?;
    let create = |text: &str| json!({"type": "threads.create", "params": {"input": user_input(text)}, "metadata": persona.metadata});

    // 2. First turns.
    let seq0 = Metrics::scrape(addr).await?;
    let mut first = Vec::new();
    let mut base_prompt = Vec::new();
    for _ in 0..args.ttft_rounds {
        let before = Metrics::scrape(addr).await?;
        let ex = exchange(addr, &persona.token, &create(SHORT_QUESTION), TURN_TIMEOUT).await?;
        check("first turn", &ex)?;
        let after = Metrics::scrape(addr).await?;
        // The first model call's prompt: on the first fresh thread all evaluated, on later
        // ones mostly taken from the first's cache (the same system prompt and tools). A
        // tool round adds a second call, mostly reused: then this overstates the base a little.
        let evaluated = after.since(&before, EVALUATED);
        let reused = after.since(&before, REUSED);
        base_prompt.push(evaluated + reused);
        first.push(json!({
            "ttfe_s": secs(ex.ttfe), "ttft_s": secs(ex.ttft), "turn_s": ex.total.as_secs_f64(),
            "tool_rounds": ex.tool_rounds, "evaluated": evaluated, "reused": reused,
            "generated": after.since(&before, GENERATED),
        }));
        say(format!(
            "    first turn: first event {:.2} s, first token {:.2} s, turn {:.1} s, {} tool rounds, prompt tokens {evaluated} evaluated / {reused} reused",
            secs(ex.ttfe),
            secs(ex.ttft),
            ex.total.as_secs_f64(),
            ex.tool_rounds
        ));
    }
    let base = base_prompt.iter().copied().fold(f64::INFINITY, f64::min);

    // 3. Second turns with ~context_tokens of prompt. ~4 characters per token of English;
    // recalibrated after the first round from what the model actually evaluated.
    let mut chars_per_token = 4.0;
    let mut second = Vec::new();
    for _ in 0..args.ttft_rounds {
        let want = (args.context_tokens as f64 - base - 40.0).max(0.0);
        let long = filler((want * chars_per_token) as usize);
        let before1 = Metrics::scrape(addr).await?;
        let ex1 = exchange(addr, &persona.token, &create(&long), TURN_TIMEOUT).await?;
        check("context turn", &ex1)?;
        let thread = ex1.thread_id.clone().ok_or("no thread created")?;
        let before = Metrics::scrape(addr).await?;
        let msg_tokens = before.since(&before1, EVALUATED) - base;
        if msg_tokens > 100.0 && ex1.tool_rounds == 0 {
            chars_per_token = long.len() as f64 / msg_tokens;
        }
        let body = json!({"type": "threads.add_user_message", "params": {"thread_id": thread, "input": user_input(SECOND_QUESTION)}});
        let ex = exchange(addr, &persona.token, &body, TURN_TIMEOUT).await?;
        check("second turn", &ex)?;
        let after = Metrics::scrape(addr).await?;
        let (evaluated, reused) = (
            after.since(&before, EVALUATED),
            after.since(&before, REUSED),
        );
        second.push(json!({
            "ttfe_s": secs(ex.ttfe), "ttft_s": secs(ex.ttft), "turn_s": ex.total.as_secs_f64(),
            "tool_rounds": ex.tool_rounds, "prompt_tokens": evaluated + reused,
            "reused": reused, "evaluated": evaluated, "generated": after.since(&before, GENERATED),
            "answer": ex.answer.chars().take(120).collect::<String>(),
        }));
        say(format!(
            "    second turn: prompt {:.0} tokens ({reused:.0} reused, {evaluated:.0} evaluated), first event {:.2} s, first token {:.2} s, turn {:.1} s, {} tool rounds",
            evaluated + reused,
            secs(ex.ttfe),
            secs(ex.ttft),
            ex.total.as_secs_f64(),
            ex.tool_rounds
        ));
    }
    let seq1 = Metrics::scrape(addr).await?;
    let pp_tps = seq1.since(&seq0, EVALUATED) / (seq1.since(&seq0, PROMPT_US) / 1e6);
    let tg_tps = seq1.since(&seq0, GENERATED) / (seq1.since(&seq0, GEN_US) / 1e6);
    say(format!(
        "    one turn at a time: prompt {pp_tps:.1} tokens/s, generation {tg_tps:.1} tokens/s"
    ));

    // 5. Throughput.
    let target = Target {
        addr,
        eventchat: true,
        keep_alive: true,
    };
    let mut throughput = Vec::new();
    for &c in &args.model_concurrency {
        let before = Metrics::scrape(addr).await?;
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_secs(args.max_run_secs);
        let mut tasks = Vec::new();
        for u in 0..c {
            let persona = ec.personas[u % ec.personas.len()].clone();
            let turns = args.model_turns;
            tasks.push(tokio::spawn(async move {
                let mut conn = crate::http::Conn::new(target.addr, true);
                let mut thread: Option<String> = None;
                let (mut ok, mut failed) = (0usize, Vec::new());
                for i in 0..turns {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    let text = if i == 0 {
                        "When is my event? Answer in one sentence."
                    } else {
                        "And how many guests are expected? One sentence."
                    };
                    let (t, created) =
                        turn(&mut conn, target, &persona, thread.as_deref(), text, left).await;
                    thread = thread.or(created);
                    if t.ok {
                        ok += 1;
                    } else {
                        failed.push(t.error.unwrap_or_default());
                    }
                    if thread.is_none() {
                        break;
                    }
                }
                (ok, failed)
            }));
        }
        let (mut ok, mut errors) = (0usize, Vec::new());
        for t in tasks {
            if let Ok((n, f)) = t.await {
                ok += n;
                errors.extend(f);
            }
        }
        let wall = t0.elapsed().as_secs_f64();
        let after = Metrics::scrape(addr).await?;
        let generated = after.since(&before, GENERATED);
        let queued = after.since(&before, QUEUE_COUNT);
        let row = json!({
            "concurrency": c, "turns_planned": c * args.model_turns, "turns_ok": ok,
            "errors": errors.len(), "first_errors": errors.iter().take(3).collect::<Vec<_>>(),
            "wall_s": wall, "turns_per_s": ok as f64 / wall,
            "generated_tokens_per_s": generated / wall,
            "prompt_tokens_evaluated": after.since(&before, EVALUATED),
            "prompt_tokens_reused": after.since(&before, REUSED),
            "mean_queue_wait_s": if queued > 0.0 { after.since(&before, QUEUE_SUM) / queued } else { f64::NAN },
        });
        say(format!(
            "    {c} concurrent: {ok}/{} turns in {wall:.0} s, {:.3} turns/s, {:.1} generated tokens/s, mean queue wait {:.1} s, {} errors",
            c * args.model_turns,
            ok as f64 / wall,
            generated / wall,
            row["mean_queue_wait_s"].as_f64().unwrap_or(f64::NAN),
            errors.len()
        ));
        throughput.push(row);
    }
    let mem = ec.proc.mem();

    let med =
        |rows: &[Value], key: &str| median_s(rows.iter().filter_map(|r| r[key].as_f64()).collect());
    let ttft2 = med(&second, "ttft_s");
    let bench = llama_bench(&args.llama_bench_dir, model);
    let bench_of = |kind: &str, depth0: bool| {
        bench.as_ref().and_then(|b| {
            b.iter()
                .find(|(t, _)| t.starts_with(kind) && (!depth0 || bench_depth(t) == 0))
                .map(|(_, v)| *v)
        })
    };
    let (bench_tg, bench_pp) = (bench_of("tg", true), bench_of("pp", true));
    // The server generates after a whole prompt (~3,100 tokens): the fair reference is
    // llama-bench's generation at the depth nearest to that context, when it was run.
    let context = med(&second, "prompt_tokens");
    let bench_tg_ctx = bench.as_ref().and_then(|b| {
        b.iter()
            .filter(|(t, _)| t.starts_with("tg"))
            .min_by_key(|(t, _)| bench_depth(t).abs_diff(context.max(0.0) as u64))
            .map(|(t, v)| (bench_depth(t), *v))
    });
    let row = json!({
        "scenario": "m", "model": model, "threads": args.model_threads,
        "load_ms": srv.load_ms, "ready_s": srv.ready_s,
        "pp_tokens_per_s": pp_tps, "tg_tokens_per_s": tg_tps,
        "first_turn": first, "second_turn": second,
        "ttft1_s": med(&first, "ttft_s"), "ttfe1_s": med(&first, "ttfe_s"),
        // The first fresh thread evaluates the system prompt; later ones reuse it.
        "ttft1_cold_s": first.first().and_then(|r| r["ttft_s"].as_f64()),
        "ttft1_shared_s": first.get(1..).map(|rest| med(rest, "ttft_s")),
        "ttft2_s": ttft2, "ttfe2_s": med(&second, "ttfe_s"),
        "context_tokens": med(&second, "prompt_tokens"),
        "context_reused": med(&second, "reused"), "context_evaluated": med(&second, "evaluated"),
        "peak_rss_mib": mem.hwm as f64 / 1024.0, "rss_anon_mib": mem.anon as f64 / 1024.0,
        "throughput": throughput,
        "llama_bench": bench.as_ref().map(|b| b.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>()),
        "llama_bench_pp": bench_pp, "llama_bench_tg": bench_tg,
        "tg_vs_llama_bench": bench_tg.map(|b| tg_tps / b),
        "llama_bench_tg_depth": bench_tg_ctx.map(|(d, _)| d),
        "llama_bench_tg_at_context": bench_tg_ctx.map(|(_, v)| v),
        "tg_vs_llama_bench_at_context": bench_tg_ctx.map(|(_, b)| tg_tps / b),
        "target_ttft2_met": model.contains("0.5b").then_some(ttft2 < TTFT_TARGET_S),
        "target_tg_met": bench_tg_ctx.map(|(_, b)| tg_tps >= TG_TARGET * b),
    });
    if bench_tg.is_none() {
        report.note(format!(
            "m ({model}): no llama-bench figures in {}; run scripts/bench/llama-bench.sh {} first for the generation target",
            args.llama_bench_dir.display(),
            args.model_dir.join(format!("{model}.gguf")).display()
        ));
    }
    report.rows.push(row);
    Ok(())
}
