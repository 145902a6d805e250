//! JSON request bodies outside the ChatKit envelope (the REST API `/api/v1`, the turn
//! lifecycle, dev sign-in), read by the same text rules as ChatKit requests (protocol §2.10,
//! `crate::json_text`): a lone UTF-16 surrogate escape is read as U+FFFD, and U+0000 in any
//! string or key is a 400 naming the field by its JSON path, before the handler runs.
//!
//! [`JsonBody`] is the extractor (in place of `web::Json`); [`parse`] is the same rule for a
//! handler that reads its bytes itself (an optional body). The body limit is
//! `server.body_limit_bytes` (the `PayloadConfig` registered by `http::configure`); every
//! failure is an [`ApiError`], so it renders like any other.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;
use crate::json_text;

/// A JSON body of type `T`, checked by the rules above.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// Parses `body` as a `T` by the rules above.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = json_text::repair_lone_surrogates(body);
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    if let Some(at) = json_text::find_nul(&value) {
        return Err(ApiError::bad_request(at.to_string()));
    }
    T::deserialize(value).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = bytes.await.map_err(|e| {
                let status = e.as_response_error().status_code();
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge(format!("the body is too large: {e}"))
                } else {
                    ApiError::bad_request(format!("cannot read the body: {e}"))
                }
            })?;
            parse(&bytes).map(JsonBody)
        })
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Note {
        note: Option<String>,
    }

    #[test]
    fn the_body_rules_apply() {
        let n: Note = parse(br#"{"note":"a\ud800b"}"#).unwrap();
        assert_eq!(n.note.as_deref(), Some("a\u{FFFD}b"));
        let e = parse::<Note>(br#"{"note":"a\u0000b"}"#).unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        assert_eq!(
            e.to_string(),
            "`note` contains U+0000 (NUL), which is not allowed in text"
        );
        let e = parse::<Note>(b"{").unwrap_err();
        assert!(e.to_string().starts_with("invalid JSON body: "), "{e}");
        let e = parse::<Note>(br#"{"note":7}"#).unwrap_err();
        assert!(e.to_string().starts_with("invalid JSON body: "), "{e}");
    }
}
