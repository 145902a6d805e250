//! The pages' static files, compiled into the binary.
//!
//! `GET /assets/{name}` answers the file with its content type and a strong `ETag` (a hash
//! of the bytes, computed once); a request whose `If-None-Match` matches gets 304. Files are
//! served with `Cache-Control: no-cache` (revalidate each load) so that a new binary's
//! assets are picked up at once while an unchanged file costs a 304 and no body.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!("assets/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file under `src/web/assets/` that a page may load.
pub static ASSETS: &[Asset] = &[
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("session.js", JS),
    asset!("chatkit-fetch.js", JS),
    asset!("sign-in.js", JS),
    asset!("markdown.js", JS),
    asset!("chat-panel.js", JS),
    asset!("chat-builtin.js", JS),
    asset!("chat-client.js", JS),
    asset!("chat-sse.js", JS),
    asset!("chat-items.js", JS),
    asset!("chat-history.js", JS),
    asset!("chat-composer.js", JS),
    asset!("chat-icons.js", JS),
    asset!("chat-thread-bar.js", JS),
    asset!("chatkit-widget.js", JS),
    asset!("dashboard.js", JS),
    asset!("event-page.js", JS),
    asset!("admin.js", JS),
    asset!("favicon.svg", "image/svg+xml"),
];

/// The ETag of each asset, in the order of [`ASSETS`].
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| format!("\"{:016x}\"", fnv1a(a.bytes)))
        .collect()
});

/// A stable 64-bit hash of the bytes (FNV-1a): enough to tell two builds' files apart.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The asset called `name`, with its ETag.
pub fn find(name: &str) -> Option<(&'static Asset, &'static str)> {
    let i = ASSETS.iter().position(|a| a.name == name)?;
    Some((&ASSETS[i], ETAGS[i].as_str()))
}

pub async fn serve(req: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (asset, etag) = find(&name).ok_or_else(|| ApiError::not_found("asset"))?;
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Content-Type-Options", "nosniff"));
    if matches {
        return Ok(resp.finish());
    }
    Ok(resp.content_type(asset.content_type).body(asset.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_found_by_name_with_a_distinct_etag() {
        let mut seen = std::collections::HashSet::new();
        for a in ASSETS {
            let (found, etag) = find(a.name).map_or(("", ""), |(f, e)| (f.name, e));
            assert_eq!(found, a.name);
            assert!(
                seen.insert(etag.to_owned()),
                "duplicate etag for {}",
                a.name
            );
        }
        assert!(find("../Cargo.toml").is_none());
    }

    /// The README shows the fetch wrapper for ChatKit.js integrations; it must be the code
    /// our pages run (the asset without its header comment), byte for byte.
    #[test]
    fn the_fetch_wrapper_is_the_readme_example() {
        let readme = include_str!("../../README.md");
        let asset = find("chatkit-fetch.js").map_or(&[][..], |(a, _)| a.bytes);
        let code: String = std::str::from_utf8(asset)
            .unwrap_or_default()
            .lines()
            .skip_while(|l| l.starts_with("//"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(code.len() > 1000, "the wrapper asset is missing its code");
        assert!(
            readme.contains(&code),
            "README.md's eventchatFetch block differs from src/web/assets/chatkit-fetch.js"
        );
    }
}
