//! The connection the domain queries run on: the pool, or (in a cluster) the transaction of
//! one tool call, which also holds the thread's owner fence, the call's audit row and its
//! outbox row, so that a tool's domain writes land together with them or not at all
//! (`agents::tool_round`, `store::owners`).

use std::sync::Arc;

use crate::store::conn::Conn;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, Statement, TransactionTrait,
};

#[derive(Debug, Clone)]
pub enum DomainConn {
    Pool(DatabaseConnection),
    Txn(Arc<DatabaseTransaction>),
}

impl DomainConn {
    /// A transaction of its own (on a transaction: a savepoint inside it).
    pub async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        match self {
            Self::Pool(db) => db.begin().await,
            Self::Txn(t) => t.begin().await,
        }
    }
}

impl DomainConn {
    /// The pool or the transaction, borrowed as one connection type.
    fn conn(&self) -> Conn<'_> {
        match self {
            Self::Pool(db) => Conn::Pool(db),
            Self::Txn(t) => Conn::Txn(t),
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for DomainConn {
    fn get_database_backend(&self) -> DbBackend {
        self.conn().get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.conn().execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.conn().execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.conn().query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.conn().query_all_raw(stmt).await
    }
}
