//! `chatkit_attachments`: files and images uploaded through the ChatKit widget.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "chatkit_attachments")]
pub struct Model {
    /// ChatKit attachment id (`atc_...`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    /// Set once the attachment is used in a thread.
    pub thread_id: Option<String>,
    pub name: String,
    pub mime_type: String,
    /// `file` or `image`.
    pub kind: String,
    pub size_bytes: i64,
    pub uploaded: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub storage_path: Option<String>,
    /// The attachment JSON as sent to clients.
    #[sea_orm(column_type = "JsonBinary")]
    pub data: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
