//! Contract queries: at most one contract per event (unique `event_id`).

use chrono::{DateTime, Utc};
use entity::contracts::{Column, Entity};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use serde_json::Value;

use super::DomainStore;
use crate::store::StoreResult;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContractRecord {
    pub id: String,
    pub event_id: String,
    /// `draft`, `sent`, `signed` or `cancelled`.
    pub status: String,
    /// Array of `{description, quantity, unit_price_cents, total_cents}`.
    pub line_items: Value,
    pub subtotal_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
    pub deposit_cents: i64,
    pub deposit_paid: bool,
    pub signed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl DomainStore {
    pub async fn event_contract(&self, event_id: &str) -> StoreResult<Option<ContractRecord>> {
        Ok(Entity::find()
            .filter(Column::EventId.eq(event_id))
            .one(&self.db)
            .await?
            .map(|m| ContractRecord {
                id: m.id,
                event_id: m.event_id,
                status: m.status,
                line_items: m.line_items,
                subtotal_cents: m.subtotal_cents,
                tax_cents: m.tax_cents,
                total_cents: m.total_cents,
                deposit_cents: m.deposit_cents,
                deposit_paid: m.deposit_paid,
                signed_at: m.signed_at,
                updated_at: m.updated_at,
            }))
    }
}
