//! `tool_calls`: audit log of every tool an assistant ran.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tool_calls")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub thread_id: String,
    pub user_id: String,
    pub agent_type: String,
    pub tool: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub arguments: Json,
    #[sea_orm(column_type = "Text")]
    pub result_summary: String,
    pub ok: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
