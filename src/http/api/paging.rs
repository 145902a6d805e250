//! The paging half of every list route: the `limit`/`after` query and the page envelope.
//!
//! `limit` and `after` arrive as raw text so that a bad value is refused by
//! `domain::paging::PageRequest` with a message that names the field; the envelope is
//! `{"data": [...], "has_more": bool, "after": "..."}` with `after` (the last row's id)
//! only when `has_more`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::paging::PageRequest;
use crate::error::ApiError;
use crate::store::PageOf;

/// `limit` (1..=100, default 20) and `after` (the previous page's `after`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows per page, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `after` of the previous page.
    pub after: Option<String>,
}

impl PageQuery {
    pub fn request(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::parse(
            self.limit.as_deref(),
            self.after.as_deref(),
        )?)
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub has_more: bool,
    /// The id of the last row, when more rows follow; pass it as `after`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl<T> Page<T> {
    /// The envelope of a domain page, each row converted to its wire shape.
    pub fn of<R>(page: PageOf<R>, f: impl FnMut(R) -> T) -> Self {
        Self {
            data: page.data.into_iter().map(f).collect(),
            has_more: page.has_more,
            after: page.after,
        }
    }
}
