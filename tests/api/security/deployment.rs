//! The deployment rule through the real binary (issue #20, item 4): `EVENTCHAT_ENV=production`
//! with the shipped secret does not start, and says what to set; with a proper secret it
//! serves, and a token signed with the shipped secret is refused.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `eventchat serve` in a fresh directory with the repository's config files, as
/// `EVENTCHAT_ENV=production`, with `extra` variables; no model is ever fetched.
fn serve(dir: &std::path::Path, port: u16, extra: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eventchat"));
    cmd.arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("EVENTCHAT_ENV", "production")
        .env(
            "EVENTCHAT_CONFIG_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
        )
        .env("EVENTCHAT_SERVER__HOST", "127.0.0.1")
        .env("EVENTCHAT_SERVER__PORT", port.to_string())
        .env("EVENTCHAT_LLM__BASE_URL", "http://127.0.0.1:9/v1");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd
}

#[test]
fn production_with_the_shipped_secret_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = serve(dir.path(), port, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: a server that started anyway is killed after 20 s and the test fails.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let status = status.unwrap_or_else(|| panic!("the server started: {stderr}"));
    assert!(!status.success(), "{status:?}: {stderr}");
    assert!(
        stderr.contains("refusing to start in environment \"production\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("set EVENTCHAT_AUTH__JWT_SECRET to a random value of at least 32 bytes"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("data/eventchat.db").exists(),
        "refused before the database was touched"
    );
}

#[actix_web::test]
async fn production_with_a_proper_secret_serves_and_refuses_shipped_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let secret = "a-proper-production-secret-of-48-bytes-0123456789";
    let mut child = serve(dir.path(), port, &[("EVENTCHAT_AUTH__JWT_SECRET", secret)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut ready = None;
    for _ in 0..400 {
        if let Ok(r) = client.get(format!("{base}/ready")).send().await {
            ready = Some(r.status().as_u16());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A token signed with the shipped secret, for any subject, is not a token here.
    let shipped = eventchat::config::Settings::load_from(
        std::path::Path::new("/nonexistent"),
        "local",
        &Default::default(),
    )
    .unwrap();
    let forged = eventchat::auth::JwtVerifier::new(&shipped.auth)
        .unwrap()
        .issue("usr_admin", None, 600)
        .unwrap();
    let admin = client
        .get(format!("{base}/admin/actors"))
        .bearer_auth(forged)
        .send()
        .await
        .map(|r| r.status().as_u16());
    child.kill().ok();
    child.wait().ok();
    assert_eq!(ready, Some(200), "the server serves with a proper secret");
    assert_eq!(admin.ok(), Some(401));
}
