//! `/health` and `/ready` through the real server; a server started from an empty directory
//! with nothing but defaults.

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

async fn health_and_ready(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let r = app.http.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["database"], expected);
    app.finish().await;
}
both_backends!(health_and_ready_answer, health_and_ready);

/// The real binary, started in an empty temporary directory with no config files and no
/// environment beyond a port: it must create its SQLite file under `data/` and be ready.
#[actix_web::test]
async fn binary_serves_from_a_fresh_directory() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_eventchat"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("EVENTCHAT_SERVER__PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/ready");
    let mut ready = None;
    for _ in 0..200 {
        if let Ok(r) = client.get(&url).send().await {
            ready = Some((r.status(), r.json::<serde_json::Value>().await.unwrap()));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().ok();
    child.wait().ok();
    let (status, body) = ready.expect("server answered /ready");
    assert_eq!(status, 200);
    assert_eq!(body["database"], "sqlite");
    assert!(dir.path().join("data/eventchat.db").exists());
}
