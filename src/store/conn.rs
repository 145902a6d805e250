//! One connection type for code that runs on either a pool or a transaction chosen at run
//! time (sea-orm's query builders take any `&impl ConnectionTrait`, but one call site must
//! name one type).

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, Statement,
};

/// A borrowed pool or transaction, as one `ConnectionTrait`: what a group-commit write runs on
/// (the batch's transaction, or the writer itself for a lone single statement), and what a
/// [`super::domain::DomainConn`] lends its queries.
pub enum Conn<'a> {
    Txn(&'a DatabaseTransaction),
    Pool(&'a DatabaseConnection),
}

#[async_trait::async_trait]
impl ConnectionTrait for Conn<'_> {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Conn::Txn(t) => t.get_database_backend(),
            Conn::Pool(p) => p.get_database_backend(),
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Conn::Txn(t) => t.execute_raw(stmt).await,
            Conn::Pool(p) => p.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Conn::Txn(t) => t.execute_unprepared(sql).await,
            Conn::Pool(p) => p.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Conn::Txn(t) => t.query_one_raw(stmt).await,
            Conn::Pool(p) => p.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Conn::Txn(t) => t.query_all_raw(stmt).await,
            Conn::Pool(p) => p.query_all_raw(stmt).await,
        }
    }
}
