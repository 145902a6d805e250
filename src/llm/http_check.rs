//! What a response must look like before async-openai reads it: a `tower` map around every
//! HTTP call of the hosted client, inside the retry layer (`http_retry.rs`).
//!
//! async-openai reads any successful response to a streamed request as SSE and any error
//! response as an OpenAI error object. So an HTML page with 200 (a base URL that points at a
//! web site or a login portal) would read as an empty stream, and a web server's 404 page (a
//! wrong path) as an unreadable body that has lost its status. Here:
//!
//! - a 2xx response with an HTML body becomes [`WebPage`], which `classify` names;
//! - a 4xx response other than 429 whose body is declared and is not JSON becomes an API
//!   error with that status (a wrong path is a 404, a proxy's 413 is too long).
//!
//! 429 and 5xx responses pass unchanged, so the retry layer outside still retries them.

use async_openai::error::{ApiError, ApiErrorResponse, OpenAIError};
use reqwest::header::CONTENT_TYPE;

/// A successful status whose body is an HTML page, not an answer.
#[derive(Debug, thiserror::Error)]
#[error("the model endpoint answered with an HTML page")]
pub(crate) struct WebPage;

/// The response as async-openai may read it, or the error it stands for.
pub(crate) fn check(
    result: Result<reqwest::Response, OpenAIError>,
) -> Result<reqwest::Response, OpenAIError> {
    let response = result?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if status.is_success() && content_type.starts_with("text/html") {
        return Err(OpenAIError::Boxed(Box::new(WebPage)));
    }
    let not_json = !content_type.is_empty() && !content_type.contains("json");
    if status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS && not_json {
        return Err(OpenAIError::ApiError(ApiErrorResponse {
            status_code: status,
            api_error: ApiError {
                message: format!("HTTP {status} with a {content_type} body"),
                r#type: None,
                param: None,
                code: None,
                misalignment: None,
            },
        }));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, content_type: &str) -> Result<reqwest::Response, OpenAIError> {
        let response = http::Response::builder()
            .status(status)
            .header(CONTENT_TYPE, content_type)
            .body(String::new())
            .map_err(|e| OpenAIError::InvalidArgument(e.to_string()))?;
        Ok(reqwest::Response::from(response))
    }

    fn status_of(result: &Result<reqwest::Response, OpenAIError>) -> Option<u16> {
        match result {
            Ok(response) => Some(response.status().as_u16()),
            Err(OpenAIError::ApiError(e)) => Some(e.status_code.as_u16()),
            Err(_) => None,
        }
    }

    #[test]
    fn html_answers_and_non_json_client_errors_are_named() {
        let page = check(response(200, "text/html; charset=utf-8"));
        assert!(matches!(page, Err(OpenAIError::Boxed(ref e)) if e.is::<WebPage>()));
        assert!(check(response(200, "text/event-stream")).is_ok());
        let wrong_path = check(response(404, "text/html"));
        assert!(matches!(wrong_path, Err(OpenAIError::ApiError(_))));
        assert_eq!(status_of(&wrong_path), Some(404));
        // OpenAI's own errors, rate limits and server errors go on as they are.
        assert!(check(response(400, "application/json")).is_ok());
        assert!(check(response(429, "text/html")).is_ok());
        assert!(check(response(502, "text/html")).is_ok());
    }
}
