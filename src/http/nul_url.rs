//! U+0000 in a URL (`%00` in the path or the query string) is refused with a 400 before
//! routing, for every route (protocol §2.10): PostgreSQL cannot compare or store it, so an id
//! or a search term holding it would be a 500 there and a miss on SQLite, and no handler
//! should have to know. A NUL byte cannot appear raw in a request line; only its escape can.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::error::ApiError;

/// The middleware (`middleware::from_fn`): refuses a URL that holds `%00`.
pub async fn refuse_nul(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if holds_nul(req.uri().path_and_query().map_or("", |pq| pq.as_str())) {
        return Err(
            ApiError::bad_request("the URL contains U+0000 (%00), which is not allowed").into(),
        );
    }
    next.call(req).await
}

/// Whether a raw (still percent-encoded) path and query decode to something with U+0000.
fn holds_nul(raw: &str) -> bool {
    raw.contains("%00")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_escape_of_nul_counts() {
        assert!(holds_nul("/api/v1/events/e%00"));
        assert!(holds_nul("/api/v1/search?q=a%00b"));
        assert!(
            !holds_nul("/api/v1/search?q=a%2500b"),
            "an escaped `%`, then `00`"
        );
        assert!(!holds_nul("/api/v1/search?q=100%"));
        assert!(!holds_nul("/api/v1/events/e%20x?q=%C3%A9"));
    }
}
