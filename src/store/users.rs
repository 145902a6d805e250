//! User lookups for authentication and the CLI.

use entity::users::{self, Column, Entity};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::error::StoreResult;

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub name: String,
    pub user_type: String,
    pub venue_id: Option<String>,
}

fn from_model(m: users::Model) -> UserRecord {
    UserRecord {
        id: m.id,
        email: m.email,
        name: m.name,
        user_type: m.user_type,
        venue_id: m.venue_id,
    }
}

#[derive(Clone, Debug)]
pub struct UserStore {
    db: DatabaseConnection,
}

impl UserStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn find_by_id(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        Ok(Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(from_model))
    }

    pub async fn find_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        Ok(Entity::find()
            .filter(Column::Email.eq(email.trim().to_lowercase()))
            .one(&self.db)
            .await?
            .map(from_model))
    }

    /// Up to `limit` users by type and name (the dev sign-in page's list).
    pub async fn list(&self, limit: u64) -> StoreResult<Vec<UserRecord>> {
        Ok(Entity::find()
            .order_by_asc(Column::UserType)
            .order_by_asc(Column::Name)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(from_model)
            .collect())
    }
}
