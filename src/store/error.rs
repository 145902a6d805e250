//! Store errors: what a query can fail with, independent of the HTTP layer.
//!
//! `NotFound` is returned both for rows that do not exist and for rows that belong to another
//! user, so callers cannot tell the two apart (and neither can clients).

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
    /// Thread `{0}` was taken over by another node of the cluster: this node must not write
    /// to it again (`owners.rs`).
    #[error("thread {0} is now served by another node")]
    Fenced(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
