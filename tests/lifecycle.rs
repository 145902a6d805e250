//! An application that stops leaves nothing running: its HTTP workers, actor arbiters and
//! database connections end with it (issue #14: the registry used to be kept alive by a
//! reference cycle through the domain bus, so its arbiter threads never stopped).
//!
//! Its own test binary, because it counts the threads of the whole process: no other test may
//! start threads meanwhile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use eventchat::config::Settings;
use eventchat::startup::Application;

/// The process's thread count, from `/proc/self/status`.
fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a Threads line")
}

fn settings(dir: &std::path::Path, i: usize) -> Settings {
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config");
    let db = dir.join(format!("app{i}.db"));
    let vars: HashMap<String, String> = [
        (
            "EVENTCHAT_DATABASE__URL",
            format!("sqlite://{}?mode=rwc", db.display()),
        ),
        (
            "EVENTCHAT_SERVER__DATA_DIR",
            dir.join("data").display().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Settings::load_from(&config, "test", &vars).unwrap()
}

/// Builds an application, serves one request (so its workers and arbiters run), stops it.
async fn run_one(dir: &std::path::Path, i: usize, http: &reqwest::Client) {
    let app = Application::build(settings(dir, i)).await.unwrap();
    let port = app.port();
    let handle = app.server_handle().unwrap();
    let serving = actix_web::rt::spawn(app.run_until_stopped());
    let r = http
        .get(format!("http://127.0.0.1:{port}/ready"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    handle.stop(true).await;
    serving.await.unwrap().unwrap();
}

/// Waits (bounded) until the thread count is at most `limit`; returns the last count.
async fn settle(limit: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n = threads();
        if n <= limit || Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The thread count once it stops changing (bounded).
async fn stable() -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = threads();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let n = threads();
        if n == last || Instant::now() > deadline {
            return n;
        }
        last = n;
    }
}

#[actix_web::test]
async fn stopped_applications_leave_no_threads() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    // The first application starts what lives for the whole process (the runtime's blocking
    // pool, the client's resolver, ...); count from after it.
    run_one(dir.path(), 0, &http).await;
    let baseline = stable().await;
    for i in 1..=20 {
        run_one(dir.path(), i, &http).await;
    }
    let after = settle(baseline).await;
    assert!(
        after <= baseline,
        "20 stopped applications left {} threads behind ({baseline} before, {after} after)",
        after.saturating_sub(baseline)
    );
}
