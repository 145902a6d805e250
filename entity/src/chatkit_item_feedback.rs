//! `chatkit_item_feedback`: thumbs up/down given on assistant items.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "chatkit_item_feedback")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub thread_id: String,
    pub item_id: String,
    pub user_id: String,
    /// `positive` or `negative`.
    pub kind: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
