//! The page shells: one HTML document per page, naming the ES module that builds it.
//!
//! A shell holds only public settings (`<script type="application/json" id="ec-config">`):
//! the ChatKit path, the renderer (`ui.chat`), whether dev sign-in is on, the page's own id.
//! Everything else the module fetches with the user's token, so the shell is the same for
//! every visitor and never carries data. Responses forbid framing by other origins and limit
//! scripts to our own origin (plus ChatKit.js's CDN when `ui.chat = "chatkit"`).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use crate::config::{ChatRenderer, Settings};
use crate::state::AppState;

/// What one page is: its title, its module, and the id it is about.
struct Page<'a> {
    title: &'a str,
    module: &'a str,
    kind: &'a str,
    id: Option<&'a str>,
}

pub async fn sign_in(state: web::Data<AppState>) -> HttpResponse {
    render(
        &state.settings,
        &Page {
            title: "Sign in",
            module: "sign-in.js",
            kind: "sign-in",
            id: None,
        },
    )
}

pub async fn venue_dashboard(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    render(
        &state.settings,
        &Page {
            title: "Venue dashboard",
            module: "dashboard.js",
            kind: "venue",
            id: Some(&id),
        },
    )
}

pub async fn event_page(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    render(
        &state.settings,
        &Page {
            title: "Your event",
            module: "event-page.js",
            kind: "event",
            id: Some(&id),
        },
    )
}

pub async fn admin(state: web::Data<AppState>) -> HttpResponse {
    render(
        &state.settings,
        &Page {
            title: "Live actors",
            module: "admin.js",
            kind: "admin",
            id: None,
        },
    )
}

/// The public settings a page's module reads.
fn page_config(settings: &Settings, page: &Page<'_>) -> Value {
    let ui = &settings.ui;
    json!({
        "page": page.kind,
        "id": page.id,
        "chatkit_path": settings.server.chatkit_path.trim_end_matches('/'),
        "chat": ui.chat,
        "chatkit_js_url": ui.chatkit_js_url,
        "chatkit_domain_key": ui.chatkit_domain_key,
        "accent_color": ui.accent_color,
        "dev_login": settings.auth.dev_login,
        "host_origins": settings.server.cors_allowed_origins,
    })
}

/// JSON that is safe inside a `<script>` element: no `<`, `>` or `&` that could close it.
fn script_json(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Text that is safe inside an HTML element or attribute.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The origin (`scheme://host[:port]`) of a URL, for the content security policy.
fn origin_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let host_len = rest.find('/').unwrap_or(rest.len());
    Some(&url[..url.len() - rest.len() + host_len])
}

fn content_security_policy(settings: &Settings) -> String {
    let cdn = match settings.ui.chat {
        ChatRenderer::Chatkit => origin_of(&settings.ui.chatkit_js_url).unwrap_or(""),
        ChatRenderer::Builtin => "",
    };
    format!(
        "default-src 'self'; script-src 'self' {cdn}; connect-src 'self' {cdn}; \
         frame-src {frame}; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        frame = if cdn.is_empty() { "'none'" } else { cdn },
    )
}

fn render(settings: &Settings, page: &Page<'_>) -> HttpResponse {
    let accent = html_escape(&settings.ui.accent_color);
    let body = format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="theme-color" content="{accent}">
<title>{title} · eventchat</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
<script type="application/json" id="ec-config">{config}</script>
<script type="module" src="/assets/{module}"></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="topbar" role="banner">
  <a class="brand" href="/">eventchat</a>
  <nav id="topnav" aria-label="Account"></nav>
</header>
<main id="main" tabindex="-1">
  <p class="loading" role="status">Loading…</p>
  <noscript><p class="error">This page needs JavaScript.</p></noscript>
</main>
</body>
</html>
"##,
        title = html_escape(page.title),
        config = script_json(&page_config(settings, page)),
        module = html_escape(page.module),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            content_security_policy(settings),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let s = script_json(&json!({"id": "</script><script>alert(1)</script>"}));
        assert!(!s.contains('<') && !s.contains('>'));
        let back: Value = serde_json::from_str(&s).unwrap_or_default();
        assert_eq!(back["id"], "</script><script>alert(1)</script>");
    }

    #[test]
    fn origin_is_scheme_and_host() {
        assert_eq!(
            origin_of("https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"),
            Some("https://cdn.platform.openai.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:9/x"),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(origin_of("nonsense"), None);
    }
}
