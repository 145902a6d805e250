//! Cursor paging shared by every list query.
//!
//! A page is fetched with `limit + 1` rows: the extra row only tells whether more exist. The
//! cursor (`after`) is the id of the last row returned, and only when more exist, which is
//! the reference server's rule (`after` is omitted on the last page).

/// Sort direction of a list request (`order` on the wire; default `desc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    Asc,
    #[default]
    Desc,
}

/// One page of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct PageOf<T> {
    pub data: Vec<T>,
    pub has_more: bool,
    /// Id of the last row when `has_more`.
    pub after: Option<String>,
}

impl<T> PageOf<T> {
    /// Builds a page from `limit + 1` fetched rows.
    pub fn from_overfetch(mut rows: Vec<T>, limit: u64, id_of: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let after = if has_more {
            rows.last().map(&id_of)
        } else {
            None
        };
        Self {
            data: rows,
            has_more,
            after,
        }
    }

    /// Converts every row, failing on the first error.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<PageOf<U>, E> {
        Ok(PageOf {
            data: self.data.into_iter().map(f).collect::<Result<_, _>>()?,
            has_more: self.has_more,
            after: self.after,
        })
    }

    /// An empty last page.
    pub fn empty() -> Self {
        Self {
            data: Vec::new(),
            has_more: false,
            after: None,
        }
    }
}

/// Rows strictly after the anchor `(created_at, tie)` in the given order: the keyset
/// condition every cursor query uses. `tie` is a unique column that breaks timestamp ties.
pub fn after_condition<T, K>(
    order: Order,
    time_col: impl sea_orm::ColumnTrait,
    created_at: T,
    tie_col: impl sea_orm::ColumnTrait,
    tie: K,
) -> sea_orm::Condition
where
    T: Into<sea_orm::Value> + Clone,
    K: Into<sea_orm::Value> + Clone,
{
    use sea_orm::Condition;
    let (time_cmp, tie_cmp) = match order {
        Order::Asc => (time_col.gt(created_at.clone()), tie_col.gt(tie)),
        Order::Desc => (time_col.lt(created_at.clone()), tie_col.lt(tie)),
    };
    Condition::any()
        .add(time_cmp)
        .add(Condition::all().add(time_col.eq(created_at)).add(tie_cmp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overfetch_sets_cursor_only_when_more_exist() {
        let p = PageOf::from_overfetch(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(p.data, vec![1, 2]);
        assert!(p.has_more);
        assert_eq!(p.after.as_deref(), Some("2"));
        let p = PageOf::from_overfetch(vec![1, 2], 2, |n| n.to_string());
        assert!(!p.has_more);
        assert_eq!(p.after, None);
    }
}
