//! Scenarios (a), (b) and (e): V users × M messages against eventchat (SQLite, or PostgreSQL
//! for (e)) and then the Python reference, with instant replies (a, e) or paced tokens (b),
//! optionally a tool call before each reply (`--tool-call-first`).

use std::time::Duration;

use mock_llm::MockLlm;
use serde_json::json;

use super::measure::{Run, measured_load};
use crate::Res;
use crate::load::{Target, load};
use crate::pg::{drop_database, fresh_database};
use crate::replies::{Pace, script_load};
use crate::report::Report;
use crate::servers::{Persona, Setup, start_eventchat, start_reference};

pub async fn scenario_load(
    report: &mut Report,
    setup: &Setup,
    mock: &MockLlm,
    scenario: &str,
    users: &[usize],
    delay: Option<(Duration, Duration)>,
    postgres: bool,
) -> Res<()> {
    let a = &setup.args;
    let (first, per_token) = delay.unwrap_or_default();
    let pace = Pace {
        tokens: a.tokens,
        first,
        per_token,
        tool_call_first: a.tool_call_first,
    };
    let ideal = delay.map(|_| pace.mock_time());
    let max = Duration::from_secs(a.max_run_secs);
    let (db_url, db_name, pg_db) = if postgres {
        let name = format!("eventchat_bench_{}", std::process::id());
        (
            fresh_database(&a.pg_url, &name).await?,
            "postgres",
            Some(name),
        )
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
        let events = ec.personas.iter().map(|p| p.event_id.clone()).collect();
        script_load(mock, pace, events);
        let target = Target {
            addr: ec.proc.addr,
            eventchat: true,
            keep_alive: a.keep_alive,
        };
        // Warm-up (connections, caches), not measured.
        let _ = load(target, &ec.personas, 4, 2, max).await;
        let run = Run {
            scenario,
            server: "eventchat",
            db: db_name,
            proc: &ec.proc,
            target,
            personas: &ec.personas,
            mock,
            ideal_turn: ideal,
            max,
            v1_rounds: a.v1_rounds,
        };
        for &v in users {
            measured_load(report, &run, v, a.messages).await;
        }
    }
    if let Some(name) = pg_db {
        drop_database(&a.pg_url, &name).await?;
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
        keep_alive: a.keep_alive,
    };
    let personas = vec![Persona {
        token: String::new(),
        metadata: json!({}),
        event_id: String::new(),
    }];
    script_load(mock, pace, Vec::new());
    let _ = load(target, &personas, 2, 2, max).await;
    let run = Run {
        scenario,
        server: "reference",
        db: "sqlite",
        proc: &reference,
        target,
        personas: &personas,
        mock,
        ideal_turn: ideal,
        max,
        v1_rounds: a.v1_rounds,
    };
    for &v in users {
        if v > a.reference_max_v {
            report.note(format!(
                "{scenario}: reference not run at V={v} (above --reference-max-v)"
            ));
            continue;
        }
        measured_load(report, &run, v, a.messages).await;
    }
    Ok(())
}
