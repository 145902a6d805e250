//! Which tokens get in: the token matrix on the ChatKit endpoint and algorithm confusion.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eventchat::store::seed::DEMO_CLIENT_EMAIL;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::{post_with, user_id};
use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::requests as req;

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
        let (status, _, _, body) =
            post_with(&app, Some(&header), &req::list_threads(json!({}))).await;
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
        let (status, www, _, body) =
            post_with(&app, header.as_deref(), &req::list_threads(json!({}))).await;
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
    let (status, www, _, body) = post_with(
        &app,
        Some(&bearer(&stranger)),
        &req::list_threads(json!({})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(www.is_none());
    // Refused before anything is read or written, streaming requests included.
    let create = req::create_thread("hi", json!({"agentType":"client","eventId":"x"}));
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
    let (status, _, _, body) = post_with(
        &app,
        Some(&format!("Bearer {rs}")),
        &req::list_threads(json!({})),
    )
    .await;
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
        let (status, www, _, body) = post_with(
            &app,
            Some(&format!("Bearer {tok}")),
            &req::list_threads(json!({})),
        )
        .await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(www.as_deref(), Some("Bearer"), "{name}");
    }
    app.finish().await;
}
both_backends!(algorithm_confusion_is_refused, algorithm_confusion);
