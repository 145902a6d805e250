//! The OpenAPI document against the server: every operation it lists answers something
//! other than the default 404 "no such route", and it lists exactly the registered
//! `/api/v1` routes (`api::ROUTES`, the table `configure` registers from).

use std::collections::BTreeSet;

use eventchat::http::api::ROUTES;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::rest_support::{MAYA, event, get, probe, venue};

async fn document(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.seed().await;
    // The document is public.
    let (status, doc) = get(&app, None, "/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    let token = app.token_for(MAYA).await;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
            // Any value for the path parameters: the route must exist, whatever it answers.
            let concrete = path
                .replace("{venue_id}", &venue(1))
                .replace("{event_id}", &event(1))
                .replace("{request_id}", "no-such-request");
            let (status, body) = probe(&app, method, &token, &concrete).await;
            let no_route = status == 404 && body["error"]["message"] == "no such route";
            assert!(!no_route, "{method} {path} is documented but not routed");
            assert_ne!(status, 401, "{method} {path}: the token passes");
        }
    }
    let registered: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented, registered, "document vs registered routes");
    // And the check can fail: a path that is not routed gets the default answer.
    let (status, body) = get(&app, Some(&token), "/api/v1/venues").await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (404, Some("no such route"))
    );
    app.finish().await;
}
both_backends!(rest_openapi_document, document);
