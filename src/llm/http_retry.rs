//! The retry layer around every HTTP call async-openai makes.
//!
//! async-openai's own layer (3 fixed retries, no jitter) is replaced by this one through
//! `Client::with_http_service`, so the settings decide: HTTP 429, 5xx and connect errors
//! are retried at most `llm.max_retries` times; the wait is the response's `Retry-After`
//! (whole seconds) when it has one, else `retry_base_ms` doubling up to `retry_max_ms` with
//! equal jitter. This happens before any byte of an answer reaches the caller, so a retry
//! can never duplicate streamed text; the first-token and turn timeouts still bound it.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use async_openai::middleware::retry::should_retry;

use super::retry::RetryPolicy;

/// A `tower` retry policy with this server's settings; a fresh copy serves each request.
#[derive(Clone, Debug)]
pub struct HttpRetry {
    policy: RetryPolicy,
    attempts: u32,
}

impl HttpRetry {
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            attempts: 0,
        }
    }
}

/// `Retry-After` in whole seconds, if the response has one.
fn retry_after(result: &Result<reqwest::Response, OpenAIError>) -> Option<Duration> {
    let value = result
        .as_ref()
        .ok()?
        .headers()
        .get(reqwest::header::RETRY_AFTER)?;
    value
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

impl tower::retry::Policy<HttpRequestFactory, reqwest::Response, OpenAIError> for HttpRetry {
    type Future = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

    fn retry(
        &mut self,
        _req: &mut HttpRequestFactory,
        result: &mut Result<reqwest::Response, OpenAIError>,
    ) -> Option<Self::Future> {
        if self.attempts >= self.policy.max_retries || !should_retry(result) {
            return None;
        }
        let delay = retry_after(result).unwrap_or_else(|| self.policy.delay(self.attempts));
        self.attempts += 1;
        tracing::debug!(
            attempt = self.attempts,
            delay_ms = delay.as_millis() as u64,
            "retrying the LLM request"
        );
        Some(Box::pin(tokio::time::sleep(delay)))
    }

    fn clone_request(&mut self, req: &HttpRequestFactory) -> Option<HttpRequestFactory> {
        Some(req.clone())
    }
}
