//! One measured load run against a server: CPU and peak RSS of the server process around the
//! run, CPU of this process's load generator and mock LLM threads, turn counts, errors,
//! latency distributions and, at V=1, the server's own time per turn (the mock's service
//! intervals subtracted); one JSON row in the report. At V=1 the run is repeated
//! (`--v1-rounds`, a new user and thread each time) so that the percentiles rest on ~100
//! turns rather than 5.

use std::time::Duration;

use mock_llm::MockLlm;
use serde_json::json;

use crate::load::{LoadOut, Target, Turn, load};
use crate::procs::{Proc, SelfCpu, listen_overflows};
use crate::report::Report;
use crate::say;
use crate::servers::Persona;
use crate::stats::{dist, server_times};

/// What one measured run is about.
pub struct Run<'a> {
    pub scenario: &'a str,
    pub server: &'a str,
    pub db: &'a str,
    pub proc: &'a Proc,
    pub target: Target,
    pub personas: &'a [Persona],
    pub mock: &'a MockLlm,
    /// The mock's own time for one turn (the best a server can do), if replies are paced.
    pub ideal_turn: Option<Duration>,
    pub max: Duration,
    /// At V=1, users run one after another this many times (5 turns give no stable p50).
    pub v1_rounds: usize,
}

pub async fn measured_load(report: &mut Report, run: &Run<'_>, v: usize, m: usize) -> LoadOut {
    let Run {
        scenario,
        server,
        db,
        proc,
        ..
    } = *run;
    // Server time needs turns that do not overlap: only at V=1.
    let timed = v == 1;
    if timed {
        run.mock.set_interval_recording(true);
        let _ = run.mock.take_intervals();
    }
    proc.reset_peak();
    let cpu0 = proc.cpu_secs();
    let self0 = SelfCpu::now();
    let overflows0 = listen_overflows();
    let rounds = if timed { run.v1_rounds.max(1) } else { 1 };
    let mut out = load(run.target, run.personas, v, m, run.max).await;
    for _ in 1..rounds {
        let next = load(run.target, run.personas, v, m, run.max).await;
        out.turns.extend(next.turns);
        out.wall += next.wall;
        out.threads.extend(next.threads);
    }
    let overflows = listen_overflows()
        .zip(overflows0)
        .map(|(after, before)| after.saturating_sub(before));
    let cpu = proc.cpu_secs() - cpu0;
    let bench_cpu = SelfCpu::now().since(self0);
    let peak = proc.mem().hwm;
    let server_ms = if timed {
        run.mock.set_interval_recording(false);
        let intervals = run.mock.take_intervals();
        Some(dist(server_times(&out.turns, &intervals).into_iter()))
    } else {
        None
    };
    let ok: Vec<&Turn> = out.turns.iter().filter(|t| t.ok).collect();
    let planned = v * m * rounds;
    let errors = out.turns.len() - ok.len() + planned.saturating_sub(out.turns.len());
    let wall = out.wall.as_secs_f64();
    let mut first_errors: Vec<String> = Vec::new();
    for e in out.turns.iter().filter_map(|t| t.error.clone()) {
        if first_errors.len() < 3 && !first_errors.contains(&e) {
            first_errors.push(e);
        }
    }
    let ideal = run.ideal_turn.map(|d| {
        let ideal_wall = d.as_secs_f64() * (m * rounds) as f64;
        json!({
            "ideal_turn_ms": d.as_secs_f64() * 1000.0,
            "ideal_turns_per_s": v as f64 / d.as_secs_f64(),
            "fraction_of_ideal": ideal_wall / wall,
        })
    });
    let row = json!({
        "scenario": scenario, "server": server, "db": db, "users": v, "messages": m,
        "rounds": rounds, "turns_planned": planned, "turns_ok": ok.len(), "errors": errors,
        "first_errors": first_errors,
        "wall_s": wall, "turns_per_s": ok.len() as f64 / wall,
        "ttfe_ms": dist(ok.iter().filter_map(|t| t.ttfe_us)),
        "ttft_ms": dist(ok.iter().filter_map(|t| t.ttft_us)),
        "turn_ms": dist(ok.iter().map(|t| t.full_us)),
        "server_ms": server_ms,
        "server_cpu_s": cpu, "server_peak_rss_mib": peak as f64 / 1024.0,
        "loadgen_cpu_s": bench_cpu.loadgen, "mock_cpu_s": bench_cpu.mock,
        "listen_overflows": overflows,
        "ideal": ideal,
    });
    let server_p50 = row["server_ms"]["p50"]
        .as_f64()
        .map(|p| format!(" server p50 {p:.2} ms"))
        .unwrap_or_default();
    say(format!(
        "  {scenario} {server:<10} {db:<8} V={v:<5} ok={}/{} err={errors} {:.1} turns/s ttfe p50 {:.2} ms turn p50 {:.1} ms{server_p50} cpu {:.1}s (loadgen {:.1}s, mock {:.1}s) rss {:.0} MiB{}",
        ok.len(),
        planned,
        ok.len() as f64 / wall,
        row["ttfe_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        row["turn_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        cpu,
        bench_cpu.loadgen,
        bench_cpu.mock,
        peak as f64 / 1024.0,
        row["ideal"]["fraction_of_ideal"]
            .as_f64()
            .map(|f| format!(" ({:.1}% of ideal)", f * 100.0))
            .unwrap_or_default()
    ));
    if let Some(n) = overflows
        && n > 0
    {
        say(format!(
            "    {n} connections overflowed a listen queue (SYN retried after >= 1 s): latencies include that"
        ));
    }
    if !first_errors.is_empty() {
        say(format!("    errors: {first_errors:?}"));
    }
    report.rows.push(row);
    out
}
