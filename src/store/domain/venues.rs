//! Venue directory queries: venues, their offerings, vendors and vendor relationships, and
//! user profiles. Read-only: the directory is maintained outside the assistants.

use entity::{users, vendors, venue_offerings, venue_vendors, venues};
use sea_orm::{
    ColumnTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
};
use serde::Serialize;
use serde_json::Value;

use super::DomainStore;
use crate::store::StoreResult;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VenueRecord {
    pub id: String,
    pub name: String,
    pub address: String,
    pub city: String,
    pub capacity: i32,
    pub description: String,
    pub contact_email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VendorRecord {
    pub id: String,
    pub name: String,
    pub category: String,
    pub email: String,
    pub phone: String,
    pub description: String,
}

/// A vendor as seen by one venue: the relationship status (`approved` or `pending`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VenueVendorRecord {
    pub vendor: VendorRecord,
    pub status: String,
    pub notes: Option<String>,
}

/// The columns of a venue's vendor relationship an assistant's context shows (reading only
/// these costs the context build less than a third of the full rows: issue #18).
#[derive(Debug, Clone, PartialEq)]
pub struct VendorBrief {
    pub id: String,
    pub name: String,
    pub category: String,
    pub status: String,
}

/// The columns of an offering an assistant's context shows.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferingBrief {
    pub id: String,
    pub category: String,
    pub name: String,
    pub price_cents: i64,
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfferingRecord {
    pub id: String,
    pub venue_id: String,
    pub category: String,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    /// `per_event`, `per_guest` or `per_hour`.
    pub unit: String,
    pub vendor_id: Option<String>,
    pub active: bool,
}

/// A user with the fields the assistants may show (preferences included).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserProfile {
    pub id: String,
    pub name: String,
    pub email: String,
    pub user_type: String,
    pub venue_id: Option<String>,
    pub phone: Option<String>,
    pub preferences: Value,
}

fn venue(m: venues::Model) -> VenueRecord {
    VenueRecord {
        id: m.id,
        name: m.name,
        address: m.address,
        city: m.city,
        capacity: m.capacity,
        description: m.description,
        contact_email: m.contact_email,
    }
}

fn vendor(m: vendors::Model) -> VendorRecord {
    VendorRecord {
        id: m.id,
        name: m.name,
        category: m.category,
        email: m.email,
        phone: m.phone,
        description: m.description,
    }
}

fn offering(m: venue_offerings::Model) -> OfferingRecord {
    OfferingRecord {
        id: m.id,
        venue_id: m.venue_id,
        category: m.category,
        name: m.name,
        description: m.description,
        price_cents: m.price_cents,
        unit: m.unit,
        vendor_id: m.vendor_id,
        active: m.active,
    }
}

impl DomainStore {
    pub async fn venue(&self, venue_id: &str) -> StoreResult<Option<VenueRecord>> {
        Ok(venues::Entity::find_by_id(venue_id.to_owned())
            .one(&self.db)
            .await?
            .map(venue))
    }

    pub async fn vendor(&self, vendor_id: &str) -> StoreResult<Option<VendorRecord>> {
        Ok(vendors::Entity::find_by_id(vendor_id.to_owned())
            .one(&self.db)
            .await?
            .map(vendor))
    }

    /// The venue's vendor relationships, optionally only one status and/or category,
    /// ordered by category then name.
    pub async fn venue_vendors(
        &self,
        venue_id: &str,
        status: Option<&str>,
        category: Option<&str>,
    ) -> StoreResult<Vec<VenueVendorRecord>> {
        let mut q = venue_vendors::Entity::find()
            .filter(venue_vendors::Column::VenueId.eq(venue_id))
            .find_also_related(vendors::Entity);
        if let Some(s) = status {
            q = q.filter(venue_vendors::Column::Status.eq(s));
        }
        if let Some(c) = category {
            q = q.filter(vendors::Column::Category.eq(c));
        }
        let rows = q
            .order_by_asc(vendors::Column::Category)
            .order_by_asc(vendors::Column::Name)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(rel, v)| {
                v.map(|v| VenueVendorRecord {
                    vendor: vendor(v),
                    status: rel.status,
                    notes: rel.notes,
                })
            })
            .collect())
    }

    /// [`Self::venue_vendors`] (no category filter, the same order), only the columns of a
    /// `VendorBrief`.
    pub async fn vendor_briefs(
        &self,
        venue_id: &str,
        status: Option<&str>,
    ) -> StoreResult<Vec<VendorBrief>> {
        let mut q = venue_vendors::Entity::find()
            .select_only()
            .column(vendors::Column::Id)
            .column(vendors::Column::Name)
            .column(vendors::Column::Category)
            .column(venue_vendors::Column::Status)
            .join(JoinType::InnerJoin, venue_vendors::Relation::Vendor.def())
            .filter(venue_vendors::Column::VenueId.eq(venue_id));
        if let Some(s) = status {
            q = q.filter(venue_vendors::Column::Status.eq(s));
        }
        let rows: Vec<(String, String, String, String)> = q
            .order_by_asc(vendors::Column::Category)
            .order_by_asc(vendors::Column::Name)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, category, status)| VendorBrief {
                id,
                name,
                category,
                status,
            })
            .collect())
    }

    /// [`Self::venue_offerings`] of every category, only the columns of an `OfferingBrief`.
    pub async fn offering_briefs(&self, venue_id: &str) -> StoreResult<Vec<OfferingBrief>> {
        use venue_offerings::Column;
        let rows: Vec<(String, String, String, i64, String)> = venue_offerings::Entity::find()
            .select_only()
            .column(Column::Id)
            .column(Column::Category)
            .column(Column::Name)
            .column(Column::PriceCents)
            .column(Column::Unit)
            .filter(Column::VenueId.eq(venue_id))
            .filter(Column::Active.eq(true))
            .order_by_asc(Column::Category)
            .order_by_asc(Column::Name)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, category, name, price_cents, unit)| OfferingBrief {
                id,
                category,
                name,
                price_cents,
                unit,
            })
            .collect())
    }

    /// The relationship status of a vendor at a venue, if any.
    pub async fn venue_vendor_status(
        &self,
        venue_id: &str,
        vendor_id: &str,
    ) -> StoreResult<Option<String>> {
        Ok(venue_vendors::Entity::find()
            .filter(venue_vendors::Column::VenueId.eq(venue_id))
            .filter(venue_vendors::Column::VendorId.eq(vendor_id))
            .one(&self.db)
            .await?
            .map(|m| m.status))
    }

    /// Active offerings of the venue, optionally of one category.
    pub async fn venue_offerings(
        &self,
        venue_id: &str,
        category: Option<&str>,
    ) -> StoreResult<Vec<OfferingRecord>> {
        let mut q = venue_offerings::Entity::find()
            .filter(venue_offerings::Column::VenueId.eq(venue_id))
            .filter(venue_offerings::Column::Active.eq(true));
        if let Some(c) = category {
            q = q.filter(venue_offerings::Column::Category.eq(c));
        }
        let rows = q
            .order_by_asc(venue_offerings::Column::Category)
            .order_by_asc(venue_offerings::Column::Name)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(offering).collect())
    }

    pub async fn offering(&self, offering_id: &str) -> StoreResult<Option<OfferingRecord>> {
        Ok(venue_offerings::Entity::find_by_id(offering_id.to_owned())
            .one(&self.db)
            .await?
            .map(offering))
    }

    pub async fn user_profile(&self, user_id: &str) -> StoreResult<Option<UserProfile>> {
        Ok(users::Entity::find_by_id(user_id.to_owned())
            .one(&self.db)
            .await?
            .map(|m| UserProfile {
                id: m.id,
                name: m.name,
                email: m.email,
                user_type: m.user_type,
                venue_id: m.venue_id,
                phone: m.phone,
                preferences: m.preferences,
            }))
    }
}
