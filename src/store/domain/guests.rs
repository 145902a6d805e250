//! Guest list queries. Duplicate and capacity rules are checked in `domain::guests`.

use chrono::{DateTime, Utc};
use entity::guests::{self, Column, Entity};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::DomainStore;
use crate::store::{StoreError, StoreResult};
use crate::vocab::Rsvp;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuestRecord {
    pub id: String,
    pub event_id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub rsvp_status: Rsvp,
    pub dietary_needs: Option<String>,
    pub plus_one: bool,
    pub table_number: Option<i32>,
    pub created_at: DateTime<Utc>,
}

fn from_model(m: guests::Model) -> StoreResult<GuestRecord> {
    let rsvp_status = Rsvp::parse(&m.rsvp_status)
        .map_err(|e| StoreError::Corrupt(format!("guest {} rsvp_status: {e}", m.id)))?;
    Ok(GuestRecord {
        id: m.id,
        event_id: m.event_id,
        name: m.name,
        email: m.email,
        phone: m.phone,
        rsvp_status,
        dietary_needs: m.dietary_needs,
        plus_one: m.plus_one,
        table_number: m.table_number,
        created_at: m.created_at,
    })
}

impl DomainStore {
    /// The guests of an event by name, optionally of one RSVP status.
    pub async fn event_guests(
        &self,
        event_id: &str,
        rsvp_status: Option<Rsvp>,
    ) -> StoreResult<Vec<GuestRecord>> {
        let mut q = Entity::find().filter(Column::EventId.eq(event_id));
        if let Some(s) = rsvp_status {
            q = q.filter(Column::RsvpStatus.eq(s.as_str()));
        }
        let rows = q.order_by_asc(Column::Name).all(&self.db).await?;
        rows.into_iter().map(from_model).collect()
    }

    pub async fn insert_guest(&self, g: &GuestRecord) -> StoreResult<()> {
        Entity::insert(guests::ActiveModel {
            id: Set(g.id.clone()),
            event_id: Set(g.event_id.clone()),
            name: Set(g.name.clone()),
            email: Set(g.email.clone()),
            phone: Set(g.phone.clone()),
            rsvp_status: Set(g.rsvp_status.as_str().to_owned()),
            dietary_needs: Set(g.dietary_needs.clone()),
            plus_one: Set(g.plus_one),
            table_number: Set(g.table_number),
            created_at: Set(g.created_at),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }
}
