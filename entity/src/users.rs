//! `users`: everyone who can sign in; `id` is the JWT `sub`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Lower-case, unique.
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    /// `client`, `venue`, `vendor` or `admin`.
    pub user_type: String,
    /// The venue a staff member (`user_type = venue`) works for.
    pub venue_id: Option<String>,
    /// The vendor a vendor user (`user_type = vendor`) represents.
    pub vendor_id: Option<String>,
    pub phone: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub preferences: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::venues::Entity",
        from = "Column::VenueId",
        to = "super::venues::Column::Id",
        on_delete = "SetNull"
    )]
    Venue,
    #[sea_orm(
        belongs_to = "super::vendors::Entity",
        from = "Column::VendorId",
        to = "super::vendors::Column::Id",
        on_delete = "SetNull"
    )]
    Vendor,
    /// Events the user is the client of.
    #[sea_orm(has_many = "super::events::Entity")]
    Events,
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

impl Related<super::events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Events.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
