//! `chatkit_turn_runs`: the turns that are running, one row per thread (see the migration
//! `m20261203_000005_create_turn_runs`); a row left at startup is a turn a dead process did
//! not finish.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "chatkit_turn_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub thread_id: String,
    /// The running turn's id (`trn_...`).
    pub turn_id: String,
    pub started_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::chatkit_threads::Entity",
        from = "Column::ThreadId",
        to = "super::chatkit_threads::Column::Id",
        on_delete = "Cascade"
    )]
    Thread,
}

impl Related<super::chatkit_threads::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Thread.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
