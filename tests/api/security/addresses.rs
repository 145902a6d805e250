//! The per-address limit before authentication and what a 401 writes to the log (issue #20,
//! item 5): a client without a valid token gets 429 after its address's burst while another
//! address still gets 401; `X-Forwarded-For` counts only from a trusted proxy; a flood of
//! 401s writes no line at the default level, and no line is long.

use std::process::{Command, Stdio};
use std::time::Duration;

use eventchat::store::seed::DEMO_CLIENT_EMAIL;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::requests as req;

/// A POST to the ChatKit endpoint with a bad token, as if forwarded for `client`.
async fn unauthenticated(app: &TestApp, client: Option<&str>) -> (u16, Option<String>, Value) {
    let mut r = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth("not-a-token")
        .json(&req::list_threads(json!({})));
    if let Some(ip) = client {
        r = r.header("x-forwarded-for", ip);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, r.json().await.unwrap_or(Value::Null))
}

async fn flood_behind_a_proxy(backend: Backend) {
    // The test client (127.0.0.1) is the trusted proxy; the clients are what it forwards for.
    let app = TestApp::spawn_with(
        backend,
        &[
            ("EVENTCHAT_SERVER__TRUSTED_PROXIES", "10.9.0.0/16,127.0.0.1"),
            ("EVENTCHAT_LIMITS__ADDRESS_RATE_LIMIT_PER_MINUTE", "6"),
            ("EVENTCHAT_LIMITS__ADDRESS_RATE_LIMIT_BURST", "5"),
        ],
    )
    .await;
    app.seed().await;
    let flooder = Some("203.0.113.7");
    for i in 0..5 {
        let (status, _, body) = unauthenticated(&app, flooder).await;
        assert_eq!(status, 401, "request {i}: {body}");
    }
    // The burst is spent: refused before the token is looked at, in the per-user shape.
    let (status, retry, body) = unauthenticated(&app, flooder).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many requests from this address"),
        "{body}"
    );
    assert_eq!(retry.as_deref(), Some("10"), "one token per 10 s");
    // A valid token from that address waits too: the limit comes before authentication.
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let r = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth(&token)
        .header("x-forwarded-for", "203.0.113.7")
        .json(&req::list_threads(json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    // Another client behind the same proxy is not affected, nor is the proxy itself, and a
    // client's own entries left of the proxy's are not believed.
    let (status, _, body) = unauthenticated(&app, Some("203.0.113.8")).await;
    assert_eq!(status, 401, "{body}");
    let (status, _, body) = unauthenticated(&app, Some("203.0.113.7, 198.51.100.1")).await;
    assert_eq!(status, 401, "keyed by 198.51.100.1, the rightmost: {body}");
    let (status, _, body) = unauthenticated(&app, None).await;
    assert_eq!(status, 401, "{body}");
    let me = app
        .request_as(reqwest::Method::GET, &token, "/api/v1/me")
        .await;
    assert_eq!(me.status(), 200);
    app.finish().await;
}
both_backends!(
    a_flood_from_one_address_gets_429_and_others_401,
    flood_behind_a_proxy
);

async fn untrusted_peer(backend: Backend) {
    // No trusted proxy: whatever X-Forwarded-For says, the client is the peer (127.0.0.1).
    let app = TestApp::spawn_with(
        backend,
        &[
            ("EVENTCHAT_LIMITS__ADDRESS_RATE_LIMIT_PER_MINUTE", "6"),
            ("EVENTCHAT_LIMITS__ADDRESS_RATE_LIMIT_BURST", "3"),
        ],
    )
    .await;
    for i in 0..3 {
        let forged = format!("203.0.113.{}", 10 + i);
        let (status, _, body) = unauthenticated(&app, Some(&forged)).await;
        assert_eq!(status, 401, "request {i}: {body}");
    }
    let (status, _, body) = unauthenticated(&app, Some("203.0.113.99")).await;
    assert_eq!(
        status, 429,
        "a fresh forged address is no fresh bucket: {body}"
    );
    app.finish().await;
}
both_backends!(
    a_forwarded_header_from_an_untrusted_peer_is_ignored,
    untrusted_peer
);

/// The real binary, logging as in production (JSON, the default `info` filter, debug for
/// eventchat itself so that the refusals' own lines are there to measure): 300 requests with
/// a bad token and a 6 KB user agent write no WARN or ERROR line, every line stays short,
/// and `/metrics` counts them.
#[actix_web::test]
async fn a_401_flood_is_counted_not_logged() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = dir.path().join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_eventchat"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("EVENTCHAT_SERVER__PORT", port.to_string())
        .env("EVENTCHAT_SERVER__LOG_FORMAT", "json")
        .env("EVENTCHAT_LLM__BASE_URL", "http://127.0.0.1:9/v1")
        .env("RUST_LOG", "info,eventchat=debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..400 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let agent = "x".repeat(6000);
    let mut statuses = Vec::new();
    for _ in 0..300 {
        let r = client
            .post(format!("{base}/api/chatkit?{}", "q".repeat(3000)))
            .header("user-agent", &agent)
            .bearer_auth("not-a-token")
            .json(&req::list_threads(json!({})))
            .send()
            .await;
        statuses.push(r.map_or(0, |r| r.status().as_u16()));
    }
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    child.kill().ok();
    child.wait().ok();
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let loud: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("\"level\":\"WARN\"") || l.contains("\"level\":\"ERROR\""))
        .collect();
    assert!(
        loud.is_empty(),
        "{} lines, first: {:?}",
        loud.len(),
        loud.first()
    );
    let refusals = lines
        .iter()
        .filter(|l| l.contains("request refused"))
        .count();
    assert_eq!(refusals, 300, "one debug line per refusal");
    let longest = lines.iter().map(|l| l.len()).max().unwrap_or(0);
    assert!(longest < 2048, "a {longest}-byte line");
    assert!(
        metrics.contains("eventchat_auth_failures_total{reason=\"malformed_token\"} 300"),
        "{metrics}"
    );
}
