//! Attachment metadata, scoped to the uploading user.
//!
//! The bytes live on disk (see `http::uploads`); this table holds who owns an attachment,
//! whether its bytes arrived, where they are, and the attachment JSON as clients see it.

use chrono::{DateTime, Utc};
use entity::chatkit_attachments::{self, Column, Entity};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::Value;

use super::error::{StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq)]
pub struct AttachmentRecord {
    pub id: String,
    pub user_id: String,
    pub thread_id: Option<String>,
    pub name: String,
    pub mime_type: String,
    /// `file` or `image`.
    pub kind: String,
    pub size_bytes: i64,
    pub uploaded: bool,
    pub storage_path: Option<String>,
    /// The attachment JSON sent to clients.
    pub data: Value,
    pub created_at: DateTime<Utc>,
}

fn from_model(m: chatkit_attachments::Model) -> AttachmentRecord {
    AttachmentRecord {
        id: m.id,
        user_id: m.user_id,
        thread_id: m.thread_id,
        name: m.name,
        mime_type: m.mime_type,
        kind: m.kind,
        size_bytes: m.size_bytes,
        uploaded: m.uploaded,
        storage_path: m.storage_path,
        data: m.data,
        created_at: m.created_at,
    }
}

fn to_active(a: &AttachmentRecord) -> chatkit_attachments::ActiveModel {
    chatkit_attachments::ActiveModel {
        id: Set(a.id.clone()),
        user_id: Set(a.user_id.clone()),
        thread_id: Set(a.thread_id.clone()),
        name: Set(a.name.clone()),
        mime_type: Set(a.mime_type.clone()),
        kind: Set(a.kind.clone()),
        size_bytes: Set(a.size_bytes),
        uploaded: Set(a.uploaded),
        storage_path: Set(a.storage_path.clone()),
        data: Set(a.data.clone()),
        metadata: Set(Value::Object(Default::default())),
        created_at: Set(a.created_at),
    }
}

#[derive(Clone, Debug)]
pub struct AttachmentStore {
    db: DatabaseConnection,
}

impl AttachmentStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn insert(&self, a: &AttachmentRecord) -> StoreResult<()> {
        Entity::insert(to_active(a))
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }

    /// Loads an attachment of `user_id`.
    pub async fn load(&self, user_id: &str, id: &str) -> StoreResult<AttachmentRecord> {
        Entity::find_by_id(id.to_owned())
            .filter(Column::UserId.eq(user_id))
            .one(&self.db)
            .await?
            .map(from_model)
            .ok_or(StoreError::NotFound("attachment"))
    }

    /// Loads an attachment by id alone, for the upload and preview routes, which are
    /// authorized by the capability token the attachment carries, not by a user.
    pub async fn load_unscoped(&self, id: &str) -> StoreResult<AttachmentRecord> {
        Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(from_model)
            .ok_or(StoreError::NotFound("attachment"))
    }

    /// Saves the mutable parts (thread, upload state, path, client JSON) of the user's
    /// attachment.
    pub async fn save(&self, a: &AttachmentRecord) -> StoreResult<()> {
        let res = Entity::update_many()
            .set(chatkit_attachments::ActiveModel {
                thread_id: Set(a.thread_id.clone()),
                uploaded: Set(a.uploaded),
                size_bytes: Set(a.size_bytes),
                storage_path: Set(a.storage_path.clone()),
                data: Set(a.data.clone()),
                ..Default::default()
            })
            .filter(Column::Id.eq(&a.id))
            .filter(Column::UserId.eq(&a.user_id))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("attachment"));
        }
        Ok(())
    }

    /// Deletes the user's attachment row.
    pub async fn delete(&self, user_id: &str, id: &str) -> StoreResult<()> {
        let res = Entity::delete_many()
            .filter(Column::Id.eq(id))
            .filter(Column::UserId.eq(user_id))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("attachment"));
        }
        Ok(())
    }
}
