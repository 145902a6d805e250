//! `event_elements`: the parts of an event (menu, flowers, band, ...) with price and status.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "event_elements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub event_id: String,
    /// The venue offering it was chosen from, if any.
    pub offering_id: Option<String>,
    pub vendor_id: Option<String>,
    pub category: String,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub quantity: i32,
    /// Total price of the element (not per unit).
    pub price_cents: i64,
    /// `proposed`, `pending_approval`, `approved`, `confirmed`, `declined` or `cancelled`.
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::events::Entity",
        from = "Column::EventId",
        to = "super::events::Column::Id",
        on_delete = "Cascade"
    )]
    Event,
    #[sea_orm(
        belongs_to = "super::venue_offerings::Entity",
        from = "Column::OfferingId",
        to = "super::venue_offerings::Column::Id",
        on_delete = "SetNull"
    )]
    Offering,
    #[sea_orm(
        belongs_to = "super::vendors::Entity",
        from = "Column::VendorId",
        to = "super::vendors::Column::Id",
        on_delete = "SetNull"
    )]
    Vendor,
    #[sea_orm(has_many = "super::change_requests::Entity")]
    ChangeRequests,
}

impl Related<super::events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Event.def()
    }
}

impl Related<super::venue_offerings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Offering.def()
    }
}

impl Related<super::vendors::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Vendor.def()
    }
}

impl Related<super::change_requests::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ChangeRequests.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
