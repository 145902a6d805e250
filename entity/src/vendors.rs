//! `vendors`: suppliers (caterers, florists, photographers, ...) that venues work with.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "vendors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    /// catering, florist, photography, music, decor, rentals, lighting, bakery, transport.
    pub category: String,
    pub email: String,
    pub phone: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::users::Entity")]
    Users,
    #[sea_orm(has_many = "super::venue_vendors::Entity")]
    VenueVendors,
    #[sea_orm(has_many = "super::venue_offerings::Entity")]
    Offerings,
    #[sea_orm(has_many = "super::event_elements::Entity")]
    Elements,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Users.def()
    }
}

impl Related<super::venue_vendors::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::VenueVendors.def()
    }
}

impl Related<super::venue_offerings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Offerings.def()
    }
}

impl Related<super::event_elements::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Elements.def()
    }
}

/// Venues the vendor works with, through `venue_vendors`.
impl Related<super::venues::Entity> for Entity {
    fn to() -> RelationDef {
        super::venue_vendors::Relation::Venue.def()
    }
    fn via() -> Option<RelationDef> {
        Some(super::venue_vendors::Relation::Vendor.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
