//! Scenario (c): memory per idle live thread. Creates N threads (one turn each), lets them idle
//! with their actors alive, and divides the server's memory growth by the number of new actors:
//! RSS growth (includes file-backed pages, e.g. the memory-mapped SQLite file growing with the
//! new rows) and `RssAnon` growth (anonymous memory only: what the actors themselves cost).
//!
//! Idle means after the ended turns' event logs are gone: the server keeps each finished
//! turn's frames for `turns.retention_secs` (120 s by default) so a client can resume, which
//! is memory of recent turns, not of live threads. The server runs with a retention of
//! [`RETENTION_SECS`] and the figure is read once the sweep has dropped the logs; the growth
//! right after the creation (logs included) is reported beside it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mock_llm::MockLlm;
use serde_json::json;

use crate::Res;
use crate::http::Conn;
use crate::load::{Target, load, turn};
use crate::replies::script_short;
use crate::report::Report;
use crate::say;
use crate::servers::{Setup, live_actors, start_eventchat_with};

/// The turns' log retention of the (c) server (seconds).
const RETENTION_SECS: u64 = 4;

pub async fn scenario_idle(report: &mut Report, setup: &Setup, mock: &MockLlm) -> Res<()> {
    script_short(mock);
    let max = Duration::from_secs(setup.args.max_run_secs * 4);
    let file = setup.work.join("eventchat-c.sqlite3");
    // A day of idle TTL: creating a million threads takes longer than the default 15
    // minutes, and an evicted thread is not held.
    let retention = [
        (
            "EVENTCHAT_TURNS__RETENTION_SECS".to_owned(),
            RETENTION_SECS.to_string(),
        ),
        (
            "EVENTCHAT_ACTORS__IDLE_TTL_SECS".to_owned(),
            "86400".to_owned(),
        ),
    ];
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let ec = start_eventchat_with(setup, &url, "c", &retention).await?;
    let target = Target {
        addr: ec.proc.addr,
        eventchat: true,
        keep_alive: setup.args.keep_alive,
    };
    // Warm-up: 256 threads, then the baseline.
    let _ = load(target, &ec.personas, 256, 1, max).await;
    let mut held = live_actors(&ec).await?;
    for &n in &setup.args.idle {
        let want = (n as u64).saturating_sub(held) as usize;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mem0 = ec.proc.mem();
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
            let personas = Arc::new(ec.personas.clone());
            let mut tasks = Vec::new();
            for u in 0..users {
                let personas = personas.clone();
                let count = per_user.min(batch - u * per_user);
                tasks.push(tokio::spawn(async move {
                    let p = &personas[u % personas.len()];
                    let mut ok = 0usize;
                    let mut conn = Conn::new(target.addr, target.keep_alive);
                    for i in 0..count {
                        let (t, _) = turn(
                            &mut conn,
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
        tokio::time::sleep(Duration::from_secs(1)).await;
        let fresh = ec.proc.mem();
        // The logs go at the first sweep after they are RETENTION_SECS old (a sweep runs
        // every second at this retention); then the allocator has a moment to give back.
        tokio::time::sleep(Duration::from_secs(RETENTION_SECS + 4)).await;
        let live = live_actors(&ec).await?;
        let mem1 = ec.proc.mem();
        let added = live.saturating_sub(held);
        let per_thread = |before: u64, after: u64| {
            if added > 0 {
                after.saturating_sub(before) as f64 * 1024.0 / added as f64
            } else {
                f64::NAN
            }
        };
        let per = per_thread(mem0.rss, mem1.rss);
        let per_anon = per_thread(mem0.anon, mem1.anon);
        let per_fresh = per_thread(mem0.anon, fresh.anon);
        let mib = |kib: u64| kib as f64 / 1024.0;
        say(format!(
            "  c eventchat N={n}: live actors {live} (+{added}, {errors} create errors, {create_s:.1} s, {create_cpu:.1} cpu s), RSS {:.1} -> {:.1} MiB, {:.0} B ({:.2} KiB) per idle live thread; RssAnon {:.1} -> {:.1} MiB, {:.0} B ({:.2} KiB) per thread",
            mib(mem0.rss),
            mib(mem1.rss),
            per,
            per / 1024.0,
            mib(mem0.anon),
            mib(mem1.anon),
            per_anon,
            per_anon / 1024.0
        ));
        say(format!(
            "  c eventchat N={n}: right after the creation, with the turns' logs: RssAnon {:.1} MiB, {:.2} KiB per thread",
            mib(fresh.anon),
            per_fresh / 1024.0
        ));
        report.rows.push(json!({
            "scenario": "c", "server": "eventchat", "db": "sqlite", "target_live_threads": n,
            "live_threads": live, "added_threads": added, "create_errors": errors,
            "create_s": create_s, "create_turns_per_s": created as f64 / create_s,
            "create_cpu_s": create_cpu,
            "rss_before_mib": mib(mem0.rss), "rss_after_mib": mib(mem1.rss),
            "peak_rss_mib": mib(mem1.hwm),
            "bytes_per_live_thread": per, "kib_per_live_thread": per / 1024.0,
            "rss_anon_before_mib": mib(mem0.anon), "rss_anon_after_mib": mib(mem1.anon),
            "bytes_per_live_thread_anon": per_anon, "kib_per_live_thread_anon": per_anon / 1024.0,
            "rss_anon_with_turn_logs_mib": mib(fresh.anon),
            "kib_per_live_thread_with_turn_logs": per_fresh / 1024.0,
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
