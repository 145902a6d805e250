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
    for n in &report.notes {
        let _ = writeln!(s, "\nnote: {n}");
    }
    s
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
