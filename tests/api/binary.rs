//! The real `eventchat` binary as a test's server process: started on a loopback port chosen
//! at run time, against the test's database, answered by the test's mock model, its output
//! appended to a log file in the test's directory, stopped by its process id (SIGKILL for
//! the kill drills, SIGSTOP/SIGCONT for a paused node), and killed when dropped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use mock_llm::MockLlm;
use serde_json::Value;

use crate::helpers::{TestApp, repo_config_dir};

/// A port free right now on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the binary serving `url` with `extra` settings (`EVENTCHAT_*` variables).
fn spawn(
    url: &str,
    data_dir: &Path,
    mock: &MockLlm,
    log: &Path,
    extra: &[(&str, String)],
) -> (Child, u16) {
    let port = free_port();
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eventchat"));
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("EVENTCHAT_ENV", "test")
        .env("EVENTCHAT_CONFIG_DIR", repo_config_dir())
        .env("EVENTCHAT_SERVER__PORT", port.to_string())
        .env("EVENTCHAT_SERVER__DATA_DIR", data_dir)
        .env("EVENTCHAT_DATABASE__URL", url)
        .env("EVENTCHAT_LLM__BASE_URL", mock.base_url())
        .env("EVENTCHAT_TURNS__SNAPSHOT_INTERVAL_MS", "200")
        .env("RUST_LOG", "info");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let child = cmd
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .unwrap();
    (child, port)
}

/// Waits (bounded) until the binary on `port` is ready.
pub async fn until_ready(http: &reqwest::Client, port: u16) {
    let url = format!("http://127.0.0.1:{port}/ready");
    for _ in 0..300 {
        if let Ok(r) = http.get(&url).send().await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server on {port} did not become ready in 15 s");
}

/// Reads `resp`'s stream until `for_at_least` has passed (text keeps arriving), returning
/// what arrived and the stream.
pub async fn read_for(
    resp: reqwest::Response,
    for_at_least: Duration,
) -> (
    String,
    impl futures::Stream<Item = reqwest::Result<bytes::Bytes>>,
) {
    let mut seen = String::new();
    let mut stream = Box::pin(resp.bytes_stream());
    let started = Instant::now();
    while started.elapsed() < for_at_least {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("the stream went quiet")
            .expect("the stream ended early")
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    (seen, stream)
}

/// The log file the binaries of `app`'s test write to.
pub fn server_log(app: &TestApp) -> PathBuf {
    app.db.dir.path().join("server.log")
}

/// The real binary serving `app`'s database (seeded, and its tokens minted, by the
/// in-process `app`), answered by `mock`.
pub struct Binary {
    child: Child,
    pub port: u16,
}

impl Binary {
    pub async fn start(app: &TestApp, mock: &MockLlm) -> Binary {
        Self::start_with(app, mock, &[]).await
    }

    /// As [`Binary::start`], with more settings.
    pub async fn start_with(app: &TestApp, mock: &MockLlm, extra: &[(&str, String)]) -> Binary {
        let data = app.db.dir.path().join("binary-data");
        let (child, port) = spawn(&app.db.url, &data, mock, &server_log(app), extra);
        until_ready(&app.http, port).await;
        Binary { child, port }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// A ChatKit request to this binary.
    pub fn chatkit(&self, app: &TestApp, token: &str, body: &Value) -> reqwest::RequestBuilder {
        app.http
            .post(self.url("/api/chatkit"))
            .bearer_auth(token)
            .json(body)
    }

    /// Stops it by its process id (SIGKILL: the drill's kill -9).
    pub fn kill9(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }

    /// Sends `signal` (`STOP`, `CONT`, ...) to the process by its id.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        // A paused process cannot die of SIGKILL until it is continued on some kernels'
        // accounting; SIGCONT first costs nothing.
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(self.child.id().to_string())
            .stderr(Stdio::null())
            .status();
        self.kill9();
    }
}
