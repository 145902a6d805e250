//! Security through the real server: which tokens get in, what an authenticated user may
//! reach (every ChatKit request type and the admin API, aimed at someone else's data), the
//! per-user rate limit and stream cap, and property tests of the two parsers/encoders that
//! see untrusted bytes (`parse_request`, `encode_event`).
//!
//! One file per concern: `tokens` (which tokens get in), `access` (someone else's data),
//! `limits` (rate limit, stream cap), `addresses` (the per-address limit before
//! authentication, trusted proxies, what a 401 logs), `properties` (the parsers and
//! encoders), `deployment` (no shipped secret outside local and test).

mod access;
mod addresses;
mod deployment;
mod limits;
mod properties;
mod tokens;

use serde_json::Value;

use crate::helpers::TestApp;

/// A raw POST to the ChatKit endpoint with this `Authorization` header (or none):
/// status, `WWW-Authenticate`, `Retry-After`, JSON body.
pub(super) async fn post_with(
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

pub(super) async fn user_id(app: &TestApp, email: &str) -> String {
    app.user(email).await.id
}
