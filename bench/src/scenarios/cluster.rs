//! Scenario (k): the cluster of issue #17 (the issue calls it scenario (f); here `f` is the
//! turn lifecycle of issue #15). On one PostgreSQL database and the same cores:
//!
//! 1. the (a) load (instant replies, V users x M messages) against one cluster node, then
//!    against three, each user's messages sent round-robin over the nodes (message i of user u
//!    to node (u + i) mod 3), so two of three turns reach a node that does not own the thread
//!    and are forwarded: turns/s of each, server CPU summed over the nodes;
//! 2. the forwarding overhead: first-event latency (p50/p99) of the turns served by the owner
//!    directly and of those forwarded, from the same three-node run;
//! 3. the database's writes per turn (transactions committed, rows inserted + updated +
//!    deleted, from `pg_stat_database`) for one node and for three;
//! 4. the takeover time after kill -9 (`--takeover-rounds`, p50 and max): a thread is
//!    created on node A, A is killed, and node B is asked for the thread until it answers
//!    200; it is about the heartbeat timeout (`--cluster-timeout-ms`), which is the point:
//!    the figure checks that nothing else adds to it.
//!
//! Two cores cannot show scale-out: three nodes share what one had. The figures feed the
//! capacity model of docs/scaling.md.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mock_llm::MockLlm;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::Res;
use crate::http::Conn;
use crate::load::{Target, Turn, turn};
use crate::pg::{drop_database, fresh_database};
use crate::replies::{Pace, script_load};
use crate::report::Report;
use crate::say;
use crate::servers::{Eventchat, Persona, Setup, start_eventchat_with};
use crate::stats::dist;

/// The cluster settings of every node of the scenario.
fn cluster_env(setup: &Setup, node_id: &str) -> Vec<(String, String)> {
    let timeout = setup.args.cluster_timeout_ms;
    [
        ("EVENTCHAT_CLUSTER__ENABLED", "true".to_owned()),
        ("EVENTCHAT_CLUSTER__NODE_ID", node_id.to_owned()),
        (
            "EVENTCHAT_CLUSTER__SECRET",
            "bench-cluster-secret-0123456789abcdef0123".to_owned(),
        ),
        (
            "EVENTCHAT_CLUSTER__HEARTBEAT_TIMEOUT_MS",
            timeout.to_string(),
        ),
        (
            "EVENTCHAT_CLUSTER__HEARTBEAT_INTERVAL_MS",
            (timeout / 5).max(50).to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Transactions committed and rows written in the database so far.
async fn db_writes(url: &str) -> Res<(i64, i64)> {
    // The statistics are flushed by each backend at most once a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let db = sea_orm::Database::connect(url).await?;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted AS rows \
             FROM pg_stat_database WHERE datname = current_database()",
        ))
        .await?
        .ok_or("no pg_stat_database row")?;
    let out = (row.try_get("", "xact_commit")?, row.try_get("", "rows")?);
    db.close().await?;
    Ok(out)
}

/// One turn as the scenario saw it: which node took it and whether that node owned it.
struct Placed {
    turn: Turn,
    forwarded: bool,
}

/// V users, M messages each; message i of user u goes to node (u + i * stride) mod n. The
/// thread is owned by the node that created it (message 0).
async fn spread_load(
    addrs: &[SocketAddr],
    personas: &[Persona],
    v: usize,
    m: usize,
    stride: usize,
    max: Duration,
) -> (Vec<Placed>, Duration) {
    let started = Instant::now();
    let deadline = started + max;
    let mut tasks = Vec::with_capacity(v);
    for u in 0..v {
        let addrs = addrs.to_vec();
        let persona = personas[u % personas.len()].clone();
        tasks.push(tokio::spawn(async move {
            let n = addrs.len();
            let mut conns: Vec<Conn> = addrs.iter().map(|a| Conn::new(*a, true)).collect();
            let mut thread: Option<String> = None;
            let owner = u % n;
            let mut out = Vec::with_capacity(m);
            for i in 0..m {
                if Instant::now() > deadline {
                    break;
                }
                let at = (u + i * stride) % n;
                let target = Target {
                    addr: addrs[at],
                    eventchat: true,
                    keep_alive: true,
                };
                let text = format!("bench user {u} message {i}: what is left to plan?");
                let (t, created) = turn(
                    &mut conns[at],
                    target,
                    &persona,
                    thread.as_deref(),
                    &text,
                    max.min(Duration::from_secs(120)),
                )
                .await;
                if thread.is_none() {
                    thread = created;
                }
                let stop = thread.is_none();
                out.push(Placed {
                    turn: t,
                    forwarded: at != owner,
                });
                if stop {
                    break;
                }
            }
            out
        }));
    }
    let mut placed = Vec::new();
    for t in tasks {
        if let Ok(p) = t.await {
            placed.extend(p);
        }
    }
    (placed, started.elapsed())
}

/// Runs the load against `nodes` and reports one row.
async fn measured(
    report: &mut Report,
    setup: &Setup,
    nodes: &[&Eventchat],
    db_url: &str,
    label: &str,
) -> Res<()> {
    let a = &setup.args;
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.proc.addr).collect();
    let personas = &nodes[0].personas;
    let max = Duration::from_secs(a.max_run_secs);
    // Warm-up, not measured.
    let _ = spread_load(&addrs, personas, 4, 2, 1, max).await;
    let cpu0: f64 = nodes.iter().map(|n| n.proc.cpu_secs()).sum();
    let (tx0, rows0) = db_writes(db_url).await?;
    let (placed, wall) = spread_load(&addrs, personas, a.vk, a.messages, 1, max).await;
    let cpu = nodes.iter().map(|n| n.proc.cpu_secs()).sum::<f64>() - cpu0;
    let (tx1, rows1) = db_writes(db_url).await?;
    let ok: Vec<&Placed> = placed.iter().filter(|p| p.turn.ok).collect();
    let errors = placed.len() - ok.len();
    let mut first_errors: Vec<String> = Vec::new();
    for e in placed.iter().filter_map(|p| p.turn.error.clone()) {
        if first_errors.len() < 3 && !first_errors.contains(&e) {
            first_errors.push(e);
        }
    }
    let n_ok = ok.len().max(1) as f64;
    let direct = dist(
        ok.iter()
            .filter(|p| !p.forwarded)
            .filter_map(|p| p.turn.ttfe_us),
    );
    let forwarded = dist(
        ok.iter()
            .filter(|p| p.forwarded)
            .filter_map(|p| p.turn.ttfe_us),
    );
    let row = json!({
        "scenario": "k", "server": "eventchat", "db": "postgres", "nodes": nodes.len(),
        "label": label, "users": a.vk, "messages": a.messages,
        "turns_ok": ok.len(), "errors": errors, "first_errors": first_errors,
        "wall_s": wall.as_secs_f64(), "turns_per_s": ok.len() as f64 / wall.as_secs_f64(),
        "ttfe_direct_ms": direct, "ttfe_forwarded_ms": forwarded,
        "turn_ms": dist(ok.iter().map(|p| p.turn.full_us)),
        "server_cpu_s": cpu, "server_cpu_ms_per_turn": cpu * 1000.0 / n_ok,
        // The measurement's own two statistics reads add one transaction each.
        "db_commits_per_turn": (tx1 - tx0) as f64 / n_ok,
        "db_rows_written_per_turn": (rows1 - rows0) as f64 / n_ok,
    });
    say(format!(
        "  k {label:<9} V={} ok={} err={errors} {:.1} turns/s ttfe direct p50 {:.2} p99 {:.2} ms, forwarded p50 {:.2} p99 {:.2} ms; cpu {:.2} ms/turn; {:.1} commits, {:.1} rows per turn",
        a.vk,
        ok.len(),
        row["turns_per_s"].as_f64().unwrap_or(f64::NAN),
        row["ttfe_direct_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        row["ttfe_direct_ms"]["p99"].as_f64().unwrap_or(f64::NAN),
        row["ttfe_forwarded_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        row["ttfe_forwarded_ms"]["p99"].as_f64().unwrap_or(f64::NAN),
        row["server_cpu_ms_per_turn"].as_f64().unwrap_or(f64::NAN),
        row["db_commits_per_turn"].as_f64().unwrap_or(f64::NAN),
        row["db_rows_written_per_turn"].as_f64().unwrap_or(f64::NAN),
    ));
    if !first_errors.is_empty() {
        say(format!("    errors: {first_errors:?}"));
    }
    report.rows.push(row);
    Ok(())
}

/// The time from kill -9 of a thread's owner to the first 200 for it from another node.
async fn takeover(report: &mut Report, setup: &Setup, db_url: &str) -> Res<()> {
    let a = &setup.args;
    let b =
        start_eventchat_with(setup, db_url, "k-takeover-b", &cluster_env(setup, "node-b")).await?;
    let persona = b.personas[0].clone();
    let mut times = Vec::new();
    let mut failures = 0;
    for round in 0..a.takeover_rounds {
        let owner = start_eventchat_with(
            setup,
            db_url,
            &format!("k-takeover-a{round}"),
            &cluster_env(setup, &format!("node-a{round}")),
        )
        .await?;
        let target = |addr| Target {
            addr,
            eventchat: true,
            keep_alive: false,
        };
        let mut conn = Conn::new(owner.proc.addr, false);
        let (t, thread) = turn(
            &mut conn,
            target(owner.proc.addr),
            &persona,
            None,
            "hello",
            Duration::from_secs(30),
        )
        .await;
        let Some(thread) = thread.filter(|_| t.ok) else {
            failures += 1;
            continue;
        };
        // kill -9 (Proc's drop sends SIGTERM, which would leave the cluster cleanly).
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &owner.proc.pid().to_string()])
            .status();
        let killed = Instant::now();
        drop(owner);
        let bound = Duration::from_millis(a.cluster_timeout_ms * 3 + 10_000);
        let mut served = false;
        while killed.elapsed() < bound {
            let mut conn = Conn::new(b.proc.addr, false);
            let (t, _) = turn(
                &mut conn,
                target(b.proc.addr),
                &persona,
                Some(&thread),
                "still there?",
                Duration::from_secs(30),
            )
            .await;
            if t.ok {
                served = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if served {
            times.push(killed.elapsed().as_micros() as u64);
        } else {
            failures += 1;
        }
    }
    let d = dist(times.iter().copied());
    say(format!(
        "  k takeover after kill -9: p50 {:.0} ms max {:.0} ms over {} rounds ({failures} failed), heartbeat timeout {} ms",
        d["p50"].as_f64().unwrap_or(f64::NAN),
        d["max"].as_f64().unwrap_or(f64::NAN),
        times.len(),
        a.cluster_timeout_ms
    ));
    report.rows.push(json!({
        "scenario": "k", "label": "takeover", "takeover_ms": d, "failed_rounds": failures,
        "heartbeat_timeout_ms": a.cluster_timeout_ms,
    }));
    Ok(())
}

pub async fn scenario_cluster(report: &mut Report, setup: &Setup, mock: &MockLlm) -> Res<()> {
    let a = &setup.args;
    let pace = Pace {
        tokens: a.tokens,
        first: Duration::ZERO,
        per_token: Duration::ZERO,
        tool_call_first: a.tool_call_first,
    };
    let name = format!("eventchat_bench_k_{}", std::process::id());
    let result: Res<Value> = async {
        let url = fresh_database(&a.pg_url, &name).await?;
        {
            let one =
                start_eventchat_with(setup, &url, "k-1", &cluster_env(setup, "node-1")).await?;
            script_load(
                mock,
                pace,
                one.personas.iter().map(|p| p.event_id.clone()).collect(),
            );
            measured(report, setup, &[&one], &url, "1 node").await?;
        }
        // The single node left cleanly (SIGTERM): its threads are free; fresh threads anyway.
        let mut nodes = Vec::new();
        for n in 1..=3 {
            nodes.push(
                start_eventchat_with(
                    setup,
                    &url,
                    &format!("k-3-{n}"),
                    &cluster_env(setup, &format!("node-3-{n}")),
                )
                .await?,
            );
        }
        let refs: Vec<&Eventchat> = nodes.iter().collect();
        measured(report, setup, &refs, &url, "3 nodes").await?;
        drop(nodes);
        takeover(report, setup, &url).await?;
        Ok(Value::Null)
    }
    .await;
    drop_database(&a.pg_url, &name).await?;
    result.map(|_| ())
}
