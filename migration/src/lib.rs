//! The eventchat schema as a sea-orm-migration `Migrator`.
//!
//! One reversible, timestamp-named file per change; each `down` drops exactly what its `up`
//! created, children before parents. The helpers of `sea_orm_migration::schema` keep the
//! DDL backend-neutral: the same migrations run on SQLite and PostgreSQL (JSON columns are
//! `jsonb` there, timestamps `timestamptz`, auto-increment keys `bigserial`).

pub use sea_orm_migration::prelude::*;
pub use sea_orm_migration::{MigrationStatus, MigratorTrait};

mod m20261125_000001_create_directory_tables;
mod m20261125_000002_create_event_tables;
mod m20261125_000003_create_chatkit_tables;
mod m20261202_000004_create_search_index;
mod m20261203_000005_create_turn_runs;
mod m20261203_000006_create_cluster_tables;

/// All migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_directory_tables::Migration),
            Box::new(m20261125_000002_create_event_tables::Migration),
            Box::new(m20261125_000003_create_chatkit_tables::Migration),
            Box::new(m20261202_000004_create_search_index::Migration),
            Box::new(m20261203_000005_create_turn_runs::Migration),
            Box::new(m20261203_000006_create_cluster_tables::Migration),
        ]
    }
}

/// A foreign key from `from_table.from_col` to `to_table.id`, named `fk_<from>_<col>`.
pub(crate) fn fk(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    let from_table = from_table.into_iden();
    let from_col = from_col.into_iden();
    ForeignKey::create()
        .name(format!("fk_{from_table}_{from_col}"))
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
}

/// A (non-unique) index on `table (cols...)`, named `idx_<table>_<cols...>`.
pub(crate) fn index<C: IntoIden>(table: impl IntoIden, cols: Vec<C>) -> IndexCreateStatement {
    let table = table.into_iden();
    let mut name = format!("idx_{table}");
    let mut stmt = Index::create();
    stmt.table(table);
    for col in cols {
        let col = col.into_iden();
        name.push('_');
        name.push_str(&col.to_string());
        stmt.col(col);
    }
    stmt.name(name).to_owned()
}
