//! Creates the event tables: events, event_elements, change_requests, guests, contracts,
//! tasks, messages.

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
                    .table(Events::Table)
                    .col(string(Events::Id).primary_key())
                    .col(string(Events::VenueId))
                    .col(string(Events::ClientId))
                    .col(string(Events::Name))
                    .col(string(Events::EventType))
                    .col(timestamp_with_time_zone(Events::EventDate))
                    .col(timestamp_with_time_zone_null(Events::EndDate))
                    .col(integer(Events::GuestCount))
                    .col(big_integer(Events::BudgetCents))
                    .col(string(Events::Status))
                    .col(text_null(Events::Notes))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .col(timestamp_with_time_zone(Events::UpdatedAt))
                    .foreign_key(&mut fk(
                        Events::Table,
                        Events::VenueId,
                        Venues::Table,
                        Venues::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        Events::Table,
                        Events::ClientId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                Events::Table,
                vec![Events::VenueId, Events::EventDate],
            ))
            .await?;
        manager
            .create_index(index(Events::Table, vec![Events::ClientId]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EventElements::Table)
                    .col(string(EventElements::Id).primary_key())
                    .col(string(EventElements::EventId))
                    .col(string_null(EventElements::OfferingId))
                    .col(string_null(EventElements::VendorId))
                    .col(string(EventElements::Category))
                    .col(string(EventElements::Name))
                    .col(text(EventElements::Description))
                    .col(integer(EventElements::Quantity))
                    .col(big_integer(EventElements::PriceCents))
                    .col(string(EventElements::Status))
                    .col(text_null(EventElements::Notes))
                    .col(timestamp_with_time_zone(EventElements::CreatedAt))
                    .col(timestamp_with_time_zone(EventElements::UpdatedAt))
                    .foreign_key(&mut fk(
                        EventElements::Table,
                        EventElements::EventId,
                        Events::Table,
                        Events::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        EventElements::Table,
                        EventElements::OfferingId,
                        VenueOfferings::Table,
                        VenueOfferings::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        EventElements::Table,
                        EventElements::VendorId,
                        Vendors::Table,
                        Vendors::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(EventElements::Table, vec![EventElements::EventId]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ChangeRequests::Table)
                    .col(string(ChangeRequests::Id).primary_key())
                    .col(string(ChangeRequests::EventId))
                    .col(string_null(ChangeRequests::ElementId))
                    .col(string(ChangeRequests::RequestedBy))
                    .col(string(ChangeRequests::RequestType))
                    .col(text(ChangeRequests::Description))
                    .col(json_binary(ChangeRequests::Details))
                    .col(string(ChangeRequests::Status))
                    .col(text_null(ChangeRequests::ResolutionNote))
                    .col(string_null(ChangeRequests::ResolvedBy))
                    .col(timestamp_with_time_zone(ChangeRequests::CreatedAt))
                    .col(timestamp_with_time_zone_null(ChangeRequests::ResolvedAt))
                    .foreign_key(&mut fk(
                        ChangeRequests::Table,
                        ChangeRequests::EventId,
                        Events::Table,
                        Events::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        ChangeRequests::Table,
                        ChangeRequests::ElementId,
                        EventElements::Table,
                        EventElements::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                ChangeRequests::Table,
                vec![ChangeRequests::EventId, ChangeRequests::Status],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Guests::Table)
                    .col(string(Guests::Id).primary_key())
                    .col(string(Guests::EventId))
                    .col(string(Guests::Name))
                    .col(string_null(Guests::Email))
                    .col(string_null(Guests::Phone))
                    .col(string(Guests::RsvpStatus))
                    .col(string_null(Guests::DietaryNeeds))
                    .col(boolean(Guests::PlusOne).default(false))
                    .col(integer_null(Guests::TableNumber))
                    .col(timestamp_with_time_zone(Guests::CreatedAt))
                    .foreign_key(&mut fk(
                        Guests::Table,
                        Guests::EventId,
                        Events::Table,
                        Events::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(Guests::Table, vec![Guests::EventId]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Contracts::Table)
                    .col(string(Contracts::Id).primary_key())
                    .col(string_uniq(Contracts::EventId))
                    .col(string(Contracts::Status))
                    .col(json_binary(Contracts::LineItems))
                    .col(big_integer(Contracts::SubtotalCents))
                    .col(big_integer(Contracts::TaxCents))
                    .col(big_integer(Contracts::TotalCents))
                    .col(big_integer(Contracts::DepositCents))
                    .col(boolean(Contracts::DepositPaid).default(false))
                    .col(timestamp_with_time_zone_null(Contracts::SignedAt))
                    .col(timestamp_with_time_zone(Contracts::CreatedAt))
                    .col(timestamp_with_time_zone(Contracts::UpdatedAt))
                    .foreign_key(&mut fk(
                        Contracts::Table,
                        Contracts::EventId,
                        Events::Table,
                        Events::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tasks::Table)
                    .col(string(Tasks::Id).primary_key())
                    .col(string(Tasks::VenueId))
                    .col(string_null(Tasks::EventId))
                    .col(string(Tasks::Title))
                    .col(text_null(Tasks::Description))
                    .col(string_null(Tasks::AssignedTo))
                    .col(string(Tasks::Status))
                    .col(string(Tasks::Priority))
                    .col(timestamp_with_time_zone_null(Tasks::DueAt))
                    .col(string_null(Tasks::CreatedBy))
                    .col(timestamp_with_time_zone(Tasks::CreatedAt))
                    .col(timestamp_with_time_zone(Tasks::UpdatedAt))
                    .foreign_key(&mut fk(
                        Tasks::Table,
                        Tasks::VenueId,
                        Venues::Table,
                        Venues::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Tasks::Table,
                        Tasks::EventId,
                        Events::Table,
                        Events::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(Tasks::Table, vec![Tasks::VenueId, Tasks::Status]))
            .await?;
        manager
            .create_index(index(Tasks::Table, vec![Tasks::EventId]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .col(string(Messages::Id).primary_key())
                    .col(string(Messages::VenueId))
                    .col(string_null(Messages::EventId))
                    .col(string(Messages::SenderId))
                    .col(string(Messages::SenderName))
                    .col(string(Messages::RecipientType))
                    .col(string(Messages::RecipientId))
                    .col(string_null(Messages::Subject))
                    .col(text(Messages::Body))
                    .col(timestamp_with_time_zone(Messages::CreatedAt))
                    .col(timestamp_with_time_zone_null(Messages::ReadAt))
                    .foreign_key(&mut fk(
                        Messages::Table,
                        Messages::VenueId,
                        Venues::Table,
                        Venues::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Messages::Table,
                        Messages::EventId,
                        Events::Table,
                        Events::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                Messages::Table,
                vec![Messages::EventId, Messages::CreatedAt],
            ))
            .await?;
        manager
            .create_index(index(
                Messages::Table,
                vec![Messages::VenueId, Messages::CreatedAt],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Messages::Table.into_iden(),
            Tasks::Table.into_iden(),
            Contracts::Table.into_iden(),
            Guests::Table.into_iden(),
            ChangeRequests::Table.into_iden(),
            EventElements::Table.into_iden(),
            Events::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

// Tables of the previous migration referenced here.
#[derive(DeriveIden)]
enum Venues {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Vendors {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum VenueOfferings {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    VenueId,
    ClientId,
    Name,
    EventType,
    EventDate,
    EndDate,
    GuestCount,
    BudgetCents,
    Status,
    Notes,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EventElements {
    Table,
    Id,
    EventId,
    OfferingId,
    VendorId,
    Category,
    Name,
    Description,
    Quantity,
    PriceCents,
    Status,
    Notes,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ChangeRequests {
    Table,
    Id,
    EventId,
    ElementId,
    RequestedBy,
    RequestType,
    Description,
    Details,
    Status,
    ResolutionNote,
    ResolvedBy,
    CreatedAt,
    ResolvedAt,
}

#[derive(DeriveIden)]
enum Guests {
    Table,
    Id,
    EventId,
    Name,
    Email,
    Phone,
    RsvpStatus,
    DietaryNeeds,
    PlusOne,
    TableNumber,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Contracts {
    Table,
    Id,
    EventId,
    Status,
    LineItems,
    SubtotalCents,
    TaxCents,
    TotalCents,
    DepositCents,
    DepositPaid,
    SignedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    VenueId,
    EventId,
    Title,
    Description,
    AssignedTo,
    Status,
    Priority,
    DueAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    VenueId,
    EventId,
    SenderId,
    SenderName,
    RecipientType,
    RecipientId,
    Subject,
    Body,
    CreatedAt,
    ReadAt,
}
