//! Batch name lookups: the display names a listing shows beside the ids of one page
//! (clients, requesters, vendors, events, elements), one query per kind and page instead
//! of one per row. An id with no row is simply absent from the answer.

use std::collections::HashMap;

use entity::{event_elements, events, users, vendors};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::DomainStore;
use crate::store::StoreResult;

/// The distinct ids, so a page with many rows of one client asks for it once.
fn distinct<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = ids.into_iter().map(str::to_owned).collect();
    out.sort_unstable();
    out.dedup();
    out
}

macro_rules! names_of {
    ($fn_name:ident, $entity:ident, $doc:literal) => {
        #[doc = $doc]
        pub async fn $fn_name<'a>(
            &self,
            ids: impl IntoIterator<Item = &'a str>,
        ) -> StoreResult<HashMap<String, String>> {
            let ids = distinct(ids);
            if ids.is_empty() {
                return Ok(HashMap::new());
            }
            let rows: Vec<(String, String)> = $entity::Entity::find()
                .select_only()
                .column($entity::Column::Id)
                .column($entity::Column::Name)
                .filter($entity::Column::Id.is_in(ids))
                .into_tuple()
                .all(&self.db)
                .await?;
            Ok(rows.into_iter().collect())
        }
    };
}

impl DomainStore {
    names_of!(user_names, users, "Names of users by id.");
    names_of!(vendor_names, vendors, "Names of vendors by id.");
    names_of!(event_names, events, "Names of events by id.");
    names_of!(
        element_names,
        event_elements,
        "Names of event elements by id."
    );
}
