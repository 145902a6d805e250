//! `chatkit_threads`: one row per ChatKit thread; soft-deleted by setting `deleted_at`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "chatkit_threads")]
pub struct Model {
    /// ChatKit thread id (`thr_...`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    /// `client`, `venue_general` or `venue_event`.
    pub agent_type: String,
    pub venue_id: Option<String>,
    pub event_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub title: Option<String>,
    /// The ChatKit thread status object, e.g. `{"type":"active"}`.
    #[sea_orm(column_type = "JsonBinary")]
    pub status: Json,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub allowed_image_domains: Option<Json>,
    /// Server-side metadata; never sent to clients as is.
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// `None` while the thread is live.
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::chatkit_thread_items::Entity")]
    Items,
}

impl Related<super::chatkit_thread_items::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Items.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
