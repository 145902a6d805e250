//! The PostgreSQL databases of the scenarios that run on PostgreSQL: one fresh database per
//! run (dropped first if a previous run left it), dropped again at the end.

use sea_orm::ConnectionTrait;

use crate::Res;

/// A fresh empty database `name` on the server of `pg_url` (an admin URL); its URL.
pub async fn fresh_database(pg_url: &str, name: &str) -> Res<String> {
    let admin = sea_orm::Database::connect(pg_url).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    admin.close().await?;
    let base = pg_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(pg_url);
    Ok(format!("{base}/{name}"))
}

/// Drops `name` (its connections closed by force).
pub async fn drop_database(pg_url: &str, name: &str) -> Res<()> {
    let admin = sea_orm::Database::connect(pg_url).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    admin.close().await?;
    Ok(())
}
