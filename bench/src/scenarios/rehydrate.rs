//! Scenario (d): cold start. Fills K threads with 200 stored items, evicts every actor, then
//! times the first turn on each thread (the actor rehydrates from the store) against a second,
//! warm turn.

use std::time::{Duration, Instant};

use mock_llm::MockLlm;
use serde_json::json;

use crate::Res;
use crate::http::{Conn, http};
use crate::load::{Target, load, turn};
use crate::replies::script_short;
use crate::report::Report;
use crate::say;
use crate::servers::{Setup, live_actors, start_eventchat};
use crate::stats::dist;

pub async fn scenario_rehydrate(report: &mut Report, setup: &Setup, mock: &MockLlm) -> Res<()> {
    script_short(mock);
    let k = setup.args.rehydrate_threads;
    let max = Duration::from_secs(setup.args.max_run_secs * 2);
    let file = setup.work.join("eventchat-d.sqlite3");
    let ec = start_eventchat(setup, &format!("sqlite://{}?mode=rwc", file.display()), "d").await?;
    let target = Target {
        addr: ec.proc.addr,
        eventchat: true,
        keep_alive: setup.args.keep_alive,
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
        // One connection for the cold and the warm turn, as one user would have.
        let mut conn = Conn::new(target.addr, target.keep_alive);
        let (c, _) = turn(
            &mut conn,
            target,
            persona,
            Some(thread),
            "cold",
            Duration::from_secs(60),
        )
        .await;
        let (w, _) = turn(
            &mut conn,
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
