//! The tool-call audit log: who ran which tool with which arguments, and how it went.
//! Written once per call by the turn runner; never updated.

use chrono::{DateTime, Utc};
use entity::tool_calls::{self, Column, Entity};
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde::Serialize;
use serde_json::Value;

use super::DomainStore;
use crate::store::owners::fenced;
use crate::store::{StoreError, StoreResult};
use crate::vocab::AgentType;

/// One tool call to record.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallAudit {
    pub thread_id: String,
    pub user_id: String,
    pub agent_type: AgentType,
    pub tool: String,
    pub arguments: Value,
    pub result_summary: String,
    pub ok: bool,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// A recorded tool call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCallRecord {
    pub id: i64,
    pub thread_id: String,
    pub user_id: String,
    pub agent_type: AgentType,
    pub tool: String,
    pub arguments: Value,
    pub result_summary: String,
    pub ok: bool,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: DateTime<Utc>,
}

impl DomainStore {
    pub async fn record_tool_call(&self, a: ToolCallAudit) -> StoreResult<()> {
        let thread_id = a.thread_id.clone();
        let insert = Entity::insert(tool_calls::ActiveModel {
            id: NotSet,
            thread_id: Set(a.thread_id),
            user_id: Set(a.user_id),
            agent_type: Set(a.agent_type.as_str().to_owned()),
            tool: Set(a.tool),
            arguments: Set(a.arguments),
            result_summary: Set(a.result_summary),
            ok: Set(a.ok),
            error: Set(a.error),
            duration_ms: Set(a.duration_ms),
            created_at: Set(Utc::now()),
        });
        let _: u64 = match &self.db {
            super::DomainConn::Pool(db) => fenced!(self.owners, db, &thread_id, |c| {
                insert
                    .exec_without_returning(c)
                    .await
                    .map_err(StoreError::from)
            })?,
            txn @ super::DomainConn::Txn(_) => insert.exec_without_returning(txn).await?,
        };
        Ok(())
    }

    /// The calls of a thread, oldest first.
    pub async fn tool_calls_for_thread(&self, thread_id: &str) -> StoreResult<Vec<ToolCallRecord>> {
        let rows = Entity::find()
            .filter(Column::ThreadId.eq(thread_id))
            .order_by_asc(Column::Id)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|m| {
                let agent_type = AgentType::parse(&m.agent_type).map_err(|e| {
                    StoreError::Corrupt(format!("tool call {} agent_type: {e}", m.id))
                })?;
                Ok(ToolCallRecord {
                    id: m.id,
                    thread_id: m.thread_id,
                    user_id: m.user_id,
                    agent_type,
                    tool: m.tool,
                    arguments: m.arguments,
                    result_summary: m.result_summary,
                    ok: m.ok,
                    error: m.error,
                    duration_ms: m.duration_ms,
                    created_at: m.created_at,
                })
            })
            .collect()
    }
}
