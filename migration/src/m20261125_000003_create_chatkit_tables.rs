//! Creates the ChatKit tables: chatkit_threads, chatkit_thread_items, chatkit_attachments,
//! chatkit_item_feedback, and the tool_calls audit log.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChatkitThreads::Table)
                    .col(string(ChatkitThreads::Id).primary_key())
                    .col(string(ChatkitThreads::UserId))
                    .col(string(ChatkitThreads::AgentType))
                    .col(string_null(ChatkitThreads::VenueId))
                    .col(string_null(ChatkitThreads::EventId))
                    .col(text_null(ChatkitThreads::Title))
                    .col(json_binary(ChatkitThreads::Status))
                    .col(json_binary_null(ChatkitThreads::AllowedImageDomains))
                    .col(json_binary(ChatkitThreads::Metadata))
                    .col(big_integer(ChatkitThreads::TokensIn).default(0))
                    .col(big_integer(ChatkitThreads::TokensOut).default(0))
                    .col(timestamp_with_time_zone(ChatkitThreads::CreatedAt))
                    .col(timestamp_with_time_zone(ChatkitThreads::UpdatedAt))
                    .col(timestamp_with_time_zone_null(ChatkitThreads::DeletedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                ChatkitThreads::Table,
                vec![ChatkitThreads::UserId, ChatkitThreads::CreatedAt],
            ))
            .await?;
        manager
            .create_index(index(ChatkitThreads::Table, vec![ChatkitThreads::VenueId]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ChatkitThreadItems::Table)
                    .col(big_pk_auto(ChatkitThreadItems::Seq))
                    .col(string_uniq(ChatkitThreadItems::Id))
                    .col(string(ChatkitThreadItems::ThreadId))
                    .col(string(ChatkitThreadItems::ItemType))
                    .col(string_null(ChatkitThreadItems::Role))
                    .col(json_binary(ChatkitThreadItems::Content))
                    .col(string_null(ChatkitThreadItems::Status))
                    .col(json_binary(ChatkitThreadItems::Metadata))
                    .col(timestamp_with_time_zone(ChatkitThreadItems::CreatedAt))
                    .foreign_key(&mut fk(
                        ChatkitThreadItems::Table,
                        ChatkitThreadItems::ThreadId,
                        ChatkitThreads::Table,
                        ChatkitThreads::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                ChatkitThreadItems::Table,
                vec![
                    ChatkitThreadItems::ThreadId,
                    ChatkitThreadItems::CreatedAt,
                    ChatkitThreadItems::Seq,
                ],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ChatkitAttachments::Table)
                    .col(string(ChatkitAttachments::Id).primary_key())
                    .col(string(ChatkitAttachments::UserId))
                    .col(string_null(ChatkitAttachments::ThreadId))
                    .col(string(ChatkitAttachments::Name))
                    .col(string(ChatkitAttachments::MimeType))
                    .col(string(ChatkitAttachments::Kind))
                    .col(big_integer(ChatkitAttachments::SizeBytes).default(0))
                    .col(boolean(ChatkitAttachments::Uploaded).default(false))
                    .col(text_null(ChatkitAttachments::StoragePath))
                    .col(json_binary(ChatkitAttachments::Data))
                    .col(json_binary(ChatkitAttachments::Metadata))
                    .col(timestamp_with_time_zone(ChatkitAttachments::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                ChatkitAttachments::Table,
                vec![ChatkitAttachments::UserId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ChatkitItemFeedback::Table)
                    .col(big_pk_auto(ChatkitItemFeedback::Id))
                    .col(string(ChatkitItemFeedback::ThreadId))
                    .col(string(ChatkitItemFeedback::ItemId))
                    .col(string(ChatkitItemFeedback::UserId))
                    .col(string(ChatkitItemFeedback::Kind))
                    .col(timestamp_with_time_zone(ChatkitItemFeedback::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                ChatkitItemFeedback::Table,
                vec![ChatkitItemFeedback::ThreadId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ToolCalls::Table)
                    .col(big_pk_auto(ToolCalls::Id))
                    .col(string(ToolCalls::ThreadId))
                    .col(string(ToolCalls::UserId))
                    .col(string(ToolCalls::AgentType))
                    .col(string(ToolCalls::Tool))
                    .col(json_binary(ToolCalls::Arguments))
                    .col(text(ToolCalls::ResultSummary))
                    .col(boolean(ToolCalls::Ok))
                    .col(text_null(ToolCalls::Error))
                    .col(big_integer(ToolCalls::DurationMs))
                    .col(timestamp_with_time_zone(ToolCalls::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                ToolCalls::Table,
                vec![ToolCalls::ThreadId, ToolCalls::CreatedAt],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ToolCalls::Table.into_iden(),
            ChatkitItemFeedback::Table.into_iden(),
            ChatkitAttachments::Table.into_iden(),
            ChatkitThreadItems::Table.into_iden(),
            ChatkitThreads::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum ChatkitThreads {
    Table,
    Id,
    UserId,
    AgentType,
    VenueId,
    EventId,
    Title,
    Status,
    AllowedImageDomains,
    Metadata,
    TokensIn,
    TokensOut,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum ChatkitThreadItems {
    Table,
    Seq,
    Id,
    ThreadId,
    ItemType,
    Role,
    Content,
    Status,
    Metadata,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ChatkitAttachments {
    Table,
    Id,
    UserId,
    ThreadId,
    Name,
    MimeType,
    Kind,
    SizeBytes,
    Uploaded,
    StoragePath,
    Data,
    Metadata,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ChatkitItemFeedback {
    Table,
    Id,
    ThreadId,
    ItemId,
    UserId,
    Kind,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ToolCalls {
    Table,
    Id,
    ThreadId,
    UserId,
    AgentType,
    Tool,
    Arguments,
    ResultSummary,
    Ok,
    Error,
    DurationMs,
    CreatedAt,
}
