//! `venues`: the places where events happen.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "venues")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub address: String,
    pub city: String,
    pub capacity: i32,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub contact_email: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::users::Entity")]
    Staff,
    #[sea_orm(has_many = "super::venue_vendors::Entity")]
    VenueVendors,
    #[sea_orm(has_many = "super::venue_offerings::Entity")]
    Offerings,
    #[sea_orm(has_many = "super::events::Entity")]
    Events,
    #[sea_orm(has_many = "super::tasks::Entity")]
    Tasks,
    #[sea_orm(has_many = "super::messages::Entity")]
    Messages,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Staff.def()
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

impl Related<super::events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Events.def()
    }
}

impl Related<super::tasks::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tasks.def()
    }
}

impl Related<super::messages::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Messages.def()
    }
}

/// Approved (and pending) vendors of the venue, through `venue_vendors`.
impl Related<super::vendors::Entity> for Entity {
    fn to() -> RelationDef {
        super::venue_vendors::Relation::Vendor.def()
    }
    fn via() -> Option<RelationDef> {
        Some(super::venue_vendors::Relation::Venue.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
