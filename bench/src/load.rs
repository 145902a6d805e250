//! The load generator: V simulated users speaking the ChatKit protocol, each creating a thread
//! and sending more messages, reading every SSE stream to the end and timing the first event,
//! the first text delta and the whole turn. Each turn keeps its start and end instants so the
//! mock LLM's service intervals (same process, same clock) can be subtracted from it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::http::{Conn, find};
use crate::servers::Persona;

#[derive(Clone, Copy)]
pub struct Target {
    pub addr: SocketAddr,
    /// The reference has no auth and no metadata rules; eventchat needs both.
    pub eventchat: bool,
    /// Reuse each user's connection from turn to turn.
    pub keep_alive: bool,
}

#[derive(Clone, Debug)]
pub struct Turn {
    /// Just before connecting, and when the stream ended (or failed, or timed out).
    pub start: Instant,
    pub end: Instant,
    pub ok: bool,
    pub error: Option<String>,
    pub ttfe_us: Option<u64>,
    pub ttft_us: Option<u64>,
    pub full_us: u64,
}

pub fn user_input(text: &str) -> Value {
    json!({"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}})
}

/// One streaming request; returns the turn and, for `threads.create`, the new thread id.
pub async fn turn(
    conn: &mut Conn,
    target: Target,
    persona: &Persona,
    thread: Option<&str>,
    text: &str,
    timeout: Duration,
) -> (Turn, Option<String>) {
    let body = match thread {
        None => {
            json!({"type": "threads.create", "params": {"input": user_input(text)}, "metadata": persona.metadata})
        }
        Some(id) => {
            json!({"type": "threads.add_user_message", "params": {"thread_id": id, "input": user_input(text)}})
        }
    };
    let body = body.to_string();
    let t0 = Instant::now();
    let mut t = Turn {
        start: t0,
        end: t0,
        ok: false,
        error: None,
        ttfe_us: None,
        ttft_us: None,
        full_us: 0,
    };
    let mut thread_id = None;
    let mut saw_delta = false;
    let mut saw_done = false;
    let mut error: Option<String> = None;
    let token = target.eventchat.then_some(persona.token.as_str());
    let fut = conn.request(
        "POST",
        "/api/chatkit",
        token,
        Some(body.as_bytes()),
        |frame| {
            let Some(data) = frame.split(|b| *b == b'\n').find_map(|l| {
                l.strip_prefix(b"data: ")
                    .or_else(|| l.strip_prefix(b"data:"))
            }) else {
                return;
            };
            let us = t0.elapsed().as_micros() as u64;
            if t.ttfe_us.is_none() {
                t.ttfe_us = Some(us);
            }
            if !saw_delta && find(data, b"content_part.text_delta").is_some() {
                saw_delta = true;
                t.ttft_us = Some(us);
            }
            // Cheap tests first: this runs for every frame of every stream.
            if thread_id.is_none()
                && find(data, b"\"type\":\"thread.created\"").is_some()
                && let Ok(v) = serde_json::from_slice::<Value>(data)
            {
                thread_id = v["thread"]["id"].as_str().map(str::to_owned);
            }
            if data.starts_with(b"{\"type\":\"error\"") {
                error = Some(String::from_utf8_lossy(data).chars().take(200).collect());
            }
            if data.starts_with(b"{\"type\":\"thread.item.done\"")
                && find(data, b"\"type\":\"assistant_message\"").is_some()
            {
                saw_done = true;
            }
        },
    );
    let res = tokio::time::timeout(timeout, fut).await;
    t.end = Instant::now();
    t.full_us = t.end.duration_since(t0).as_micros() as u64;
    match res {
        Err(_) => t.error = Some("timeout".into()),
        Ok(Err(e)) => t.error = Some(format!("transport: {e}")),
        Ok(Ok(r)) if r.status != 200 => {
            t.error = Some(format!(
                "HTTP {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ))
        }
        Ok(Ok(_)) => {
            if let Some(e) = error {
                t.error = Some(e);
            } else if !saw_delta || !saw_done {
                t.error = Some("stream ended without an assistant message".into());
            } else {
                t.ok = true;
            }
        }
    }
    (t, thread_id)
}

pub struct LoadOut {
    pub turns: Vec<Turn>,
    pub wall: Duration,
    pub threads: Vec<(usize, String)>,
}

/// V users; each creates a thread (turn 1) and sends `m - 1` more messages, reading every
/// stream to the end. Stops at `deadline` whatever is left.
pub async fn load(
    target: Target,
    personas: &[Persona],
    v: usize,
    m: usize,
    max: Duration,
) -> LoadOut {
    let personas = Arc::new(personas.to_vec());
    let start = Instant::now();
    let deadline = start + max;
    let per_turn = max.min(Duration::from_secs(120));
    let mut tasks = Vec::with_capacity(v);
    for u in 0..v {
        let personas = personas.clone();
        tasks.push(tokio::spawn(async move {
            let persona = &personas[u % personas.len()];
            let mut out = Vec::with_capacity(m);
            let mut thread: Option<String> = None;
            let mut conn = Conn::new(target.addr, target.keep_alive);
            for i in 0..m {
                if Instant::now() > deadline {
                    break;
                }
                let text = format!("bench user {u} message {i}: what is left to plan?");
                let (t, created) = turn(
                    &mut conn,
                    target,
                    persona,
                    thread.as_deref(),
                    &text,
                    per_turn,
                )
                .await;
                if thread.is_none() {
                    thread = created;
                }
                let failed_create = thread.is_none();
                out.push(t);
                if failed_create {
                    break;
                }
            }
            (out, thread.map(|t| (u, t)))
        }));
    }
    let mut turns = Vec::new();
    let mut threads = Vec::new();
    for t in tasks {
        if let Ok((ts, th)) = t.await {
            turns.extend(ts);
            threads.extend(th);
        }
    }
    LoadOut {
        turns,
        wall: start.elapsed(),
        threads,
    }
}
