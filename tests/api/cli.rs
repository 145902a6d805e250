//! The command line, run as the real binary in a fresh directory: `migrate`, `seed --demo`
//! twice (idempotent), `token` (verifies with the configured secret).

use std::process::Command;

use eventchat::auth::JwtVerifier;

fn run(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_eventchat"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn migrate_seed_and_token_from_a_fresh_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = run(dir.path(), &["migrate", "status"]);
    assert!(ok, "{err}");
    assert!(out.lines().all(|l| l.starts_with("pending ")), "{out}");
    let (ok, out, err) = run(dir.path(), &["migrate", "up"]);
    assert!(ok, "{err}");
    assert!(
        out.lines().count() >= 3 && out.lines().all(|l| l.starts_with("applied ")),
        "{out}"
    );
    let (ok, out, err) = run(dir.path(), &["seed", "--demo"]);
    assert!(ok, "{err}");
    assert!(out.contains("demo data created"), "{out}");
    let (ok, out, err) = run(dir.path(), &["seed", "--demo"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("already present"),
        "second seed writes nothing: {out}"
    );
    let email = eventchat::store::seed::DEMO_CLIENT_EMAIL;
    let (ok, out, err) = run(dir.path(), &["token", "--user", email, "--ttl", "30m"]);
    assert!(ok, "{err}");
    let token = out.trim();
    // Verifies with the configured (default) secret, audience and issuer.
    let settings = eventchat::config::Settings::load_from(
        std::path::Path::new("/nonexistent"),
        "local",
        &Default::default(),
    )
    .unwrap();
    let claims = JwtVerifier::new(&settings.auth)
        .unwrap()
        .verify(token)
        .unwrap();
    assert_eq!(claims.email.as_deref(), Some(email));
    let ttl = claims.exp - claims.iat.unwrap();
    assert_eq!(ttl, 1800);
    // Unknown users and bad durations are clear errors.
    let (ok, _, err) = run(dir.path(), &["token", "--user", "nobody@x.example"]);
    assert!(!ok);
    assert!(err.contains("no user with email"), "{err}");
    let (ok, _, err) = run(dir.path(), &["token", "--user", email, "--ttl", "soon"]);
    assert!(!ok);
    assert!(err.contains("invalid duration"), "{err}");
    // Roll everything back and forward again.
    let (ok, out, err) = run(dir.path(), &["migrate", "down"]);
    assert!(ok, "{err}");
    assert!(out.lines().all(|l| l.starts_with("pending ")), "{out}");
}

#[actix_web::test]
async fn starter_prompts_are_served_per_assistant() {
    let app = crate::helpers::TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let r = app
        .http
        .get(app.url("/api/agents/client"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["starter_prompts"][0], "Show me my event details");
    assert_eq!(body["required_metadata"], serde_json::json!(["eventId"]));
    let r = app
        .http
        .get(app.url("/api/agents/venue_event"))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["required_metadata"],
        serde_json::json!(["venueId", "eventId"])
    );
    let r = app
        .http
        .get(app.url("/api/agents/vendor"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = app
        .http
        .get(app.url("/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    app.finish().await;
}
