//! Security through the real server: which tokens get in, what an authenticated user may
//! reach (every ChatKit request type and the admin API, aimed at someone else's data), the
//! per-user rate limit and stream cap, and property tests of the two parsers/encoders that
//! see untrusted bytes (`parse_request`, `encode_event`).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eventchat::chatkit::{NoticeLevel, REQUEST_TYPES, ThreadStreamEvent, encode_event};
use eventchat::store::seed::{DEMO_ADMIN_EMAIL, DEMO_CLIENT_EMAIL, DEMO_STAFF_EMAIL};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proptest::prelude::*;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::scripted::ScriptedResponder;

fn input(text: &str) -> Value {
    json!({"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}})
}

fn list_threads() -> Value {
    json!({"type":"threads.list","params":{}})
}

/// A raw POST to the ChatKit endpoint with this `Authorization` header (or none):
/// status, `WWW-Authenticate`, `Retry-After`, JSON body.
async fn post_with(
    app: &TestApp,
    authorization: Option<&str>,
    body: &Value,
) -> (u16, Option<String>, Option<String>, Value) {
    let mut req = app.http.post(app.url("/api/chatkit")).json(body);
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (www, retry) = (header("www-authenticate"), header("retry-after"));
    let text = r.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, www, retry, value)
}

async fn user_id(app: &TestApp, email: &str) -> String {
    app.state
        .stores
        .users
        .find_by_email(email)
        .await
        .unwrap()
        .unwrap()
        .id
}

fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// `header.payload` signed with HMAC-SHA256 whatever the header claims.
fn hmac_signed(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let signing_input = format!("{}.{}", b64(header), b64(claims));
    let sig = jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{signing_input}.{sig}")
}

async fn token_matrix(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.seed().await;
    let auth = &app.state.settings.auth;
    let secret = auth.jwt_secret.expose_secret().as_bytes().to_vec();
    let sub = user_id(&app, DEMO_CLIENT_EMAIL).await;
    let t = now();
    let claims = |patch: Value| {
        let mut c = json!({"sub": sub, "aud": auth.audience, "iss": auth.issuer,
                           "exp": t + 3600, "nbf": t - 1, "iat": t});
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let bearer = |tok: &str| format!("Bearer {tok}");
    let valid = hs256(&claims(json!({})), &secret);
    let before = app.chatkit_counts().await;

    // Accepted: a valid token, and one expired a little less than the leeway ago.
    for (name, header) in [
        ("valid", bearer(&valid)),
        (
            "expired within leeway",
            bearer(&hs256(&claims(json!({"exp": t - 5})), &secret)),
        ),
        ("lower-case scheme", format!("bearer {valid}")),
    ] {
        let (status, _, _, body) = post_with(&app, Some(&header), &list_threads()).await;
        assert_eq!(status, 200, "{name}: {body}");
    }

    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg":"none","typ":"JWT"})),
        b64(&claims(json!({})))
    );
    let rs_header_hmac_sig = hmac_signed(
        &json!({"alg":"RS256","typ":"JWT"}),
        &claims(json!({})),
        &secret,
    );
    let mut tampered: Vec<&str> = valid.split('.').collect();
    let evil_payload = b64(&claims(json!({"sub": "someone-else"})));
    tampered[1] = &evil_payload;
    let tampered = tampered.join(".");
    let refused: Vec<(&str, Option<String>)> = vec![
        (
            "expired",
            Some(bearer(&hs256(
                &claims(json!({"exp": t - 3600, "nbf": t - 7200})),
                &secret,
            ))),
        ),
        (
            "not yet valid",
            Some(bearer(&hs256(&claims(json!({"nbf": t + 3600})), &secret))),
        ),
        (
            "wrong audience",
            Some(bearer(&hs256(
                &claims(json!({"aud": "someone-else"})),
                &secret,
            ))),
        ),
        (
            "wrong issuer",
            Some(bearer(&hs256(&claims(json!({"iss": "evil"})), &secret))),
        ),
        (
            "no exp",
            Some(bearer(&hs256(&claims(json!({"exp": null})), &secret))),
        ),
        (
            "no aud",
            Some(bearer(&hs256(&claims(json!({"aud": null})), &secret))),
        ),
        (
            "empty sub",
            Some(bearer(&hs256(&claims(json!({"sub": " "})), &secret))),
        ),
        (
            "wrong key",
            Some(bearer(&hs256(
                &claims(json!({})),
                b"another-secret-of-sufficient-length",
            ))),
        ),
        ("tampered payload", Some(bearer(&tampered))),
        ("alg none", Some(bearer(&alg_none))),
        (
            "RS256 header, HMAC signature",
            Some(bearer(&rs_header_hmac_sig)),
        ),
        ("garbage", Some(bearer("garbage"))),
        ("three garbage segments", Some(bearer("a.b.c"))),
        ("missing header", None),
        ("bearer without token", Some("Bearer".to_owned())),
        ("bearer with blank token", Some("Bearer    ".to_owned())),
        (
            "basic scheme",
            Some("Basic ZW1pbHk6aHVudGVyMg==".to_owned()),
        ),
        ("token without scheme", Some(valid.clone())),
    ];
    for (name, header) in refused {
        let (status, www, _, body) = post_with(&app, header.as_deref(), &list_threads()).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(www.as_deref(), Some("Bearer"), "{name}");
        assert_eq!(body["error"]["code"], "unauthorized", "{name}");
        // The refusal never echoes the token back.
        if let Some(h) = &header
            && h.len() > 20
        {
            assert!(!body.to_string().contains(&h[7..]), "{name} echoed: {body}");
        }
    }

    // A well-formed, correctly signed token for someone who is not a user: 403.
    let stranger = hs256(
        &claims(json!({"sub": uuid::Uuid::new_v4().to_string()})),
        &secret,
    );
    let (status, www, _, body) = post_with(&app, Some(&bearer(&stranger)), &list_threads()).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(www.is_none());
    // Refused before anything is read or written, streaming requests included.
    let create = json!({"type":"threads.create","params":{"input":input("hi")},
                        "metadata":{"agentType":"client","eventId":"x"}});
    let (status, ..) = post_with(&app, Some(&bearer(&stranger)), &create).await;
    assert_eq!(status, 403);
    let (status, ..) = post_with(&app, Some(&bearer(&alg_none)), &create).await;
    assert_eq!(status, 401);
    assert_eq!(app.chatkit_counts().await, before, "nothing changed");
    app.finish().await;
}
both_backends!(token_matrix_on_the_chatkit_endpoint, token_matrix);

/// A throwaway RSA key pair (PKCS#1 private PEM, SPKI public PEM), made once per test run.
/// 1024 bits: it only signs test tokens, and 2048-bit generation takes ~15 s unoptimized.
fn rsa_pems() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| {
        use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
        use rsa::pkcs8::EncodePublicKey;
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
        let private = key.to_pkcs1_pem(LineEnding::LF).unwrap().to_string();
        let public = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        (private, public)
    })
}

async fn algorithm_confusion(backend: Backend) {
    let (private, public) = rsa_pems();
    let dir = tempfile::tempdir().unwrap();
    let public_path = dir.path().join("public.pem");
    std::fs::write(&public_path, public).unwrap();
    let public_path = public_path.display().to_string();
    let app = TestApp::spawn_with(
        backend,
        &[
            ("EVENTCHAT_AUTH__ALGORITHM", "RS256"),
            ("EVENTCHAT_AUTH__PUBLIC_KEY_FILE", &public_path),
        ],
    )
    .await;
    app.seed().await;
    let auth = &app.state.settings.auth;
    let t = now();
    let claims = json!({"sub": user_id(&app, DEMO_CLIENT_EMAIL).await, "aud": auth.audience,
                        "iss": auth.issuer, "exp": t + 3600, "nbf": t - 1});
    // The positive control: the server really accepts RS256 with this key.
    let rs = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(private.as_bytes()).unwrap(),
    )
    .unwrap();
    let (status, _, _, body) =
        post_with(&app, Some(&format!("Bearer {rs}")), &list_threads()).await;
    assert_eq!(status, 200, "{body}");
    // The classic confusion: HS256 keyed with the public key the server verifies with.
    let confused = [
        (
            "HS256 keyed with the public PEM",
            hs256(&claims, public.as_bytes()),
        ),
        (
            "RS256 header, HMAC with the public PEM",
            hmac_signed(
                &json!({"alg":"RS256","typ":"JWT"}),
                &claims,
                public.as_bytes(),
            ),
        ),
        (
            "HS256 with the configured (unused) secret",
            hs256(&claims, auth.jwt_secret.expose_secret().as_bytes()),
        ),
    ];
    for (name, tok) in confused {
        let (status, www, _, body) =
            post_with(&app, Some(&format!("Bearer {tok}")), &list_threads()).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(www.as_deref(), Some("Bearer"), "{name}");
    }
    app.finish().await;
}
both_backends!(algorithm_confusion_is_refused, algorithm_confusion);

/// What the victim sees of their thread, and the row counts.
async fn snapshot(app: &TestApp, victim: &str, thread_id: &str) -> (Value, Value, (u64, u64, u64)) {
    let (_, t) = app
        .chatkit(
            victim,
            json!({"type":"threads.get_by_id","params":{"thread_id":thread_id}}),
        )
        .await;
    let (_, items) = app
        .chatkit(
            victim,
            json!({"type":"items.list","params":{"thread_id":thread_id,"order":"asc","limit":100}}),
        )
        .await;
    (t, items, app.chatkit_counts().await)
}

async fn authorization_matrix(backend: Backend) {
    let (app, _script) = TestApp::scripted(backend).await;
    // The victim: the demo client, with a thread (user message + answer) and an attachment.
    let (victim, thread_id, ev) = app.client_thread("#echo private plans").await;
    let item_ids: Vec<String> = ev
        .iter()
        .filter(|e| e["type"] == "thread.item.done")
        .map(|e| e["item"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(item_ids.len(), 2, "{ev:?}");
    let (user_item, answer_item) = (&item_ids[0], &item_ids[1]);
    let (status, att) = app
        .chatkit(&victim, json!({"type":"attachments.create","params":{"name":"plan.pdf","size":4,"mime_type":"application/pdf"}}))
        .await;
    assert_eq!(status, 200, "{att}");
    let attachment_id = att["id"].as_str().unwrap().to_owned();
    let (victim_event, victim_venue) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let other_client = app.other_user("client", DEMO_CLIENT_EMAIL).await;
    let (other_event, _) = app.event_of(&other_client).await;
    let far_staff = app.staff_elsewhere(&victim_venue).await;
    let far_venue = app
        .state
        .stores
        .users
        .find_by_email(&far_staff)
        .await
        .unwrap()
        .unwrap()
        .venue_id
        .unwrap();
    let vendor = app.other_user("vendor", "").await;

    let before = snapshot(&app, &victim, &thread_id).await;
    assert_eq!(before.0["id"], thread_id.as_str());

    // Aimed at the victim's thread, item and attachment: every type but threads.create
    // (whose target is the metadata, below), threads.list and attachments.create (no
    // foreign id to aim at; checked for leaks and cross-use below) and input.transcribe
    // (reads nothing; 501 here since no transcription model is configured).
    let aimed = [
        json!({"type":"threads.add_user_message","params":{"thread_id":thread_id,"input":input("hi")}}),
        json!({"type":"threads.add_client_tool_output","params":{"thread_id":thread_id,"result":{}}}),
        json!({"type":"threads.retry_after_item","params":{"thread_id":thread_id,"item_id":user_item}}),
        json!({"type":"threads.custom_action","params":{"thread_id":thread_id,"item_id":answer_item,"action":{"type":"x","payload":{}}}}),
        json!({"type":"threads.add_structured_input","params":{"thread_id":thread_id,"item_id":answer_item,"input":{}}}),
        json!({"type":"threads.sync_custom_action","params":{"thread_id":thread_id,"action":{"type":"x"}}}),
        json!({"type":"threads.get_by_id","params":{"thread_id":thread_id}}),
        json!({"type":"items.list","params":{"thread_id":thread_id}}),
        json!({"type":"attachments.delete","params":{"attachment_id":attachment_id}}),
        json!({"type":"items.feedback","params":{"thread_id":thread_id,"item_ids":[answer_item],"kind":"negative"}}),
        json!({"type":"threads.update","params":{"thread_id":thread_id,"title":"pwned"}}),
        json!({"type":"threads.delete","params":{"thread_id":thread_id}}),
    ];
    let create = |meta: Value, attachments: Vec<&str>| {
        let mut i = input("hi");
        i["attachments"] = json!(attachments);
        json!({"type":"threads.create","params":{"input":i},"metadata":meta})
    };
    // Who intrudes, and the threads.create metadata each one must not be able to use.
    let intruders: Vec<(&str, String, Vec<Value>)> = vec![
        (
            "another client",
            other_client.clone(),
            vec![
                json!({"agentType":"client","eventId":victim_event}),
                json!({"agentType":"venue_general","venueId":victim_venue}),
                json!({"agentType":"venue_event","venueId":victim_venue,"eventId":victim_event}),
            ],
        ),
        (
            "staff of the event's own venue",
            DEMO_STAFF_EMAIL.to_owned(),
            vec![json!({"agentType":"client","eventId":victim_event})],
        ),
        (
            "staff of another venue",
            far_staff.clone(),
            vec![
                json!({"agentType":"venue_general","venueId":victim_venue}),
                json!({"agentType":"venue_event","venueId":victim_venue,"eventId":victim_event}),
                // Their own venue, someone else's event: the event must be at the venue.
                json!({"agentType":"venue_event","venueId":far_venue,"eventId":victim_event}),
                json!({"agentType":"client","eventId":victim_event}),
            ],
        ),
        (
            "vendor",
            vendor.clone(),
            vec![
                json!({"agentType":"client","eventId":victim_event}),
                json!({"agentType":"venue_general","venueId":victim_venue}),
            ],
        ),
        (
            "admin",
            DEMO_ADMIN_EMAIL.to_owned(),
            vec![json!({"agentType":"client","eventId":victim_event})],
        ),
    ];
    for (who, email, metas) in &intruders {
        let token = app.token_for(email).await;
        for req in &aimed {
            let (status, body) = app.chatkit(&token, req.clone()).await;
            assert!(
                status == 403 || status == 404,
                "{who}: {} -> {status} {body}",
                req["type"]
            );
            assert!(
                !body.to_string().contains("private plans"),
                "{who} read the thread: {body}"
            );
        }
        for meta in metas {
            let (status, body) = app.chatkit(&token, create(meta.clone(), vec![])).await;
            assert_eq!(status, 403, "{who}: create {meta} -> {body}");
        }
        let (status, list) = app.chatkit(&token, list_threads()).await;
        assert_eq!(status, 200, "{who}: {list}");
        assert!(
            list["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["id"] != thread_id.as_str()),
            "{who} sees the victim's thread"
        );
        let (status, _) = app
            .chatkit(&token, json!({"type":"input.transcribe","params":{"audio_base64":"AAAA","mime_type":"audio/webm"}}))
            .await;
        assert_eq!(status, 501, "{who}");
    }
    // The other client, with their own event, still may not use the victim's attachment.
    let other_token = app.token_for(&other_client).await;
    let (status, body) = app
        .chatkit(
            &other_token,
            create(
                json!({"agentType":"client","eventId":other_event}),
                vec![&attachment_id],
            ),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    // Vendors get a clear reason.
    let (status, body) = app
        .chatkit(
            &app.token_for(&vendor).await,
            create(json!({"agentType":"client","eventId":victim_event}), vec![]),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("vendors have no assistant"),
        "{body}"
    );

    // The admin API, for everyone but admins.
    let admin_routes = [
        ("GET", "/admin/actors".to_owned()),
        ("GET", format!("/admin/actors/{thread_id}")),
        ("POST", format!("/admin/actors/{thread_id}/stop")),
        ("POST", format!("/admin/venues/{victim_venue}/evict")),
        ("POST", format!("/admin/actors/{thread_id}/panic")),
    ];
    for email in [
        DEMO_CLIENT_EMAIL.to_owned(),
        other_client.clone(),
        DEMO_STAFF_EMAIL.to_owned(),
        vendor.clone(),
    ] {
        let token = app.token_for(&email).await;
        for (method, path) in &admin_routes {
            let req = match *method {
                "GET" => app.http.get(app.url(path)),
                _ => app.http.post(app.url(path)),
            };
            let r = req.bearer_auth(&token).send().await.unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            assert_eq!(status, 403, "{email}: {method} {path} -> {body}");
            assert_eq!(body["error"]["code"], "forbidden");
        }
    }
    // Nothing was read or changed: same rows, same thread, same items, the actor still live
    // (not stopped, evicted or crashed).
    let after = snapshot(&app, &victim, &thread_id).await;
    assert_eq!(after, before, "the victim's data is untouched");
    assert!(after.0.get("title").is_none());
    let admin = app.token_for(DEMO_ADMIN_EMAIL).await;
    let r = app
        .request_as(
            reqwest::Method::GET,
            &admin,
            &format!("/admin/actors/{thread_id}"),
        )
        .await;
    assert_eq!(r.status(), 200, "the victim's actor is still live");
    let (status, body) = app
        .chatkit(&victim, json!({"type":"threads.add_user_message","params":{"thread_id":thread_id,"input":input("#echo still mine")}}))
        .await;
    assert_eq!(status, 200, "{body}");
    app.finish().await;
}
both_backends!(
    authorization_matrix_over_every_request_type,
    authorization_matrix
);

async fn rate_limit(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("EVENTCHAT_LIMITS__RATE_LIMIT_PER_MINUTE", "60"),
            ("EVENTCHAT_LIMITS__RATE_LIMIT_BURST", "3"),
        ],
    )
    .await;
    app.seed().await;
    let token = format!("Bearer {}", app.token_for(DEMO_CLIENT_EMAIL).await);
    for i in 0..3 {
        let (status, _, _, body) = post_with(&app, Some(&token), &list_threads()).await;
        assert_eq!(status, 200, "request {i}: {body}");
    }
    let (status, _, retry, body) = post_with(&app, Some(&token), &list_threads()).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(retry.as_deref(), Some("1"), "one token per second");
    // Refused before the body is even read: a malformed body gets 429, not 400.
    let r = app
        .http
        .post(app.url("/api/chatkit"))
        .header("authorization", &token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    // Per user: someone else is not affected.
    let other = format!("Bearer {}", app.token_for(DEMO_STAFF_EMAIL).await);
    let (status, ..) = post_with(&app, Some(&other), &list_threads()).await;
    assert_eq!(status, 200);
    // Recovered after the advertised wait. (That exactly one token comes back, not the
    // whole burst, is a unit test with a given clock: timing it here would be flaky.)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _, _, body) = post_with(&app, Some(&token), &list_threads()).await;
    assert_eq!(status, 200, "{body}");
    app.finish().await;
}
both_backends!(rate_limit_is_hit_and_recovers, rate_limit);

async fn stream_cap(backend: Backend) {
    let responder = ScriptedResponder::default();
    let app = TestApp::spawn_full(
        backend,
        &[("EVENTCHAT_LIMITS__MAX_CONCURRENT_STREAMS", "1")],
        Some(Arc::new(responder)),
    )
    .await;
    app.seed().await;
    let (token, thread_id, _) = app.client_thread("#echo first").await;
    let uid = user_id(&app, DEMO_CLIENT_EMAIL).await;
    let (event_id, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let slow = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth(&token)
        .json(&json!({"type":"threads.add_user_message","params":{"thread_id":thread_id,"input":input("#slow one")}}))
        .send()
        .await
        .unwrap();
    assert_eq!(slow.status(), 200);
    assert_eq!(app.state.limits.streams.open_for(&uid), 1);
    // A second stream of the same user is refused before it reaches the actor.
    let threads_before = app.chatkit_counts().await.0;
    let create = json!({"type":"threads.create","params":{"input":input("#echo second")},
                        "metadata":{"agentType":"client","eventId":event_id}});
    let bearer = format!("Bearer {token}");
    let (status, _, retry, body) = post_with(&app, Some(&bearer), &create).await;
    assert_eq!(status, 429, "{body}");
    assert!(retry.is_some());
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("open streams"),
        "{body}"
    );
    assert_eq!(
        app.chatkit_counts().await.0,
        threads_before,
        "no thread made"
    );
    // Non-streaming requests still work, and other users still stream.
    let (status, _) = app.chatkit(&token, list_threads()).await;
    assert_eq!(status, 200);
    let (staff_status, _) = app
        .stream(
            &app.token_for(DEMO_STAFF_EMAIL).await,
            json!({"type":"threads.create","params":{"input":input("#echo staff")},
                   "metadata":{"agentType":"venue_general","venueId":app.event_of(DEMO_CLIENT_EMAIL).await.1}}),
        )
        .await;
    assert_eq!(staff_status, 200);
    // The slow stream finishes normally, which frees the slot.
    let text = slow.text().await.unwrap();
    assert!(text.contains("user:#slow one"), "{text}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while app.state.limits.streams.open_for(&uid) > 0 {
        assert!(std::time::Instant::now() < deadline, "slot never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, ev) = app.stream(&token, create).await;
    assert_eq!(status, 200, "{ev:?}");
    // A client that goes away mid-stream releases its slot too.
    let abandoned = app
        .http
        .post(app.url("/api/chatkit"))
        .bearer_auth(&token)
        .json(&json!({"type":"threads.add_user_message","params":{"thread_id":thread_id,"input":input("#slow two")}}))
        .send()
        .await
        .unwrap();
    assert_eq!(abandoned.status(), 200);
    drop(abandoned);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while app.state.limits.streams.open_for(&uid) > 0 {
        assert!(std::time::Instant::now() < deadline, "slot never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.finish().await;
}
both_backends!(stream_cap_is_hit_and_recovers, stream_cap);

// Property tests: the parsers and encoders that see untrusted input.

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "type",
            "params",
            "metadata",
            "thread_id",
            "item_id",
            "input",
            "content",
            "text",
            "attachments",
            "inference_options",
            "limit",
            "order",
            "after",
            "action",
            "payload",
            "result",
            "title",
            "name",
            "size",
            "mime_type",
            "kind",
            "item_ids",
            "attachment_id",
            "audio_base64",
            "quoted_text",
            "tool_choice",
            "model",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{0,8}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        prop::sample::select(REQUEST_TYPES.to_vec()).prop_map(Value::from),
        prop::sample::select(vec![
            "input_text",
            "input_tag",
            "asc",
            "desc",
            "positive",
            "thr_0"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn any_event() -> impl Strategy<Value = ThreadStreamEvent> {
    let s = || ".{0,40}";
    prop_oneof![
        (prop::option::of(s()), s())
            .prop_map(|(icon, text)| ThreadStreamEvent::progress(icon, text)),
        (s(), any::<bool>()).prop_map(|(m, r)| ThreadStreamEvent::error_custom(m, r)),
        (
            prop::sample::select(vec![
                NoticeLevel::Info,
                NoticeLevel::Warning,
                NoticeLevel::Danger
            ]),
            s(),
            prop::option::of(s())
        )
            .prop_map(|(l, m, t)| ThreadStreamEvent::notice(l, m, t)),
        (s(), s(), s()).prop_map(|(name, k, v)| ThreadStreamEvent::ClientEffect {
            name,
            data: json!({ k: v }),
        }),
        s().prop_map(|item_id| ThreadStreamEvent::ItemRemoved { item_id }),
        any::<bool>().prop_map(ThreadStreamEvent::stream_options),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_request_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = eventchat::chatkit::parse_request(&bytes);
    }

    #[test]
    fn parse_request_never_panics_on_json(value in json_value()) {
        let bytes = serde_json::to_vec(&value).unwrap();
        let _ = eventchat::chatkit::parse_request(&bytes);
    }

    #[test]
    fn parse_request_never_panics_on_envelopes(
        t in prop::sample::select(REQUEST_TYPES.to_vec()),
        params in json_value(),
        metadata in json_value(),
    ) {
        let body = json!({"type": t, "params": params, "metadata": metadata});
        if let Ok(env) = eventchat::chatkit::parse_request(&serde_json::to_vec(&body).unwrap()) {
            prop_assert_eq!(env.request.type_name(), t);
        }
    }

    #[test]
    fn encode_event_is_one_data_line_that_round_trips(event in any_event()) {
        let frame = encode_event(&event);
        let text = std::str::from_utf8(&frame).unwrap();
        prop_assert!(text.starts_with("data: "), "{text:?}");
        prop_assert!(text.ends_with("\n\n"), "{text:?}");
        let json = &text["data: ".len()..text.len() - 2];
        prop_assert!(!json.contains('\n') && !json.contains('\r'), "one line: {text:?}");
        let parsed: Value = serde_json::from_str(json).unwrap();
        prop_assert_eq!(&parsed, &serde_json::to_value(&event).unwrap());
        let back: ThreadStreamEvent = serde_json::from_value(parsed).unwrap();
        prop_assert_eq!(back, event);
    }
}
