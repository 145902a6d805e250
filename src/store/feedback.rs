//! Feedback (thumbs up/down) on assistant items.

use chrono::{DateTime, Utc};
use entity::chatkit_item_feedback::{self, Entity};
use sea_orm::{ActiveValue::NotSet, ActiveValue::Set, DatabaseConnection, EntityTrait};

use super::error::StoreResult;
use super::threads::ThreadRecord;

#[derive(Clone, Debug)]
pub struct FeedbackStore {
    db: DatabaseConnection,
}

impl FeedbackStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Records `kind` for each item of the (already authorized) thread.
    pub async fn add(
        &self,
        thread: &ThreadRecord,
        item_ids: &[String],
        kind: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        if item_ids.is_empty() {
            return Ok(());
        }
        let rows = item_ids
            .iter()
            .map(|id| chatkit_item_feedback::ActiveModel {
                id: NotSet,
                thread_id: Set(thread.id.clone()),
                item_id: Set(id.clone()),
                user_id: Set(thread.user_id.clone()),
                kind: Set(kind.to_owned()),
                created_at: Set(now),
            });
        Entity::insert_many(rows)
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }
}
