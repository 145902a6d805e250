//! `chatkit_thread_items`: the items of a thread; `seq` is the monotonic paging order.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "chatkit_thread_items")]
pub struct Model {
    /// Insertion sequence (SQLite `integer primary key autoincrement`, Postgres bigserial).
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// ChatKit item id (`msg_...`, `tc_...`, `wf_...`).
    #[sea_orm(unique)]
    pub id: String,
    pub thread_id: String,
    pub item_type: String,
    /// `user`, `assistant` or `None`.
    pub role: Option<String>,
    /// The full ChatKit item JSON, as sent on the wire.
    #[sea_orm(column_type = "JsonBinary")]
    pub content: Json,
    pub status: Option<String>,
    /// Server-side data (tool arguments and results); never sent to clients.
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::chatkit_threads::Entity",
        from = "Column::ThreadId",
        to = "super::chatkit_threads::Column::Id",
        on_delete = "Cascade"
    )]
    Thread,
}

impl Related<super::chatkit_threads::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Thread.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
