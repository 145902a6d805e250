//! The browser tests: the pages in headless Chromium, driven by Playwright (`tests/ui/`).
//!
//! One test: it starts the mock LLM with a rule-based responder (below), a real eventchat on
//! a loopback port 0 (SQLite in a temp dir, demo seed, dev sign-in on, the mock as its model,
//! the test limits), then runs `node tests/ui/run.mjs` with the base URL and the scripted
//! replies in its environment, bounded by `UI_TIMEOUT` (then the script is stopped by pid:
//! SIGTERM, which lets Playwright close Chromium, then SIGKILL). The test fails with the
//! script's output when any scenario fails. Screenshots go to `target/ui/<scenario>.png`,
//! the script's output to `target/ui/run.log`.
//!
//! Its own test binary (like `tests/lifecycle.rs`), so the browser run is one process that
//! does not compete with the API tests' threads. It needs `/usr/bin/chromium` and
//! `tests/ui/node_modules`; without them it fails with the command that installs them
//! (`scripts/ensure-browser`), never skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use eventchat::config::Settings;
use eventchat::startup::Application;
use eventchat::store::seed;
use mock_llm::{MockLlm, MockToolCall, Reply};
use serde_json::{Value, json};

/// The whole browser run, all scenarios.
const UI_TIMEOUT: Duration = Duration::from_secs(300);
const CHROMIUM: &str = "/usr/bin/chromium";

/// The replies the mock model streams, by rule; the scenarios get them too, so that they
/// compare what the page shows with what was sent.
struct Script {
    /// "slow": 80 deltas, 40 ms apart (Stop, the network drop, reload).
    slow: Vec<String>,
    /// After a tool round.
    after_guests: Vec<String>,
    after_change: Vec<String>,
    /// "markdown": formatting, and text that must stay text.
    markdown: Vec<String>,
}

impl Script {
    fn new() -> Script {
        Script {
            slow: (0..80).map(|i| format!("word{i} ")).collect(),
            after_guests: pieces(&[
                "You have ",
                "12 guests ",
                "on the list; ",
                "8 are attending.",
            ]),
            after_change: pieces(&[
                "I sent ",
                "your change request ",
                "to the venue; ",
                "staff will review it.",
            ]),
            markdown: pieces(&[
                "**Bold** and *italic* and `code`.\n\n",
                "- first item\n- second item\n\n",
                "1. one\n2. two\n\n",
                "<img src=x onerror=\"window.__xss=1\"> <script>window.__xss=2</script>\n\n",
                "[a safe link](https://example.com/x) and [a bad one](javascript:window.__xss=3)",
            ]),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "slow": self.slow.concat(),
            "after_guests": self.after_guests.concat(),
            "after_change": self.after_change.concat(),
            "markdown": self.markdown.concat(),
            "echo_prefix": "You said ",
        })
    }
}

fn pieces(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| (*s).to_owned()).collect()
}

/// The text of the last message the user wrote (hidden context notes are user messages too).
fn last_user_text(messages: &[Value]) -> String {
    messages
        .iter()
        .rev()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| match &m["content"] {
            Value::String(s) => Some(s.clone()),
            Value::Array(parts) => Some(
                parts
                    .iter()
                    .filter_map(|p| p["text"].as_str())
                    .collect::<Vec<_>>()
                    .join(""),
            ),
            _ => None,
        })
        .find(|t| !t.contains("<HiddenContext>"))
        .map(|t| {
            // An attachment is a line "[attached file: ...]" after the text (protocol §9).
            t.lines()
                .filter(|l| !l.starts_with("[attached file:"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// The thread's event: eventchat's system prompt names it as "(id ...)".
fn event_of(messages: &[Value], fallback: &str) -> String {
    messages
        .iter()
        .find(|m| m["role"] == "system")
        .and_then(|m| m["content"].as_str())
        .and_then(|s| s.split("(id ").nth(1))
        .and_then(|s| s.split(')').next())
        .map_or_else(|| fallback.to_owned(), str::to_owned)
}

/// The rules: the reply depends on the last user message ("what changed" before "change";
/// "flaky" fails the first time) and on whether the request carries a tool result, which is
/// the second request of a tool round.
fn responder(script: Script, event_id: String) -> impl Fn(&Value) -> Option<Reply> + Send + Sync {
    let flaky = AtomicUsize::new(0);
    move |request: &Value| {
        let messages = request["messages"].as_array()?;
        let text = last_user_text(messages).to_lowercase();
        let delay = Duration::from_millis(15);
        if messages.last().is_some_and(|m| m["role"] == "tool") {
            let answer = if text.contains("change") {
                &script.after_change
            } else {
                &script.after_guests
            };
            // Slow enough that the page shows it in several steps.
            return Some(Reply::text(answer.clone()).token_delay(Duration::from_millis(80)));
        }
        let event = event_of(messages, &event_id);
        if text.contains("what changed") {
            // What the thread was told outside its turns: the newest hidden note (e.g. the
            // venue's review of a change request, from the domain bus).
            let note = messages
                .iter()
                .rev()
                .filter_map(|m| m["content"].as_str())
                .find(|t| t.contains("<HiddenContext>"))
                .map_or("nothing".to_owned(), |t| {
                    t.replace("<HiddenContext>", "")
                        .replace("</HiddenContext>", "")
                        .trim()
                        .to_owned()
                });
            return Some(Reply::text(vec!["Latest update: ".to_owned(), note]).token_delay(delay));
        }
        if text.contains("slow") {
            return Some(Reply::text(script.slow.clone()).token_delay(Duration::from_millis(40)));
        }
        if text.contains("guests") {
            let call = MockToolCall::new("call_guests", "viewGuestList", json!({"eventId": event}));
            return Some(
                Reply::tool_calls(vec![call]).first_token_delay(Duration::from_millis(300)),
            );
        }
        if text.contains("change") {
            let call = MockToolCall::new(
                "call_change",
                "requestElementChange",
                json!({"eventId": event, "requestType": "add",
                       "description": "Add a chocolate fountain for the reception"}),
            );
            return Some(
                Reply::tool_calls(vec![call]).first_token_delay(Duration::from_millis(300)),
            );
        }
        if text.contains("flaky") && flaky.fetch_add(1, Ordering::SeqCst) == 0 {
            // The first time only: some text, then the model fails mid-reply.
            return Some(
                Reply::text(pieces(&["Let me ", "think ", "about ", "that"]))
                    .token_delay(delay)
                    .error_after(3, "the mock model failed on purpose"),
            );
        }
        if text.contains("markdown") {
            return Some(Reply::text(script.markdown.clone()).token_delay(delay));
        }
        let word = text
            .split_whitespace()
            .last()
            .unwrap_or("nothing")
            .trim_matches(|c: char| !c.is_alphanumeric());
        Some(
            Reply::text(vec![
                "You said ".to_owned(),
                format!("\"{word}\". "),
                "Happy ".to_owned(),
                "to help!".to_owned(),
            ])
            .token_delay(delay),
        )
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"))
        .join("ui")
}

/// Fails with the command to run when the browser or the driver is missing.
fn check_prerequisites(ui_dir: &Path) {
    let fix = "run `scripts/ensure-browser` (installs Debian's chromium and `npm ci` in tests/ui)";
    assert!(Path::new(CHROMIUM).exists(), "{CHROMIUM} is missing: {fix}");
    assert!(
        ui_dir
            .join("node_modules/playwright-core/package.json")
            .exists(),
        "tests/ui/node_modules is missing or incomplete: {fix}"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node is not on PATH ({node:?}): install Node.js 20 or later"
    );
}

fn settings(dir: &Path, mock: &MockLlm) -> Settings {
    let vars: HashMap<String, String> = [
        (
            "EVENTCHAT_DATABASE__URL",
            format!("sqlite://{}?mode=rwc", dir.join("ui.db").display()),
        ),
        (
            "EVENTCHAT_SERVER__DATA_DIR",
            dir.join("data").display().to_string(),
        ),
        ("EVENTCHAT_SERVER__HOST", "127.0.0.1".to_owned()),
        ("EVENTCHAT_LLM__BASE_URL", mock.base_url()),
        ("EVENTCHAT_AUTH__DEV_LOGIN", "true".to_owned()),
        ("EVENTCHAT_UI__CHAT", "builtin".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Settings::load_from(&repo().join("config"), "test", &vars).unwrap()
}

/// Reads a child's pipe to the end on its own thread.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = pipe.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
}

#[actix_web::test]
async fn browser_scenarios() {
    let ui_dir = repo().join("tests/ui");
    check_prerequisites(&ui_dir);

    let event_id = seed::demo_id(seed::table::EVENT, 1);
    let mock = MockLlm::start();
    mock.set_recording(false);
    mock.set_responder(responder(Script::new(), event_id.clone()));

    let dir = tempfile::tempdir().unwrap();
    let app = Application::build(settings(dir.path(), &mock))
        .await
        .unwrap();
    let port = app.port();
    let handle = app.server_handle().unwrap();
    let state = app.state().clone();
    let serving = actix_web::rt::spawn(app.run_until_stopped());
    seed::seed_demo(&state.stores.db, chrono::Utc::now().date_naive())
        .await
        .unwrap();

    let shots = screenshot_dir();
    std::fs::create_dir_all(&shots).unwrap();
    let data = json!({
        "client_email": seed::DEMO_CLIENT_EMAIL,
        "staff_email": seed::DEMO_STAFF_EMAIL,
        "admin_email": seed::DEMO_ADMIN_EMAIL,
        "event_id": event_id,
        "event_id_2": seed::demo_id(seed::table::EVENT, 2),
        "venue_id": seed::demo_id(seed::table::VENUE, 1),
        "script": Script::new().to_json(),
    });
    let mut child = Command::new("node")
        .arg("run.mjs")
        .args(std::env::var("EVENTCHAT_UI_ONLY").ok()) // one scenario group, while working on it
        .current_dir(&ui_dir)
        .env("EVENTCHAT_UI_BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("EVENTCHAT_UI_SHOTS", &shots)
        .env("EVENTCHAT_UI_CHROMIUM", CHROMIUM)
        .env("EVENTCHAT_UI_DATA", data.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > UI_TIMEOUT {
            // SIGTERM first: Playwright closes its Chromium on it; SIGKILL if it lingers.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let grace = Instant::now();
            while child.try_wait().unwrap().is_none() && grace.elapsed() < Duration::from_secs(5) {
                actix_web::rt::time::sleep(Duration::from_millis(100)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    };
    let out = stdout.join().unwrap_or_default();
    let err = stderr.join().unwrap_or_default();
    handle.stop(true).await;
    let _ = serving.await;

    let report = format!("--- stdout ---\n{out}\n--- stderr ---\n{err}");
    std::fs::write(shots.join("run.log"), &report).unwrap();
    match status {
        None => panic!(
            "the browser run took longer than {}s and was stopped\n{report}",
            UI_TIMEOUT.as_secs()
        ),
        Some(s) if !s.success() => panic!("browser scenarios failed ({s})\n{report}"),
        Some(_) => {}
    }
    assert!(
        out.contains(" passed, 0 failed"),
        "the browser run printed no summary\n{report}"
    );
}
