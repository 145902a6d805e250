//! `events`: an event booked (or asked about) by a client at a venue.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub venue_id: String,
    /// The client (a `users` row) who owns the event.
    pub client_id: String,
    pub name: String,
    /// wedding, birthday, corporate, anniversary, ...
    pub event_type: String,
    /// Start of the event.
    pub event_date: DateTimeUtc,
    pub end_date: Option<DateTimeUtc>,
    pub guest_count: i32,
    pub budget_cents: i64,
    /// `inquiry`, `planning`, `confirmed`, `completed` or `cancelled`.
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::venues::Entity",
        from = "Column::VenueId",
        to = "super::venues::Column::Id"
    )]
    Venue,
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::ClientId",
        to = "super::users::Column::Id"
    )]
    Client,
    #[sea_orm(has_many = "super::event_elements::Entity")]
    Elements,
    #[sea_orm(has_many = "super::change_requests::Entity")]
    ChangeRequests,
    #[sea_orm(has_many = "super::guests::Entity")]
    Guests,
    #[sea_orm(has_one = "super::contracts::Entity")]
    Contract,
    #[sea_orm(has_many = "super::tasks::Entity")]
    Tasks,
    #[sea_orm(has_many = "super::messages::Entity")]
    Messages,
}

impl Related<super::venues::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Venue.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl Related<super::event_elements::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Elements.def()
    }
}

impl Related<super::change_requests::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ChangeRequests.def()
    }
}

impl Related<super::guests::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Guests.def()
    }
}

impl Related<super::contracts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Contract.def()
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

impl ActiveModelBehavior for ActiveModel {}
