//! Creates the directory tables: venues, vendors, users, venue_vendors, venue_offerings.

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
                    .table(Venues::Table)
                    .col(string(Venues::Id).primary_key())
                    .col(string(Venues::Name))
                    .col(string(Venues::Address))
                    .col(string(Venues::City))
                    .col(integer(Venues::Capacity))
                    .col(text(Venues::Description))
                    .col(string(Venues::ContactEmail))
                    .col(timestamp_with_time_zone(Venues::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Vendors::Table)
                    .col(string(Vendors::Id).primary_key())
                    .col(string(Vendors::Name))
                    .col(string(Vendors::Category))
                    .col(string(Vendors::Email))
                    .col(string(Vendors::Phone))
                    .col(text(Vendors::Description))
                    .col(timestamp_with_time_zone(Vendors::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(Vendors::Table, vec![Vendors::Category]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(string(Users::Id).primary_key())
                    .col(string_uniq(Users::Email))
                    .col(string(Users::Name))
                    .col(string(Users::UserType))
                    .col(string_null(Users::VenueId))
                    .col(string_null(Users::VendorId))
                    .col(string_null(Users::Phone))
                    .col(json_binary(Users::Preferences))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .foreign_key(&mut fk(
                        Users::Table,
                        Users::VenueId,
                        Venues::Table,
                        Venues::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        Users::Table,
                        Users::VendorId,
                        Vendors::Table,
                        Vendors::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(Users::Table, vec![Users::VenueId]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(VenueVendors::Table)
                    .col(string(VenueVendors::Id).primary_key())
                    .col(string(VenueVendors::VenueId))
                    .col(string(VenueVendors::VendorId))
                    .col(string(VenueVendors::Status))
                    .col(text_null(VenueVendors::Notes))
                    .col(timestamp_with_time_zone(VenueVendors::CreatedAt))
                    .foreign_key(&mut fk(
                        VenueVendors::Table,
                        VenueVendors::VenueId,
                        Venues::Table,
                        Venues::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        VenueVendors::Table,
                        VenueVendors::VendorId,
                        Vendors::Table,
                        Vendors::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    VenueVendors::Table,
                    vec![VenueVendors::VenueId, VenueVendors::VendorId],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(VenueOfferings::Table)
                    .col(string(VenueOfferings::Id).primary_key())
                    .col(string(VenueOfferings::VenueId))
                    .col(string(VenueOfferings::Category))
                    .col(string(VenueOfferings::Name))
                    .col(text(VenueOfferings::Description))
                    .col(big_integer(VenueOfferings::PriceCents))
                    .col(string(VenueOfferings::Unit))
                    .col(string_null(VenueOfferings::VendorId))
                    .col(boolean(VenueOfferings::Active).default(true))
                    .col(timestamp_with_time_zone(VenueOfferings::CreatedAt))
                    .foreign_key(&mut fk(
                        VenueOfferings::Table,
                        VenueOfferings::VenueId,
                        Venues::Table,
                        Venues::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        VenueOfferings::Table,
                        VenueOfferings::VendorId,
                        Vendors::Table,
                        Vendors::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                VenueOfferings::Table,
                vec![VenueOfferings::VenueId, VenueOfferings::Category],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            VenueOfferings::Table.into_iden(),
            VenueVendors::Table.into_iden(),
            Users::Table.into_iden(),
            Vendors::Table.into_iden(),
            Venues::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Venues {
    Table,
    Id,
    Name,
    Address,
    City,
    Capacity,
    Description,
    ContactEmail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Vendors {
    Table,
    Id,
    Name,
    Category,
    Email,
    Phone,
    Description,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Name,
    UserType,
    VenueId,
    VendorId,
    Phone,
    Preferences,
    CreatedAt,
}

#[derive(DeriveIden)]
enum VenueVendors {
    Table,
    Id,
    VenueId,
    VendorId,
    Status,
    Notes,
    CreatedAt,
}

#[derive(DeriveIden)]
enum VenueOfferings {
    Table,
    Id,
    VenueId,
    Category,
    Name,
    Description,
    PriceCents,
    Unit,
    VendorId,
    Active,
    CreatedAt,
}
