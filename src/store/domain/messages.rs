//! Message queries: messages of a venue between staff, clients and vendors.

use chrono::{DateTime, Utc};
use entity::messages::{self, Column, Entity};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use super::DomainStore;
use crate::store::StoreResult;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageRecord {
    pub id: String,
    pub venue_id: String,
    pub event_id: Option<String>,
    pub sender_id: String,
    pub sender_name: String,
    /// `client`, `vendor` or `venue`.
    pub recipient_type: String,
    /// User id (client, venue) or vendor id (vendor).
    pub recipient_id: String,
    pub subject: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

pub(super) fn from_model(m: messages::Model) -> MessageRecord {
    MessageRecord {
        id: m.id,
        venue_id: m.venue_id,
        event_id: m.event_id,
        sender_id: m.sender_id,
        sender_name: m.sender_name,
        recipient_type: m.recipient_type,
        recipient_id: m.recipient_id,
        subject: m.subject,
        body: m.body,
        created_at: m.created_at,
        read_at: m.read_at,
    }
}

impl DomainStore {
    pub async fn insert_message(&self, m: &MessageRecord) -> StoreResult<()> {
        Entity::insert(messages::ActiveModel {
            id: Set(m.id.clone()),
            venue_id: Set(m.venue_id.clone()),
            event_id: Set(m.event_id.clone()),
            sender_id: Set(m.sender_id.clone()),
            sender_name: Set(m.sender_name.clone()),
            recipient_type: Set(m.recipient_type.clone()),
            recipient_id: Set(m.recipient_id.clone()),
            subject: Set(m.subject.clone()),
            body: Set(m.body.clone()),
            created_at: Set(m.created_at),
            read_at: Set(m.read_at),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }

    pub async fn message(&self, id: &str) -> StoreResult<Option<MessageRecord>> {
        Ok(Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(from_model))
    }

    /// The messages of the venue with these ids, in no particular order (ids of other
    /// venues, or of no message, are left out).
    pub async fn venue_messages_by_ids(
        &self,
        venue_id: &str,
        ids: &[String],
    ) -> StoreResult<Vec<MessageRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = Entity::find()
            .filter(Column::VenueId.eq(venue_id))
            .filter(Column::Id.is_in(ids.iter().map(String::as_str)))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(from_model).collect())
    }

    /// The newest `limit` messages of a venue, or of one of its events, newest first.
    pub async fn recent_messages(
        &self,
        venue_id: &str,
        event_id: Option<&str>,
        limit: u64,
    ) -> StoreResult<Vec<MessageRecord>> {
        let mut q = Entity::find().filter(Column::VenueId.eq(venue_id));
        if let Some(e) = event_id {
            q = q.filter(Column::EventId.eq(e));
        }
        let rows = q
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .limit(limit.max(1))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(from_model).collect())
    }

    /// Number of unread messages addressed to the venue's staff.
    pub async fn unread_venue_messages(&self, venue_id: &str) -> StoreResult<u64> {
        use sea_orm::PaginatorTrait;
        Ok(Entity::find()
            .filter(Column::VenueId.eq(venue_id))
            .filter(Column::RecipientType.eq("venue"))
            .filter(Column::ReadAt.is_null())
            .count(&self.db)
            .await?)
    }
}
