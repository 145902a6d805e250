//! `venue_offerings`: what a venue offers (menus, flowers, music, ...) and at what price.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "venue_offerings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub venue_id: String,
    pub category: String,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub price_cents: i64,
    /// `per_event`, `per_guest` or `per_hour`.
    pub unit: String,
    /// The vendor that provides it, if not the venue itself.
    pub vendor_id: Option<String>,
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::venues::Entity",
        from = "Column::VenueId",
        to = "super::venues::Column::Id",
        on_delete = "Cascade"
    )]
    Venue,
    #[sea_orm(
        belongs_to = "super::vendors::Entity",
        from = "Column::VendorId",
        to = "super::vendors::Column::Id",
        on_delete = "SetNull"
    )]
    Vendor,
    #[sea_orm(has_many = "super::event_elements::Entity")]
    Elements,
}

impl Related<super::venues::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Venue.def()
    }
}

impl Related<super::vendors::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Vendor.def()
    }
}

impl Related<super::event_elements::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Elements.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
