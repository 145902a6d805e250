//! The web pages' server side: page shells, compiled-in assets, the dev sign-in list, the
//! live change feeds, and the fetch wrapper the README shows being the pages' own.

use std::time::Duration;

use eventchat::store::seed::{DEMO_CLIENT_EMAIL, DEMO_STAFF_EMAIL};
use mock_llm::{MockLlm, MockToolCall, Reply};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

/// Reads an SSE response until `want` frames of `data:` arrived or `limit` passed; returns
/// the parsed frames.
async fn read_frames(resp: &mut reqwest::Response, want: usize, limit: Duration) -> Vec<Value> {
    let mut buf = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    while out.len() < want {
        let chunk = match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(c))) => c,
            _ => break,
        };
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            if let Some(json) = frame.trim_end().strip_prefix("data: ") {
                out.push(serde_json::from_str(json).unwrap());
            } else {
                assert!(frame.starts_with(": "), "bad frame {frame:?}");
            }
        }
    }
    out
}

#[actix_web::test]
async fn pages_are_shells_with_public_settings_and_safe_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for (path, module) in [
        ("/", "sign-in.js"),
        ("/venues/some-venue", "dashboard.js"),
        ("/events/%3Cscript%3E", "event-page.js"),
        ("/admin", "admin.js"),
    ] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(r.headers().get("set-cookie").is_none(), "no cookie, ever");
        let body = r.text().await.unwrap();
        assert!(
            body.contains(&format!("src=\"/assets/{module}\"")),
            "{path}"
        );
        // The id in the path is data, not markup.
        assert!(!body.contains("<script>"), "{path}");
        let start = body.find("id=\"ec-config\">").unwrap() + 15;
        let end = body[start..].find("</script>").unwrap() + start;
        let config: Value = serde_json::from_str(&body[start..end]).unwrap();
        assert_eq!(config["chatkit_path"], "/api/chatkit");
        assert_eq!(config["chat"], "builtin");
        assert_eq!(config["dev_login"], true);
        if path.starts_with("/events/") {
            assert_eq!(config["id"], "<script>");
        }
    }
    app.finish().await;
}

#[actix_web::test]
async fn assets_have_types_etags_and_revalidate() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let r = app
        .http
        .get(app.url("/assets/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert!(r.text().await.unwrap().contains(":root"));
    let again = app
        .http
        .get(app.url("/assets/app.css"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.text().await.unwrap().is_empty());
    let js = app
        .http
        .get(app.url("/assets/session.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let head = app
        .http
        .head(app.url("/assets/session.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    for missing in ["/assets/nope.js", "/assets/..%2FCargo.toml"] {
        let r = app.http.get(app.url(missing)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{missing}");
    }
    app.finish().await;
}

#[actix_web::test]
async fn pages_can_be_turned_off_and_dev_users_exist_only_with_dev_login() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            ("EVENTCHAT_UI__ENABLED", "false"),
            ("EVENTCHAT_AUTH__DEV_LOGIN", "false"),
        ],
    )
    .await;
    for path in ["/", "/admin", "/assets/app.css", "/dev/users"] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    app.finish().await;

    let app = TestApp::spawn(Backend::Sqlite).await;
    app.seed().await;
    let users: Value = app
        .http
        .get(app.url("/dev/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let emails: Vec<&str> = users["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&DEMO_STAFF_EMAIL) && emails.contains(&DEMO_CLIENT_EMAIL));
    let staff = users["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == DEMO_STAFF_EMAIL)
        .unwrap();
    assert_eq!(staff["user_type"], "venue");
    assert!(staff["venue_id"].is_string());
    app.finish().await;
}

/// A client's change request made by the assistant reaches the venue's dashboard feed and
/// the event page's feed within a second; other venues and clients cannot subscribe.
async fn change_feed(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let client = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event_id, venue_id) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let staff = app.token_for(DEMO_STAFF_EMAIL).await;
    assert_eq!(app.venue_of(DEMO_STAFF_EMAIL).await, venue_id);
    let venue_path = format!("/api/v1/venues/{venue_id}/changes");
    let event_path = format!("/api/v1/events/{event_id}/changes");

    let elsewhere = app.token_for(&app.staff_elsewhere(&venue_id).await).await;
    let other_client = app
        .token_for(&app.other_user("client", DEMO_CLIENT_EMAIL).await)
        .await;
    for (token, path, status) in [
        (&elsewhere, &venue_path, 403),
        (&client, &venue_path, 403),
        (&other_client, &event_path, 403),
        (&elsewhere, &event_path, 403),
    ] {
        let r = app.request_as(reqwest::Method::GET, token, path).await;
        assert_eq!(r.status(), status, "{path}");
    }
    let r = app.http.get(app.url(&venue_path)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .request_as(
            reqwest::Method::GET,
            &staff,
            "/api/v1/events/no-such-event/changes",
        )
        .await;
    assert_eq!(r.status(), 404);

    let mut dashboard = app
        .request_as(reqwest::Method::GET, &staff, &venue_path)
        .await;
    assert_eq!(dashboard.status(), 200);
    assert_eq!(dashboard.headers()["content-type"], "text/event-stream");
    let mut page = app
        .request_as(reqwest::Method::GET, &client, &event_path)
        .await;
    for feed in [&mut dashboard, &mut page] {
        let ready = read_frames(feed, 1, Duration::from_secs(5)).await;
        assert_eq!(ready, vec![json!({"type": "ready"})]);
    }

    mock.push(Reply::tool_calls(vec![MockToolCall::new(
        "c1",
        "requestElementChange",
        json!({"eventId": event_id, "requestType": "add", "description": "A late-night taco bar"}),
    )]));
    mock.push(Reply::text(["I asked the venue."]));
    let asked = tokio::time::Instant::now();
    app.create_thread(
        &client,
        "Can we add a taco bar?",
        json!({"agentType": "client", "eventId": event_id}),
    )
    .await;
    for feed in [&mut dashboard, &mut page] {
        let got = read_frames(feed, 1, Duration::from_secs(5)).await;
        assert_eq!(got.len(), 1, "no change frame");
        assert_eq!(got[0]["type"], "change");
        assert_eq!(got[0]["venue_id"], venue_id.as_str());
        assert_eq!(got[0]["event_id"], event_id.as_str());
        assert!(got[0]["summary"].as_str().unwrap().len() > 3, "{got:?}");
    }
    assert!(asked.elapsed() < Duration::from_secs(5));
    app.finish().await;
}
both_backends!(
    change_feed_reaches_the_venue_and_the_event_page,
    change_feed
);

/// The README's fetch wrapper is the file the pages load (issue #15's last clause).
#[test]
fn the_readme_wrapper_is_the_pages_wrapper() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let file = std::fs::read_to_string(root.join("src/web/assets/chatkit-fetch.js")).unwrap();
    let code_start = file.find("const STREAMING").unwrap();
    let code = file[code_start..].trim_end();
    assert!(
        readme.contains(code),
        "README.md's eventchatFetch block and src/web/assets/chatkit-fetch.js differ; keep them identical"
    );
}
