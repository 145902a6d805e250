//! Scenario (f): the turn lifecycle (issue #15). Two figures:
//! - **cancel latency**: a client starts a turn whose reply streams slowly, reads until the
//!   first text delta and closes its connection (the widget's Stop); the time from that close
//!   to the moment the mock model sees the server close the model request (`closed_early`,
//!   the same clock: the mock runs in this process). N turns one after another.
//! - **replay cost per event**: a `continue` turn of many deltas runs to its end; its events are
//!   then read back whole with `POST .../turns/{id}/events {"after":0}`; the time of that
//!   read divided by the events it returned (and the same for the live stream beside it).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mock_llm::{MockLlm, Reply};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Res;
use crate::http::{find, http};
use crate::load::user_input;
use crate::report::Report;
use crate::say;
use crate::servers::{Persona, Setup, start_eventchat};
use crate::stats::dist;

/// Sends a streaming request on a raw connection and reads until `needle` shows; returns the
/// connection (still open) and the turn id from the response head.
async fn open_until(
    addr: SocketAddr,
    persona: &Persona,
    body: &str,
    headers: &str,
    needle: &[u8],
) -> Res<(TcpStream, String, Vec<u8>)> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let req = format!(
        "POST /api/chatkit HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{headers}\r\n{body}",
        persona.token,
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = Instant::now() + Duration::from_secs(30);
    while find(&seen, needle).is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, s.read(&mut buf)).await??;
        if n == 0 {
            return Err("the stream ended early".into());
        }
        seen.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&seen).to_lowercase();
    let turn_id = head
        .lines()
        .find_map(|l| l.strip_prefix("x-eventchat-turn: "))
        .map(|v| v.trim().to_owned())
        .ok_or("no x-eventchat-turn header")?;
    Ok((s, turn_id, seen))
}

fn create_body(persona: &Persona, text: &str) -> String {
    json!({"type": "threads.create", "params": {"input": user_input(text)}, "metadata": persona.metadata}).to_string()
}

pub async fn scenario_lifecycle(report: &mut Report, setup: &Setup, mock: &MockLlm) -> Res<()> {
    mock.clear_responder();
    let file = setup.work.join("eventchat-f.sqlite3");
    let ec = start_eventchat(setup, &format!("sqlite://{}?mode=rwc", file.display()), "f").await?;
    let addr = ec.proc.addr;
    let persona = ec.personas.first().ok_or("no persona")?.clone();
    // Cancel latency.
    let n = setup.args.lifecycle_turns;
    let mut latency = Vec::new();
    for i in 0..n {
        let index = mock.request_count();
        mock.push(
            Reply::text(["First ", "second ", "third ", "fourth ", "fifth"])
                .token_delay(Duration::from_millis(200)),
        );
        let body = create_body(&persona, &format!("cancel {i}"));
        let (s, _, _) = open_until(addr, &persona, &body, "", b"\"delta\":\"First \"").await?;
        drop(s);
        let dropped = Instant::now();
        let deadline = dropped + Duration::from_secs(5);
        loop {
            if let Some((_, at)) = mock.closed_early().iter().find(|(j, _)| *j == index) {
                latency.push(at.saturating_duration_since(dropped).as_micros() as u64);
                break;
            }
            if Instant::now() > deadline {
                report.note(format!(
                    "f: turn {i}: the model request was not closed within 5 s"
                ));
                break;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    // Replay cost per event: a long turn read live, then replayed whole.
    let deltas = setup.args.lifecycle_deltas;
    let pieces: Vec<String> = (0..deltas).map(|k| format!("w{k} ")).collect();
    mock.push(Reply::text(pieces));
    let body = create_body(&persona, "a long answer");
    let t0 = Instant::now();
    let (mut s, turn_id, mut live) = open_until(
        addr,
        &persona,
        &body,
        "x-eventchat-on-disconnect: continue\r\n",
        b"thread.item.done",
    )
    .await?;
    // Read the live stream to the end of the answer (the last `done` is the assistant's).
    let mut buf = [0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(60);
    while live
        .windows(16)
        .filter(|w| w == b"thread.item.done")
        .count()
        < 2
        && Instant::now() < deadline
    {
        let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf)).await??;
        if n == 0 {
            break;
        }
        live.extend_from_slice(&buf[..n]);
    }
    let live_us = t0.elapsed().as_micros() as u64;
    drop(s);
    let live_events = live.windows(6).filter(|w| w == b": seq=").count().max(1);
    let path = format!("/api/chatkit/turns/{turn_id}/events");
    // An SSE body is handed out frame by frame (see `http.rs`): count the numbered ones.
    let mut replay_events = 0usize;
    let t1 = Instant::now();
    let replay = http(
        addr,
        "POST",
        &path,
        Some(&persona.token),
        Some(br#"{"after":0}"#),
        |frame| {
            if frame.starts_with(b": seq=") {
                replay_events += 1;
            }
        },
    )
    .await?;
    let replay_us = t1.elapsed().as_micros() as u64;
    let replay_events = replay_events.max(1);
    let row = json!({
        "scenario": "f", "server": "eventchat", "db": "sqlite",
        "cancel_turns": latency.len(),
        "cancel_latency_ms": dist(latency.iter().copied()),
        "replay_status": replay.status,
        "replay_events": replay_events,
        "replay_us_per_event": replay_us as f64 / replay_events as f64,
        "live_events": live_events,
        "live_us_per_event": live_us as f64 / live_events as f64,
    });
    say(format!(
        "  f eventchat: drop -> model request closed p50 {:.2} ms p99 {:.2} ms max {:.2} ms (n={}); replay {:.1} us/event over {} events (live stream {:.1} us/event)",
        row["cancel_latency_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        row["cancel_latency_ms"]["p99"].as_f64().unwrap_or(f64::NAN),
        row["cancel_latency_ms"]["max"].as_f64().unwrap_or(f64::NAN),
        latency.len(),
        row["replay_us_per_event"].as_f64().unwrap_or(f64::NAN),
        replay_events,
        row["live_us_per_event"].as_f64().unwrap_or(f64::NAN),
    ));
    report.rows.push(row);
    Ok(())
}
