//! Results: the rows and notes collected by the scenarios, the Markdown table printed at the
//! end, and a description of the machine for the JSON file.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::say;

#[derive(Default)]
pub struct Report {
    pub rows: Vec<Value>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn note(&mut self, s: impl Into<String>) {
        let s = s.into();
        say(format!("  note: {s}"));
        self.notes.push(s);
    }
}

fn f(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.is_finite() => {
            if x >= 100.0 {
                format!("{x:.0}")
            } else if x >= 10.0 {
                format!("{x:.1}")
            } else {
                format!("{x:.2}")
            }
        }
        _ => "-".into(),
    }
}

fn d4(v: &Value) -> String {
    format!(
        "{} / {} / {} / {}",
        f(&v["p50"]),
        f(&v["p90"]),
        f(&v["p99"]),
        f(&v["max"])
    )
}

pub fn table(report: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| scen. | server | db | V | turns ok/planned | errors | turns/s | % of ideal | first event ms p50/p90/p99/max | first text delta ms p50/p90/p99/max | full turn ms p50/p90/p99/max | server ms p50/p90/p99/max (V=1) | server CPU s | bench CPU s loadgen/mock | peak RSS MiB |"
    );
    let _ = writeln!(
        s,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in report.rows.iter().filter(|r| r.get("users").is_some()) {
        let ideal = r["ideal"]["fraction_of_ideal"]
            .as_f64()
            .map(|x| format!("{:.1}%", x * 100.0))
            .unwrap_or_else(|| "-".into());
        let server_ms = if r["server_ms"].is_object() {
            d4(&r["server_ms"])
        } else {
            "-".into()
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {}/{} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} |",
            r["scenario"].as_str().unwrap_or(""),
            r["server"].as_str().unwrap_or(""),
            r["db"].as_str().unwrap_or(""),
            r["users"],
            r["turns_ok"],
            r["turns_planned"],
            r["errors"],
            f(&r["turns_per_s"]),
            ideal,
            d4(&r["ttfe_ms"]),
            d4(&r["ttft_ms"]),
            d4(&r["turn_ms"]),
            server_ms,
            f(&r["server_cpu_s"]),
            f(&r["loadgen_cpu_s"]),
            f(&r["mock_cpu_s"]),
            f(&r["server_peak_rss_mib"]),
        );
    }
    // Ratios eventchat / reference for the same scenario and V.
    for r in report.rows.iter().filter(|r| r["server"] == "reference") {
        if let Some(e) = report.rows.iter().find(|e| {
            e["server"] == "eventchat"
                && e["db"] == "sqlite"
                && e["scenario"] == r["scenario"]
                && e["users"] == r["users"]
        }) {
            let ratio = e["turns_per_s"].as_f64().unwrap_or(f64::NAN)
                / r["turns_per_s"].as_f64().unwrap_or(f64::NAN);
            let _ = writeln!(
                s,
                "\n({}) V={}: eventchat / reference turns/s = {ratio:.1}x",
                r["scenario"].as_str().unwrap_or(""),
                r["users"]
            );
        }
    }
    for r in report.rows.iter().filter(|r| r["scenario"] == "c") {
        let _ = writeln!(
            s,
            "\n(c) {} idle live threads held (target {}): {} KiB per thread by RSS ({} -> {} MiB), {} KiB per thread by RssAnon ({} -> {} MiB; created at {} turns/s, {} errors)",
            r["live_threads"],
            r["target_live_threads"],
            f(&r["kib_per_live_thread"]),
            f(&r["rss_before_mib"]),
            f(&r["rss_after_mib"]),
            f(&r["kib_per_live_thread_anon"]),
            f(&r["rss_anon_before_mib"]),
            f(&r["rss_anon_after_mib"]),
            f(&r["create_turns_per_s"]),
            r["create_errors"],
        );
    }
    for r in report.rows.iter().filter(|r| r["scenario"] == "d") {
        let _ = writeln!(
            s,
            "\n(d) cold start, {} threads of 200 stored items: first event ms p50/p90/p99/max {} (warm {}); full turn {} (warm {})",
            r["threads"],
            d4(&r["cold_ttfe_ms"]),
            d4(&r["warm_ttfe_ms"]),
            d4(&r["cold_turn_ms"]),
            d4(&r["warm_turn_ms"]),
        );
    }
    model_tables(report, &mut s);
    for n in &report.notes {
        let _ = writeln!(s, "\nnote: {n}");
    }
    s
}

fn met(v: &Value) -> &'static str {
    match v.as_bool() {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "-",
    }
}

fn pct(v: &Value) -> String {
    v.as_f64()
        .filter(|x| x.is_finite())
        .map_or_else(|| "-".into(), |x| format!("{:.0}%", x * 100.0))
}

/// Scenarios (m) and (q): one row per model.
fn model_tables(report: &Report, s: &mut String) {
    let m: Vec<&Value> = report
        .rows
        .iter()
        .filter(|r| r["scenario"] == "m")
        .collect();
    if !m.is_empty() {
        let _ = writeln!(
            s,
            "\n(m) local model | load ms | pp tok/s | tg tok/s | llama-bench pp / tg tok/s | tg vs llama-bench | llama-bench tg at depth (tokens): tok/s, tg vs it | turn 1 first event / first token s | turn 2 first event / first token s | turn 2 prompt tokens (reused / evaluated) | peak RSS MiB (anon) |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|");
        for r in &m {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} / {} | {} | {}: {}, {} | {} / {} | {} / {} | {} ({} / {}) | {} ({}) |",
                r["model"].as_str().unwrap_or(""),
                r["load_ms"],
                f(&r["pp_tokens_per_s"]),
                f(&r["tg_tokens_per_s"]),
                f(&r["llama_bench_pp"]),
                f(&r["llama_bench_tg"]),
                pct(&r["tg_vs_llama_bench"]),
                f(&r["llama_bench_tg_depth"]),
                f(&r["llama_bench_tg_at_context"]),
                pct(&r["tg_vs_llama_bench_at_context"]),
                f(&r["ttfe1_s"]),
                f(&r["ttft1_s"]),
                f(&r["ttfe2_s"]),
                f(&r["ttft2_s"]),
                f(&r["context_tokens"]),
                f(&r["context_reused"]),
                f(&r["context_evaluated"]),
                f(&r["peak_rss_mib"]),
                f(&r["rss_anon_mib"]),
            );
        }
        let _ = writeln!(
            s,
            "\n(m) throughput | concurrent threads | turns ok/planned | errors | wall s | turns/s | generated tok/s | mean queue wait s |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
        for r in &m {
            for t in r["throughput"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    s,
                    "| {} | {} | {}/{} | {} | {} | {:.3} | {} | {} |",
                    r["model"].as_str().unwrap_or(""),
                    t["concurrency"],
                    t["turns_ok"],
                    t["turns_planned"],
                    t["errors"],
                    f(&t["wall_s"]),
                    t["turns_per_s"].as_f64().unwrap_or(f64::NAN),
                    f(&t["generated_tokens_per_s"]),
                    f(&t["mean_queue_wait_s"]),
                );
            }
        }
        for r in &m {
            let _ = writeln!(
                s,
                "\n(m) {} targets: second-turn TTFT < 1.5 s (0.5B): {}; generation >= 90% of llama-bench tg at the depth nearest the context: {}",
                r["model"].as_str().unwrap_or(""),
                met(&r["target_ttft2_met"]),
                met(&r["target_tg_met"]),
            );
        }
    }
    let q: Vec<&Value> = report
        .rows
        .iter()
        .filter(|r| r["scenario"] == "q")
        .collect();
    if !q.is_empty() {
        let _ = writeln!(
            s,
            "\n(q) local model | cases | right tool | right arguments | answer consistent with the tool result | refusals held | raw tool calls shown (all cases) | mean turn s | target (1.5B: >= 80% tool and arguments) |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
        for r in &q {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} of {} (refusal bypass: {} of {}) | {} of {} | {} | {} |",
                r["model"].as_str().unwrap_or(""),
                r["cases"],
                pct(&r["right_tool"]),
                pct(&r["right_args"]),
                pct(&r["answer_consistent"]),
                r["refusals_held"],
                r["refusal_cases"],
                r["refusal_bypasses"],
                r["refusal_cases"],
                r["raw_calls_shown"],
                r["all_cases"],
                f(&r["mean_turn_s"]),
                met(&r["target_met"]),
            );
        }
        for r in &q {
            let _ = writeln!(
                s,
                "\n(q) {} failed cases:",
                r["model"].as_str().unwrap_or("")
            );
            for line in crate::scenarios::failure_lines(r) {
                let _ = writeln!(s, "{line}");
            }
        }
    }
}

pub fn machine() -> Value {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default();
    json!({"cores": cores, "ram_gib": mem_kib as f64 / 1024.0 / 1024.0, "cpu": cpu})
}
