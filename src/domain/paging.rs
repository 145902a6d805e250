//! What a caller asks of a list: how many rows (`limit`) and from where (`after`).
//!
//! Every list of the REST API is keyset-paged on its sort key plus the row id: `after` is
//! the id of the last row of the previous page, and the list service looks that row up and
//! continues strictly after its key, so rows are never repeated or skipped even when rows
//! are added meanwhile. A cursor that names no row of the list is refused
//! ([`unknown_cursor`]) rather than silently restarting at the first page.

use super::{DomainError, DomainResult};

/// Rows per page when the caller does not say.
pub const DEFAULT_LIMIT: u64 = 20;
/// The largest page a caller may ask for.
pub const MAX_LIMIT: u64 = 100;

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// 1..=[`MAX_LIMIT`].
    pub limit: u64,
    /// The id of the last row of the previous page.
    pub after: Option<String>,
}

impl PageRequest {
    /// Validates the raw query values; an empty `after` means the first page.
    pub fn parse(limit: Option<&str>, after: Option<&str>) -> DomainResult<Self> {
        let limit = match limit.map(str::trim) {
            None | Some("") => DEFAULT_LIMIT,
            Some(s) => match s.parse::<u64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(DomainError::invalid(
                        "limit",
                        format!("must be an integer from 1 to {MAX_LIMIT}, got {s:?}"),
                    ));
                }
            },
        };
        let after = after
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned);
        Ok(Self { limit, after })
    }
}

/// The error for an `after` that names no row of the list being paged.
pub fn unknown_cursor() -> DomainError {
    DomainError::invalid(
        "after",
        "unknown cursor; pass the `after` value of the previous page",
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(PageRequest::parse(Some("100"), None).unwrap().limit, 100);
        assert_eq!(PageRequest::parse(Some("1"), Some("")).unwrap().after, None);
        for bad in ["0", "101", "-1", "ten", "1.5"] {
            let e = PageRequest::parse(Some(bad), None).unwrap_err();
            assert!(e.to_string().starts_with("invalid limit"), "{bad}: {e}");
        }
    }
}
