//! Scenario (i): instructions per turn, counted by `valgrind --tool=callgrind` (issue #18's
//! steady figure beside the noisy ones: the same binary, inputs and environment give the same
//! count whatever else the machine does).
//!
//! The server runs under callgrind with collection on from the start. After a warm-up (first
//! turns and later turns, so pools, per-thread model clients and caches exist), the counters
//! are zeroed (`callgrind_control --zero`), `--instr-turns` first turns run one after another
//! (each a new thread: `threads.create`) and the counters are dumped; then zeroed again, one
//! later turn on each of those threads (`threads.add_user_message`), dumped. Each dump's
//! `totals:` line is the instructions of every server thread over that window (the mock and
//! the load generator run in this process, outside valgrind); divided by the turns, it is the
//! figure per turn. The window also holds what the server does on its own meanwhile (timers,
//! the supervisor's sweeps), a small share at a few turns per second under valgrind.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use mock_llm::MockLlm;
use serde_json::json;

use crate::Res;
use crate::http::Conn;
use crate::load::{Target, turn};
use crate::replies::script_short;
use crate::report::Report;
use crate::say;
use crate::servers::{Setup, start_eventchat_under};

/// Turns of each kind before the counters are zeroed.
const WARM_UP: usize = 8;

pub async fn scenario_instructions(report: &mut Report, setup: &Setup, mock: &MockLlm) -> Res<()> {
    script_short(mock);
    let n = setup.args.instr_turns;
    let file = setup.work.join("eventchat-i.sqlite3");
    let out = setup.work.join("callgrind.out");
    let prefix = [
        "valgrind".to_owned(),
        "--tool=callgrind".to_owned(),
        format!("--callgrind-out-file={}", out.display()),
        "--dump-instr=no".to_owned(),
    ];
    let ec = start_eventchat_under(
        setup,
        &format!("sqlite://{}?mode=rwc", file.display()),
        "i",
        &[],
        &prefix,
        600,
    )
    .await?;
    let pid = ec.proc.child.id().to_string();
    let target = Target {
        addr: ec.proc.addr,
        eventchat: true,
        keep_alive: setup.args.keep_alive,
    };
    let mut conn = Conn::new(target.addr, target.keep_alive);
    let timeout = Duration::from_secs(120);
    let persona = |i: usize| &ec.personas[i % ec.personas.len()];

    // Warm-up: first turns, then a later turn on each.
    let mut warm = Vec::new();
    for i in 0..WARM_UP {
        let (t, id) = turn(&mut conn, target, persona(i), None, "warm up", timeout).await;
        if !t.ok {
            return Err(format!("i: warm-up turn failed: {:?}", t.error).into());
        }
        warm.extend(id);
    }
    for (i, id) in warm.iter().enumerate() {
        let _ = turn(
            &mut conn,
            target,
            persona(i),
            Some(id),
            "warm up again",
            timeout,
        )
        .await;
    }

    control(&pid, &["--zero"])?;
    let mut threads = Vec::new();
    let mut errors = 0usize;
    for i in 0..n {
        let text = format!("instructions: first turn {i}, what is left to plan?");
        let (t, id) = turn(&mut conn, target, persona(i), None, &text, timeout).await;
        errors += usize::from(!t.ok);
        threads.extend(id);
    }
    let first = dump(&pid, &out, "first")?;
    control(&pid, &["--zero"])?;
    for (i, id) in threads.iter().enumerate() {
        let text = format!("instructions: later turn {i}, and the flowers?");
        let (t, _) = turn(&mut conn, target, persona(i), Some(id), &text, timeout).await;
        errors += usize::from(!t.ok);
    }
    let later = dump(&pid, &out, "later")?;
    drop(ec);

    let per = |total: u64, turns: usize| total as f64 / turns.max(1) as f64;
    let (first_per, later_per) = (per(first, n), per(later, threads.len()));
    say(format!(
        "  i eventchat: {n} first turns {:.0} instructions each, {} later turns {:.0} each ({errors} errors)",
        first_per,
        threads.len(),
        later_per
    ));
    report.rows.push(json!({
        "scenario": "i", "server": "eventchat", "db": "sqlite",
        "first_turns": n, "later_turns": threads.len(), "errors": errors,
        "instructions_first_total": first, "instructions_later_total": later,
        "instructions_per_first_turn": first_per, "instructions_per_later_turn": later_per,
    }));
    Ok(())
}

fn control(pid: &str, args: &[&str]) -> Res<()> {
    let status = Command::new("callgrind_control")
        .args(args)
        .arg(pid)
        .output()?;
    if !status.status.success() {
        return Err(format!(
            "callgrind_control {args:?} {pid}: {}",
            String::from_utf8_lossy(&status.stderr)
        )
        .into());
    }
    Ok(())
}

/// Dumps the counters and returns the `totals:` of the dump just written (the newest
/// `callgrind.out.N` beside `out`).
fn dump(pid: &str, out: &Path, label: &str) -> Res<u64> {
    let dir = out.parent().ok_or("callgrind output has no directory")?;
    let before = newest_dump(dir)?;
    control(pid, &[&format!("--dump={label}")])?;
    // The dump is written by the server's own threads; wait for the file (bounded).
    for _ in 0..600 {
        if let Some((path, _)) = newest_dump(dir)?.filter(|d| Some(d) != before.as_ref())
            && let Some(total) = totals(&path)?
        {
            return Ok(total);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("i: no callgrind dump for {label} within 60 s").into())
}

type Dump = (std::path::PathBuf, u32);

fn newest_dump(dir: &Path) -> Res<Option<Dump>> {
    let mut newest: Option<Dump> = None;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let Some(n) = name
            .strip_prefix("callgrind.out.")
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if newest.as_ref().is_none_or(|(_, m)| n > *m) {
            newest = Some((path, n));
        }
    }
    Ok(newest)
}

fn totals(path: &Path) -> Res<Option<u64>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok()))
}
