//! The model-fault table (#20 item 8): every way the hosted model can fail, put on the wire by
//! the mock LLM (or by an address that refuses, hangs or does not resolve), through the real
//! server and turn pipeline, must end the turn with exactly the `error` event that
//! docs/protocol.md §10.3 gives for it. The document is the expectation, parsed here, so the
//! table and the behaviour cannot drift; a row nobody drives, or a mode with no row, fails.
//!
//! Every fault is answered on every attempt (the mock's fallback), so what is checked is
//! what the user sees after the server's own retries. Faults after text also keep the
//! streamed part: the finished assistant message comes before the error.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eventchat::store::seed::DEMO_CLIENT_EMAIL;
use mock_llm::{MockLlm, MockToolCall, Reply};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

/// The text of every reply that breaks off mid-answer; cut after 3 data lines (the role
/// chunk, "w0 ", "w1 "), the user keeps [`PARTIAL`].
const WORDS: [&str; 4] = ["w0 ", "w1 ", "w2 ", "w3 "];
const PARTIAL: &str = "w0 w1 ";

/// Rows of §10.3 not driven here: the local model's (src/llm/fault.rs checks them) and two
/// that never reach a turn through HTTP.
fn checked_elsewhere(mode: &str) -> bool {
    mode.starts_with("local-") || mode == "misconfigured" || mode == "invalid-request"
}

/// docs/protocol.md §10.3: mode -> (message, allow_retry).
fn table() -> BTreeMap<String, (String, bool)> {
    let doc = include_str!("../../docs/protocol.md");
    let section = doc
        .split("### 10.3 Model faults")
        .nth(1)
        .expect("docs/protocol.md has §10.3");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut rows = BTreeMap::new();
    for line in section.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, mode, _what, message, flag, _] = cells[..] else {
            continue;
        };
        let Some(mode) = mode.strip_prefix('`').and_then(|m| m.strip_suffix('`')) else {
            continue;
        };
        let flag = match flag {
            "true" => true,
            "false" => false,
            other => panic!("row {mode}: allow_retry {other:?}"),
        };
        let previous = rows.insert(mode.to_owned(), (message.to_owned(), flag));
        assert!(previous.is_none(), "two rows for {mode}");
    }
    assert!(rows.len() > 30, "the table was not found: {rows:?}");
    rows
}

/// The message and `allow_retry` of `mode`'s row.
pub(crate) fn row(mode: &str) -> (String, bool) {
    table()
        .remove(mode)
        .unwrap_or_else(|| panic!("docs/protocol.md §10.3 has no row {mode}"))
}

/// How a mode is produced.
enum Setup {
    /// The mock answers every request (every retry) with this.
    Mock(Reply),
    /// Like `Mock`, on the application whose turns may take 2 s.
    MockSlowTurn(Reply),
    /// The model is at an address that is not the mock.
    Address(Unreachable),
    /// No model configured at all.
    NoModel,
}

#[derive(Clone, Copy)]
enum Unreachable {
    Refused,
    ConnectTimeout,
    Dns,
}

fn html(title: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>\n"
    )
}

fn setup(mode: &str) -> Setup {
    use Setup::{Address, Mock, MockSlowTurn};
    let words = || Reply::text(WORDS);
    match mode {
        "not-configured" => Setup::NoModel,
        "refused" => Address(Unreachable::Refused),
        "connect-timeout" => Address(Unreachable::ConnectTimeout),
        "dns" => Address(Unreachable::Dns),
        "401" => Mock(Reply::http_error(
            401,
            "Incorrect API key provided: sk-secret",
        )),
        "403" => Mock(Reply::http_error(
            403,
            "Project does not have access to model",
        )),
        "404" => Mock(Reply::api_error(
            404,
            "invalid_request_error",
            Some("model_not_found"),
            "The model `gpt-nope` does not exist",
        )),
        "404-html" => Mock(Reply::raw(404, "text/html", html("404 Not Found"))),
        "400" => Mock(Reply::http_error(400, "Invalid schema for function 'x'")),
        "400-context" => Mock(Reply::api_error(
            400,
            "invalid_request_error",
            Some("context_length_exceeded"),
            "This model's maximum context length is 128000 tokens.",
        )),
        "413" => Mock(Reply::raw(
            413,
            "text/html",
            html("413 Request Entity Too Large"),
        )),
        "429-retry-after" => Mock(Reply::rate_limited(1)),
        "429" => Mock(Reply::api_error(
            429,
            "requests",
            Some("rate_limit_exceeded"),
            "Rate limit reached for requests",
        )),
        "429-quota" => Mock(Reply::api_error(
            429,
            "insufficient_quota",
            Some("insufficient_quota"),
            "You exceeded your current quota",
        )),
        "408" => Mock(Reply::http_error(408, "request timeout")),
        "500" => Mock(Reply::http_error(500, "internal failure at node-7")),
        "502" => Mock(Reply::http_error(502, "bad gateway")),
        "502-html" => Mock(Reply::raw(502, "text/html", html("502 Bad Gateway"))),
        "503" => Mock(Reply::http_error(503, "overloaded")),
        "html" => Mock(Reply::raw(
            200,
            "text/html; charset=utf-8",
            html("It works!"),
        )),
        "empty" => Mock(Reply::raw(200, "text/event-stream", "")),
        "garbage" => Mock(Reply::raw(
            200,
            "text/event-stream",
            "upstream said hello\nthis is not an event stream\n\n",
        )),
        "binary" => Mock(Reply::raw(
            200,
            "text/event-stream",
            vec![0xff, 0xfe, 0x00, 0x80, b'\n', b'\n'],
        )),
        "bad-json-start" => Mock(words().raw_after(0, "data: {\"id\": oops\n\n")),
        "bad-json-second" => Mock(words().raw_after(1, "data: {oops\n\n")),
        "reset-start" => Mock(words().disconnect_after(0)),
        "ended-start" => Mock(words().end_after(1)),
        "error-object-start" => Mock(words().error_after(1, "The server had an error")),
        "first-token-timeout" => Mock(words().first_token_delay(Duration::from_secs(5))),
        "tool-call-without-name" => Mock(Reply::tool_calls(vec![MockToolCall::new(
            "call_1",
            "",
            json!({}),
        )])),
        "reset-mid" => Mock(words().disconnect_after(3)),
        "ended-mid" => Mock(words().end_after(3)),
        "bad-json-mid" => Mock(words().raw_after(3, "data: {\"choices\": [oops\n\n")),
        "error-object-mid" => Mock(words().error_after(3, "The server had an error")),
        "stall" => Mock(words().stall_after(3)),
        // The role chunk and the call's first chunk (its id and name), then nothing.
        "stall-in-tool-call" => Mock(
            Reply::tool_calls(vec![MockToolCall::new(
                "call_1",
                "getEventDetails",
                json!({"eventId": "e1"}),
            )])
            .stall_after(2),
        ),
        "turn-timeout-mid" => {
            MockSlowTurn(Reply::generated(40).token_delay(Duration::from_millis(200)))
        }
        other => panic!("no way to produce the mode {other:?} of docs/protocol.md §10.3"),
    }
}

/// The model's clocks in this test: short, but the first-token clock longer than two
/// `Retry-After: 1` waits of the HTTP retries (it includes them).
const CLOCKS: [(&str, &str); 3] = [
    ("EVENTCHAT_LLM__CONNECT_TIMEOUT_SECS", "1"),
    ("EVENTCHAT_LLM__FIRST_TOKEN_TIMEOUT_SECS", "3"),
    ("EVENTCHAT_LLM__IDLE_TIMEOUT_SECS", "1"),
];

/// A listener that accepts no connection: its backlog (0) is filled by `_filler`, so the
/// kernel drops further SYNs and a connect times out.
struct Hanging {
    addr: SocketAddr,
    _listener: socket2::Socket,
    _filler: std::net::TcpStream,
}

fn hanging() -> Hanging {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    listener.bind(&local.into()).unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let filler = std::net::TcpStream::connect(addr).unwrap();
    Hanging {
        addr,
        _listener: listener,
        _filler: filler,
    }
}

/// A port nothing listens on (bound once, then released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What one turn ended with: the last event, the text of the assistant message finished
/// before it, and how long the turn took.
struct Outcome {
    last: Value,
    partial: Option<String>,
    took: Duration,
}

async fn turn(app: &TestApp) -> Outcome {
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let started = Instant::now();
    let (_, events) = app
        .create_thread(
            &token,
            "hello",
            json!({"agentType": "client", "eventId": event_id}),
        )
        .await;
    let took = started.elapsed();
    let partial = events
        .iter()
        .rev()
        .find(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .map(|e| {
            e["item"]["content"][0]["text"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        });
    Outcome {
        last: events.last().cloned().unwrap_or(Value::Null),
        partial,
        took,
    }
}

/// An application whose model is at `base_url`; its first-token clock outlasts the three
/// attempts of a connection that times out.
async fn app_at(backend: Backend, base_url: &str) -> TestApp {
    let mut vars = vec![("EVENTCHAT_LLM__BASE_URL", base_url)];
    vars.extend_from_slice(&CLOCKS);
    vars.push(("EVENTCHAT_LLM__FIRST_TOKEN_TIMEOUT_SECS", "10"));
    let app = TestApp::spawn_with(backend, &vars).await;
    app.seed().await;
    app
}

async fn every_model_fault_gives_its_row(backend: Backend) {
    let table = table();
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &CLOCKS).await;
    let slow_mock = MockLlm::start();
    let mut slow = CLOCKS.to_vec();
    slow.push(("EVENTCHAT_LLM__TURN_TIMEOUT_SECS", "2"));
    let slow_app = TestApp::with_mock(backend, &slow_mock, &slow).await;
    let mut wrong = Vec::new();
    let mut report = Vec::new();
    for (mode, (message, allow_retry)) in &table {
        if checked_elsewhere(mode) {
            continue;
        }
        let outcome = match setup(mode) {
            Setup::Mock(reply) => {
                mock.set_fallback(reply);
                turn(&app).await
            }
            Setup::MockSlowTurn(reply) => {
                slow_mock.set_fallback(reply);
                turn(&slow_app).await
            }
            Setup::Address(how) => {
                // Kept alive until the turn is over.
                let hang = matches!(how, Unreachable::ConnectTimeout).then(hanging);
                let url = match how {
                    Unreachable::Refused => format!("http://127.0.0.1:{}/v1", closed_port()),
                    Unreachable::ConnectTimeout => {
                        format!("http://{}/v1", hang.as_ref().unwrap().addr)
                    }
                    Unreachable::Dns => "http://eventchat-no-such-host.invalid/v1".to_owned(),
                };
                let other = app_at(backend, &url).await;
                let outcome = turn(&other).await;
                other.finish().await;
                outcome
            }
            Setup::NoModel => {
                let other = TestApp::spawn(backend).await;
                other.seed().await;
                let outcome = turn(&other).await;
                other.finish().await;
                outcome
            }
        };
        let expected = json!({"type": "error", "code": "custom", "message": message, "allow_retry": allow_retry});
        let cut = message.starts_with("The answer was cut off");
        let partial_ok =
            !cut || mode == "turn-timeout-mid" || outcome.partial.as_deref() == Some(PARTIAL);
        report.push(format!(
            "{mode:24} {:>5} ms  {}",
            outcome.took.as_millis(),
            outcome.last
        ));
        if outcome.last != expected || !partial_ok {
            wrong.push(format!(
                "{mode}: expected {expected}\n    got {} (kept text {:?}, {} ms)",
                outcome.last,
                outcome.partial,
                outcome.took.as_millis()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} modes differ from docs/protocol.md §10.3:\n{}\n\nall modes:\n{}",
        wrong.len(),
        report.len(),
        wrong.join("\n"),
        report.join("\n")
    );
    app.finish().await;
    slow_app.finish().await;
}
both_backends!(
    every_model_fault_gives_its_row_of_the_table,
    every_model_fault_gives_its_row
);
