//! Scenario (q), issue #16 "Benchmark and evaluation": the local model's tool use, per model
//! of `--models`, on a fixed evaluation set (`bench/eval/local_model.json`, built into the
//! binary; `--eval PATH` reads another; its `about` field documents the format).
//!
//! Each case runs on a fresh thread through HTTP against the real server (local provider,
//! greedy, demo data): the case's user and assistant, its prompt. Afterwards the thread's
//! tool calls are read from the server's database (the `tool_calls` metadata of its
//! `workflow` items: name, arguments, result, ok; what the model saw), and checked:
//! - right tool: the expected tool ran (in any tool round of the turn);
//! - right arguments: one of its calls has the expected arguments (a subset match);
//! - answer consistent: the final answer mentions a value the tool returned, and is not a
//!   tool call written as text that the server did not recover (shown raw to the user; the
//!   count of those is reported over all cases);
//! - refusal cases (another client's or venue's event): every call naming that event was
//!   refused and no forbidden name appears in the answer; a bypass is reported.
//!
//! Ids in prompts and arguments are placeholders resolved from the seeded database at run
//! time (`{event:NAME}`, ...), so the set does not depend on the demo's id scheme.

use std::collections::HashMap;
use std::io::Write as _;
use std::time::{Duration, Instant};

use eventchat::config::Settings;
use eventchat::store::db;
use eventchat::store::seed::{DEMO_CLIENT_EMAIL, DEMO_STAFF_EMAIL};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};

use super::local::{exchange, start_local};
use crate::Res;
use crate::load::user_input;
use crate::report::Report;
use crate::say;
use crate::servers::{Setup, token_for};

const BUILT_IN: &str = include_str!("../../eval/local_model.json");
const TURN_TIMEOUT: Duration = Duration::from_secs(600);
/// Target: right tool and right arguments with the 1.5B.
const TARGET: f64 = 0.8;

pub async fn scenario_model_eval(report: &mut Report, setup: &Setup) -> Res<()> {
    let text = match &setup.args.eval {
        Some(p) => std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?,
        None => BUILT_IN.to_owned(),
    };
    let set: Value = serde_json::from_str(&text)?;
    let mut cases: Vec<Value> = set["cases"].as_array().cloned().unwrap_or_default();
    if let Some(n) = setup.args.eval_cases
        && n < cases.len()
    {
        cases = spread(cases, n);
    }
    if cases.is_empty() {
        return Err("the evaluation set has no cases".into());
    }
    for model in setup.args.models.clone() {
        if let Err(e) = run_model(report, setup, &model, &cases).await {
            report.note(format!("q ({model}) failed: {e}"));
        }
    }
    Ok(())
}

/// `n` of the cases for a shorter run: every refusal case (the security property), then
/// non-refusal cases evenly spread over the set (so all three assistants stay in), in order.
fn spread(cases: Vec<Value>, n: usize) -> Vec<Value> {
    let refusals = cases.iter().filter(|c| c.get("refusal").is_some()).count();
    let others = cases.len() - refusals;
    let want = n.saturating_sub(refusals).min(others);
    let mut seen = 0usize;
    let mut taken = 0usize;
    cases
        .into_iter()
        .filter(|c| {
            if c.get("refusal").is_some() {
                return true;
            }
            // Take the i-th of `others` when it crosses the next multiple of others/want.
            let take = want > 0 && (seen * want) / others == taken && taken < want;
            seen += 1;
            taken += usize::from(take);
            take
        })
        .collect()
}

/// Names of the demo data, resolved to ids.
struct Ids {
    /// placeholder kind:name -> id, e.g. "event:Emily & James Wedding".
    by_name: HashMap<String, String>,
    /// event id -> venue id.
    venue_of: HashMap<String, String>,
    /// user email -> venue id (staff).
    staff_venue: HashMap<String, String>,
}

async fn rows(conn: &DatabaseConnection, sql: &str) -> Res<Vec<Vec<String>>> {
    let backend = conn.get_database_backend();
    let out = conn
        .query_all_raw(Statement::from_string(backend, sql))
        .await?
        .into_iter()
        .map(|r| {
            (0..3)
                .map(|i| {
                    r.try_get_by_index::<Option<String>>(i)
                        .ok()
                        .flatten()
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    Ok(out)
}

async fn resolve_ids(settings: &Settings) -> Res<Ids> {
    let conn = db::connect(&settings.database).await?;
    let mut ids = Ids {
        by_name: HashMap::new(),
        venue_of: HashMap::new(),
        staff_venue: HashMap::new(),
    };
    for r in rows(&conn, "SELECT id, name, venue_id FROM events").await? {
        ids.by_name.insert(format!("event:{}", r[1]), r[0].clone());
        ids.venue_of.insert(r[0].clone(), r[2].clone());
    }
    for r in rows(&conn, "SELECT id, name, '' FROM venues").await? {
        ids.by_name.insert(format!("venue:{}", r[1]), r[0].clone());
    }
    for r in rows(&conn, "SELECT id, name, '' FROM vendors").await? {
        ids.by_name.insert(format!("vendor:{}", r[1]), r[0].clone());
    }
    for r in rows(
        &conn,
        "SELECT el.id, ev.name || '/' || el.name, '' FROM event_elements el JOIN events ev ON ev.id = el.event_id",
    )
    .await?
    {
        ids.by_name.insert(format!("element:{}", r[1]), r[0].clone());
    }
    for r in rows(
        &conn,
        "SELECT email, venue_id, '' FROM users WHERE venue_id IS NOT NULL",
    )
    .await?
    {
        ids.staff_venue.insert(r[0].clone(), r[1].clone());
    }
    conn.close().await?;
    Ok(ids)
}

/// Replaces every `{kind:name}` placeholder; an unknown name is an error of the set.
fn fill(text: &str, ids: &Ids) -> Res<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else { break };
        let key = &rest[i + 1..i + j];
        out.push_str(&rest[..i]);
        if key.contains(':') {
            let id = ids
                .by_name
                .get(key)
                .ok_or_else(|| format!("unknown name {key:?}"))?;
            out.push_str(id);
        } else {
            out.push_str(&rest[i..=i + j]);
        }
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn fill_value(v: &Value, ids: &Ids) -> Res<Value> {
    Ok(match v {
        Value::String(s) => Value::String(fill(s, ids)?),
        Value::Object(m) => {
            let mut o = serde_json::Map::new();
            for (k, x) in m {
                o.insert(k.clone(), fill_value(x, ids)?);
            }
            Value::Object(o)
        }
        other => other.clone(),
    })
}

/// A subset match: every expected key present; strings case-insensitive substrings.
fn args_match(expected: &Value, actual: &Value) -> bool {
    let Some(exp) = expected.as_object() else {
        return true;
    };
    exp.iter().all(|(k, e)| match (e, &actual[k]) {
        (Value::String(e), Value::String(a)) => a.to_lowercase().contains(&e.to_lowercase()),
        (e, a) => e == a,
    })
}

/// Every scalar under one of `keys`, anywhere in `v`, as text.
fn values_under(v: &Value, keys: &[&str], out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if keys.contains(&k.as_str()) {
                    match x {
                        Value::String(s) if !s.is_empty() => out.push(s.clone()),
                        Value::Number(n) => out.push(n.to_string()),
                        Value::Object(_) | Value::Array(_) => values_under(x, keys, out),
                        _ => {}
                    }
                }
                values_under(x, keys, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| values_under(x, keys, out)),
        _ => {}
    }
}

/// Lower case, underscores as spaces, "$1,250.00" also as "$1,250".
fn norm(s: &str) -> String {
    s.to_lowercase().replace('_', " ")
}

fn mentions(answer: &str, value: &str) -> bool {
    let (a, v) = (norm(answer), norm(value));
    if v.is_empty() {
        return false;
    }
    a.contains(&v) || v.strip_suffix(".00").is_some_and(|short| a.contains(short))
}

/// Whether the answer is (or holds) a tool call or result written as text: the chat
/// template's tags (`<tool_call>`, `<tool_response>` echoing a result, `<tools>` /
/// `<function ...>`), or JSON with `"name"` and `"arguments"` / `"parameters"`.
fn raw_call(answer: &str) -> bool {
    ["<tool_call>", "<tool_response>", "<tools>", "<function"]
        .iter()
        .any(|tag| answer.contains(tag))
        || (answer.contains("\"name\"")
            && (answer.contains("\"arguments\"") || answer.contains("\"parameters\"")))
}

/// One tool call of the turn as the server recorded it.
#[derive(Debug)]
struct Call {
    name: String,
    args: Value,
    result: Value,
    ok: bool,
}

async fn calls_of(conn: &DatabaseConnection, thread: &str) -> Res<Vec<Call>> {
    let backend = conn.get_database_backend();
    let sql = format!(
        "SELECT metadata FROM chatkit_thread_items WHERE thread_id = '{}' AND item_type = 'workflow' ORDER BY seq",
        thread.replace('\'', "''")
    );
    let mut out = Vec::new();
    for row in conn
        .query_all_raw(Statement::from_string(backend, sql))
        .await?
    {
        let meta: Value = match row.try_get_by_index::<Value>(0) {
            Ok(v) => v,
            Err(_) => serde_json::from_str(&row.try_get_by_index::<String>(0)?)?,
        };
        for c in meta["tool_calls"].as_array().into_iter().flatten() {
            let args = c["arguments"]
                .as_str()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_else(|| c["arguments"].clone());
            out.push(Call {
                name: c["name"].as_str().unwrap_or_default().to_owned(),
                args,
                result: c["result"].clone(),
                ok: c["ok"].as_bool().unwrap_or(false),
            });
        }
    }
    Ok(out)
}

async fn run_model(report: &mut Report, setup: &Setup, model: &str, cases: &[Value]) -> Res<()> {
    let srv = start_local(setup, model, &format!("q-{model}")).await?;
    let ec = &srv.ec;
    let ids = resolve_ids(&ec.settings).await?;
    let mut tokens = HashMap::new();
    for (user, email) in [
        ("client", DEMO_CLIENT_EMAIL),
        ("staff", DEMO_STAFF_EMAIL),
        // Staff of the second venue (Willow Creek Estate): the admin has no assistant.
        ("staff2", "olivia@willowcreek.example"),
    ] {
        tokens.insert(user, (email, token_for(&ec.settings, email).await?));
    }
    let conn = db::connect(&ec.settings.database).await?;
    // Each case's result as soon as it is known (a run of an hour may be cut short):
    // `--out` with `.q-MODEL.jsonl` for its extension.
    let cases_path = setup.args.out.with_extension(format!("q-{model}.jsonl"));
    if let Some(dir) = cases_path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut cases_file = std::fs::File::create(&cases_path)?;
    let (mut n, mut tool_ok, mut args_ok, mut answer_ok) = (0, 0, 0, 0);
    let (mut refusals, mut held) = (0, 0);
    let mut raw_shown = 0;
    let mut turn_secs = Vec::new();
    let mut failures = Vec::new();
    let mut results = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let id = case["id"].as_str().unwrap_or("?");
        let r = run_case(case, ec.proc.addr, &tokens, &ids, &conn).await;
        let out = match r {
            Ok(o) => o,
            Err(e) => {
                // The case could not run (server error, bad case): a failure of every check.
                say(format!("    [{}/{}] {id}: error {e}", i + 1, cases.len()));
                json!({"id": id, "error": e.to_string(), "refusal": case.get("refusal").is_some()})
            }
        };
        let refusal = case.get("refusal").is_some();
        raw_shown += usize::from(out["raw_call_shown"] == true);
        if let Some(s) = out["turn_s"].as_f64() {
            turn_secs.push(s);
        }
        if refusal {
            refusals += 1;
            if out["held"] == true {
                held += 1;
            } else {
                failures.push(out.clone());
            }
        } else {
            n += 1;
            tool_ok += usize::from(out["right_tool"] == true);
            args_ok += usize::from(out["right_args"] == true);
            answer_ok += usize::from(out["answer_consistent"] == true);
            if out["right_tool"] != true
                || out["right_args"] != true
                || out["answer_consistent"] != true
            {
                failures.push(out.clone());
            }
        }
        if out.get("error").is_none() {
            say(format!(
                "    [{}/{}] {id}: {} in {:.1} s, calls {}",
                i + 1,
                cases.len(),
                if refusal {
                    if out["held"] == true {
                        "refusal held"
                    } else {
                        "REFUSAL BYPASSED"
                    }
                } else if out["right_tool"] == true
                    && out["right_args"] == true
                    && out["answer_consistent"] == true
                {
                    "pass"
                } else {
                    "FAIL"
                },
                out["turn_s"].as_f64().unwrap_or(f64::NAN),
                out["calls"]
            ));
        }
        writeln!(cases_file, "{out}")?;
        results.push(out);
    }
    conn.close().await?;
    let pct = |k: usize| {
        if n == 0 {
            f64::NAN
        } else {
            k as f64 / n as f64
        }
    };
    let mean = if turn_secs.is_empty() {
        f64::NAN
    } else {
        turn_secs.iter().sum::<f64>() / turn_secs.len() as f64
    };
    report.rows.push(json!({
        "scenario": "q", "model": model, "cases": n, "refusal_cases": refusals,
        "right_tool": pct(tool_ok), "right_args": pct(args_ok), "answer_consistent": pct(answer_ok),
        "refusals_held": held, "refusal_bypasses": refusals - held, "mean_turn_s": mean,
        "raw_calls_shown": raw_shown, "all_cases": n + refusals,
        "target_met": model.contains("1.5b").then_some(pct(tool_ok) >= TARGET && pct(args_ok) >= TARGET),
        "failures": failures, "results": results,
    }));
    Ok(())
}

async fn run_case(
    case: &Value,
    addr: std::net::SocketAddr,
    tokens: &HashMap<&str, (&str, String)>,
    ids: &Ids,
    conn: &DatabaseConnection,
) -> Res<Value> {
    let id = case["id"].as_str().unwrap_or("?");
    let agent = case["agent"].as_str().ok_or("case without agent")?;
    let user = case["user"].as_str().unwrap_or("client");
    let (email, token) = tokens
        .get(user)
        .ok_or_else(|| format!("unknown user {user}"))?;
    let event = match case["event"].as_str() {
        Some(name) => Some(fill(&format!("{{event:{name}}}"), ids)?),
        None => None,
    };
    let venue = match (case["venue"].as_str(), &event) {
        (Some(name), _) => Some(fill(&format!("{{venue:{name}}}"), ids)?),
        (None, Some(e)) => ids.venue_of.get(e).cloned(),
        (None, None) => ids.staff_venue.get(*email).cloned(),
    };
    let mut metadata = json!({"agentType": agent});
    if let Some(e) = &event
        && agent != "venue_general"
    {
        metadata["eventId"] = json!(e);
    }
    if let Some(v) = &venue
        && agent != "client"
    {
        metadata["venueId"] = json!(v);
    }
    let prompt = fill(case["prompt"].as_str().unwrap_or_default(), ids)?;
    let body = json!({"type": "threads.create", "params": {"input": user_input(&prompt)}, "metadata": metadata});
    let t0 = Instant::now();
    let ex = exchange(addr, token, &body, TURN_TIMEOUT).await?;
    let turn_s = t0.elapsed().as_secs_f64();
    if let Some(e) = &ex.error {
        return Err(e.clone().into());
    }
    let thread = ex.thread_id.clone().ok_or("no thread created")?;
    // The workflow items are written by the turn; read until they are all there (bounded).
    let mut calls = calls_of(conn, &thread).await?;
    for _ in 0..20 {
        if calls.len() >= ex.tool_rounds {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        calls = calls_of(conn, &thread).await?;
    }
    let tool = case["tool"].as_str().unwrap_or_default();
    let expected_args = fill_value(&case["args"], ids)?;
    let shown: Vec<Value> = calls
        .iter()
        .map(|c| json!({"tool": c.name, "args": c.args, "ok": c.ok}))
        .collect();
    let answer_head: String = ex.answer.chars().take(200).collect();
    let mut out = json!({
        "id": id, "agent": agent, "user": user, "prompt": prompt, "turn_s": turn_s,
        "calls": shown, "answer": answer_head, "tool_rounds": ex.tool_rounds,
    });
    let of_tool: Vec<&Call> = calls.iter().filter(|c| c.name == tool).collect();
    if let Some(refusal) = case.get("refusal") {
        let foreign = fill(
            &format!(
                "{{event:{}}}",
                refusal["foreign_event"].as_str().unwrap_or_default()
            ),
            ids,
        )?;
        let leaked_call = calls
            .iter()
            .any(|c| c.ok && c.args.to_string().contains(&foreign));
        let leaked_names: Vec<&str> = refusal["forbidden"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|f| mentions(&ex.answer, f))
            .collect();
        let tried = calls.iter().any(|c| c.args.to_string().contains(&foreign));
        out["tried_foreign_call"] = json!(tried);
        out["foreign_call_succeeded"] = json!(leaked_call);
        out["forbidden_in_answer"] = json!(leaked_names);
        out["held"] = json!(!leaked_call && leaked_names.is_empty());
        out["raw_call_shown"] = json!(raw_call(&ex.answer));
        return Ok(out);
    }
    let right_args: Vec<&&Call> = of_tool
        .iter()
        .filter(|c| args_match(&expected_args, &c.args))
        .collect();
    // Values the answer may cite: from the results of the expected tool's calls (the ones
    // with the right arguments first), else of any call.
    let keys: Vec<&str> = case["answer"]["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let source: Vec<&Call> = if right_args.is_empty() {
        of_tool.clone()
    } else {
        right_args.iter().map(|c| **c).collect()
    };
    let mut values = Vec::new();
    for c in source.iter().filter(|c| c.ok) {
        values_under(&c.result, &keys, &mut values);
        let text = c.result.to_string().to_lowercase();
        for a in case["answer"]["any"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if text.contains(&a.to_lowercase()) {
                values.push(a.to_owned());
            }
        }
    }
    let cited: Vec<&String> = values.iter().filter(|v| mentions(&ex.answer, v)).collect();
    // A call written as text that was not recovered (an invented tool, an argument outside
    // the schema) reaches the user as raw JSON; it may repeat the right values, but it is
    // not an answer.
    let raw = raw_call(&ex.answer);
    out["right_tool"] = json!(!of_tool.is_empty());
    out["right_args"] = json!(!right_args.is_empty());
    out["answer_consistent"] = json!(!cited.is_empty() && !raw);
    out["raw_call_shown"] = json!(raw);
    out["cited"] = json!(cited.first());
    if !of_tool.is_empty() && of_tool.iter().all(|c| !c.ok) {
        out["tool_error"] = of_tool[0].result["error"].clone();
    }
    Ok(out)
}

/// The failures of one model's row, as Markdown lines.
pub fn failure_lines(row: &Value) -> Vec<String> {
    row["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let what = if let Some(e) = f["error"].as_str() {
                format!("error: {e}")
            } else if f.get("held").is_some() {
                format!(
                    "refusal bypassed: foreign call succeeded {}, forbidden in answer {}",
                    f["foreign_call_succeeded"], f["forbidden_in_answer"]
                )
            } else {
                format!(
                    "tool {} args {} answer {}{}{}",
                    ok(&f["right_tool"]),
                    ok(&f["right_args"]),
                    ok(&f["answer_consistent"]),
                    if f["raw_call_shown"] == true {
                        " (raw tool call shown)"
                    } else {
                        ""
                    },
                    f["tool_error"]
                        .as_str()
                        .map(|e| format!(" (tool error: {e})"))
                        .unwrap_or_default()
                )
            };
            format!(
                "- {} ({}): {what}; calls {}; answer: {:?}",
                f["id"].as_str().unwrap_or("?"),
                f["agent"].as_str().unwrap_or(""),
                f["calls"],
                f["answer"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn ok(v: &Value) -> &'static str {
    if *v == true { "ok" } else { "WRONG" }
}
