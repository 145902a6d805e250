//! Shared pieces of the REST API tests (`rest_*.rs`): the demo cast, JSON requests with
//! an optional token, walking a paged list, and the "no nulls on the wire" check.

use eventchat::store::seed::{self, demo_id, table};
use serde_json::Value;

use crate::helpers::TestApp;

pub const EMILY: &str = seed::DEMO_CLIENT_EMAIL;
pub const MAYA: &str = seed::DEMO_STAFF_EMAIL;
pub const OLIVIA: &str = "olivia@willowcreek.example";
pub const ROSA: &str = "rosa@bloomandvine.example";
pub const ADMIN: &str = seed::DEMO_ADMIN_EMAIL;

pub fn venue(n: u32) -> String {
    demo_id(table::VENUE, n)
}
pub fn event(n: u32) -> String {
    demo_id(table::EVENT, n)
}
pub fn change_request(n: u32) -> String {
    demo_id(table::CHANGE_REQUEST, n)
}

/// The status and JSON body of a GET (`token: None` sends no Authorization header).
pub async fn get(app: &TestApp, token: Option<&str>, path: &str) -> (u16, Value) {
    let mut req = app.http.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    answer(req).await
}

/// The status and JSON body of a POST with this raw body.
pub async fn post(app: &TestApp, token: Option<&str>, path: &str, body: &str) -> (u16, Value) {
    let mut req = app
        .http
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    answer(req).await
}

async fn answer(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// Every row of a list, fetched `limit` rows at a time from `path` (which may already
/// have a query string), checking the envelope of each page; returns the rows and the
/// number of pages.
pub async fn walk(app: &TestApp, token: &str, path: &str, limit: u32) -> (Vec<Value>, usize) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &after {
            Some(a) => format!("{path}{sep}limit={limit}&after={a}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let (status, page) = get(app, Some(token), &url).await;
        assert_eq!(status, 200, "{url}: {page}");
        pages += 1;
        let data = page["data"].as_array().expect("data").clone();
        assert!(data.len() <= limit as usize, "{url}: {page}");
        let has_more = page["has_more"].as_bool().expect("has_more");
        match page.get("after") {
            Some(a) => {
                assert!(has_more, "`after` only when more rows follow: {page}");
                assert_eq!(a, &data.last().unwrap()["id"], "after = last row's id");
                after = Some(a.as_str().unwrap().to_owned());
            }
            None => assert!(!has_more, "`after` omitted on the last page: {page}"),
        }
        rows.extend(data);
        if !has_more {
            return (rows, pages);
        }
        assert!(pages < 1000, "the walk ends");
    }
}

/// The ids of rows.
pub fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Fails if any value in the document is `null` (the API omits absent fields).
pub fn assert_no_nulls(v: &Value, at: &str) {
    match v {
        Value::Null => panic!("null at {at}"),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                assert_no_nulls(x, &format!("{at}[{i}]"));
            }
        }
        Value::Object(o) => {
            // Free-form client data (a request's `details`) is passed through as given.
            for (k, x) in o.iter().filter(|(k, _)| k.as_str() != "details") {
                assert_no_nulls(x, &format!("{at}.{k}"));
            }
        }
        _ => {}
    }
}

/// `{"error":{"code":..}}` with this code, and the message.
pub fn error_code(body: &Value) -> (&str, &str) {
    (
        body["error"]["code"].as_str().unwrap_or("?"),
        body["error"]["message"].as_str().unwrap_or("?"),
    )
}

/// An RFC 3339 timestamp of the wire, parsed (string order is not time order when the
/// fractional digits differ).
pub fn ts(v: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a timestamp"))
        .expect("RFC 3339")
        .with_timezone(&chrono::Utc)
}

/// The status and (unless it is an endless event stream) the JSON body of one request.
pub async fn probe(
    app: &TestApp,
    method: &str,
    token: &str,
    path: &str,
) -> (u16, serde_json::Value) {
    let req = match method {
        "get" => app.http.get(app.url(path)),
        "post" => app.http.post(app.url(path)),
        other => panic!("unexpected method {other}"),
    };
    let r = req.bearer_auth(token).send().await.expect("request");
    let status = r.status().as_u16();
    let stream = r
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if stream {
        // A live feed answers 200 and never ends; its headers are the answer.
        return (status, serde_json::Value::Null);
    }
    let text = r.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}
