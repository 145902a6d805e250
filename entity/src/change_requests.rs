//! `change_requests`: a client's request to add, modify or remove an event element.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "change_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub event_id: String,
    /// The element concerned (`None` for an `add`).
    pub element_id: Option<String>,
    /// User id of the requester.
    pub requested_by: String,
    /// `add`, `modify` or `remove`.
    pub request_type: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub details: Json,
    /// `open`, `approved` or `declined`.
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub resolution_note: Option<String>,
    /// User id of who resolved it.
    pub resolved_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
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
        belongs_to = "super::event_elements::Entity",
        from = "Column::ElementId",
        to = "super::event_elements::Column::Id",
        on_delete = "SetNull"
    )]
    Element,
}

impl Related<super::events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Event.def()
    }
}

impl Related<super::event_elements::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Element.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
