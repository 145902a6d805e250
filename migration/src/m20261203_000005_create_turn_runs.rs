//! Creates `chatkit_turn_runs` (issue #20): one row per thread whose turn is running.
//!
//! A turn writes its row when it starts (in the same transaction as its user message) and
//! deletes it when it ends, whatever the outcome. A row that is still there when the
//! server starts belongs to a turn the previous process did not finish (it was killed, or
//! the machine stopped): startup closes it, keeping the assistant text the turn had
//! snapshotted and leaving a hidden note for the model (`conversation::recovery`).
//! `thread_id` is the key: a thread runs one turn at a time.

use sea_orm_migration::{prelude::*, schema::*};

use crate::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChatkitTurnRuns::Table)
                    .col(string(ChatkitTurnRuns::ThreadId).primary_key())
                    .col(string(ChatkitTurnRuns::TurnId))
                    .col(timestamp_with_time_zone(ChatkitTurnRuns::StartedAt))
                    .foreign_key(&mut fk(
                        ChatkitTurnRuns::Table,
                        ChatkitTurnRuns::ThreadId,
                        ChatkitThreads::Table,
                        ChatkitThreads::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ChatkitTurnRuns::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ChatkitTurnRuns {
    Table,
    ThreadId,
    TurnId,
    StartedAt,
}

#[derive(DeriveIden)]
enum ChatkitThreads {
    Table,
    Id,
}
