//! Test fixture: a migrated SQLite file with two venues, two clients, staff, vendors and
//! events with elements, guests, a contract, change requests, tasks and messages. Ids are
//! fixed strings so tests can name "another client's event" or "another venue's vendor".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Duration, Utc};
use entity::*;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ActiveValue::Set, Database, EntityTrait};
use serde_json::json;

use crate::auth::principal::{Principal, UserType};
use crate::chatkit::ThreadStatus;
use crate::store::{Stores, ThreadRecord};
use crate::vocab::AgentType;

pub const VENUE: &str = "venue-1";
pub const OTHER_VENUE: &str = "venue-2";
pub const CLIENT: &str = "client-1";
pub const OTHER_CLIENT: &str = "client-2";
pub const STAFF: &str = "staff-1";
pub const OTHER_STAFF: &str = "staff-2";
/// Client's event at VENUE (the thread's event in tests).
pub const EVENT: &str = "event-1";
/// Another client's event at VENUE.
pub const OTHER_CLIENT_EVENT: &str = "event-2";
/// An event at OTHER_VENUE.
pub const OTHER_VENUE_EVENT: &str = "event-3";
/// A second event of CLIENT at VENUE.
pub const SECOND_EVENT: &str = "event-4";
/// Approved at VENUE.
pub const FLORIST: &str = "vendor-florist";
/// Not approved at VENUE but assigned to an element of EVENT.
pub const CATERER: &str = "vendor-caterer";
/// Pending at VENUE, not assigned.
pub const PHOTOGRAPHER: &str = "vendor-photo";
/// Approved only at OTHER_VENUE.
pub const BAND: &str = "vendor-band";
pub const EL_CATERING: &str = "el-catering"; // pending_approval
pub const EL_FLOWERS: &str = "el-flowers"; // proposed
pub const EL_VENUE: &str = "el-venue"; // confirmed
pub const EL_OTHER: &str = "el-other"; // of OTHER_CLIENT_EVENT
pub const EL_DECLINED: &str = "el-declined";
pub const OFFERING_DESSERT: &str = "off-dessert";
pub const OFFERING_OTHER_VENUE: &str = "off-v2";
pub const CR_MODIFY: &str = "cr-modify";
pub const CR_ADD: &str = "cr-add";
pub const CR_REMOVE: &str = "cr-remove";
pub const CR_OTHER: &str = "cr-other";
/// VENUE capacity; EVENT starts with 3 counted heads (2 attending incl. plus-one, 1 pending).
pub const CAPACITY: i32 = 6;

pub struct Fixture {
    pub stores: Stores,
    _dir: tempfile::TempDir,
}

pub fn principal(user_id: &str) -> Principal {
    let (user_type, venue) = match user_id {
        STAFF => (UserType::Venue, Some(VENUE)),
        OTHER_STAFF => (UserType::Venue, Some(OTHER_VENUE)),
        _ => (UserType::Client, None),
    };
    Principal {
        user_id: user_id.into(),
        email: format!("{user_id}@example.com"),
        name: format!("Name of {user_id}"),
        user_type,
        venue_id: venue.map(Into::into),
    }
}

pub fn thread(
    user_id: &str,
    agent_type: AgentType,
    venue: Option<&str>,
    event: Option<&str>,
) -> ThreadRecord {
    ThreadRecord {
        id: format!("thr_{agent_type}"),
        user_id: user_id.into(),
        agent_type,
        venue_id: venue.map(Into::into),
        event_id: event.map(Into::into),
        title: None,
        status: ThreadStatus::Active,
        allowed_image_domains: None,
        metadata: Default::default(),
        tokens_in: 0,
        tokens_out: 0,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

impl Fixture {
    pub async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = Database::connect(url).await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        insert_all(&db).await;
        Fixture {
            stores: Stores::new(db),
            _dir: dir,
        }
    }
}

#[rustfmt::skip]
async fn insert_all(db: &sea_orm::DatabaseConnection) {
    let now = Utc::now();
    for (id, name, cap) in [(VENUE, "Grand Hall", CAPACITY), (OTHER_VENUE, "Lake House", 100)] {
        venues::Entity::insert(venues::ActiveModel {
            id: Set(id.into()), name: Set(name.into()), address: Set("1 Main St".into()),
            city: Set("Springfield".into()), capacity: Set(cap), description: Set("A hall".into()),
            contact_email: Set(format!("{id}@venues.example")), created_at: Set(now),
        }).exec_without_returning(db).await.unwrap();
    }
    for (id, name, ty, venue) in [
        (CLIENT, "Ana Lima", "client", None), (OTHER_CLIENT, "Bob Stone", "client", None),
        (STAFF, "Sam Staff", "venue", Some(VENUE)), (OTHER_STAFF, "Olga Other", "venue", Some(OTHER_VENUE)),
    ] {
        users::Entity::insert(users::ActiveModel {
            id: Set(id.into()), email: Set(format!("{id}@example.com")), name: Set(name.into()),
            user_type: Set(ty.into()), venue_id: Set(venue.map(Into::into)), vendor_id: Set(None),
            phone: Set(None), preferences: Set(json!({"style": "rustic", "dietary": "vegetarian options"})),
            created_at: Set(now),
        }).exec_without_returning(db).await.unwrap();
    }
    for (id, name, cat) in [(FLORIST, "Rose Garden Florist", "florist"), (CATERER, "Tasty Catering", "catering"),
        (PHOTOGRAPHER, "Snap Studio", "photography"), (BAND, "The Band", "music")] {
        vendors::Entity::insert(vendors::ActiveModel {
            id: Set(id.into()), name: Set(name.into()), category: Set(cat.into()),
            email: Set(format!("{id}@vendors.example")), phone: Set("555".into()),
            description: Set(format!("{name} description")), created_at: Set(now),
        }).exec_without_returning(db).await.unwrap();
    }
    for (id, venue, vendor, status) in [("vv1", VENUE, FLORIST, "approved"), ("vv2", VENUE, PHOTOGRAPHER, "pending"),
        ("vv3", OTHER_VENUE, BAND, "approved")] {
        venue_vendors::Entity::insert(venue_vendors::ActiveModel {
            id: Set(id.into()), venue_id: Set(venue.into()), vendor_id: Set(vendor.into()),
            status: Set(status.into()), notes: Set(None), created_at: Set(now),
        }).exec_without_returning(db).await.unwrap();
    }
    for (id, venue, cat, name, price, unit) in [(OFFERING_DESSERT, VENUE, "catering", "Dessert bar", 1_500, "per_guest"),
        ("off-dj", VENUE, "music", "House DJ", 80_000, "per_event"),
        (OFFERING_OTHER_VENUE, OTHER_VENUE, "catering", "Lake menu", 9_000, "per_guest")] {
        venue_offerings::Entity::insert(venue_offerings::ActiveModel {
            id: Set(id.into()), venue_id: Set(venue.into()), category: Set(cat.into()), name: Set(name.into()),
            description: Set(format!("{name}!")), price_cents: Set(price), unit: Set(unit.into()),
            vendor_id: Set(None), active: Set(true), created_at: Set(now),
        }).exec_without_returning(db).await.unwrap();
    }
    for (id, venue, client, name, days) in [(EVENT, VENUE, CLIENT, "Ana & Leo Wedding", 30),
        (OTHER_CLIENT_EVENT, VENUE, OTHER_CLIENT, "Bob's Birthday", 40),
        (OTHER_VENUE_EVENT, OTHER_VENUE, OTHER_CLIENT, "Lake Retreat", 50),
        (SECOND_EVENT, VENUE, CLIENT, "Ana's Anniversary", 90)] {
        events::Entity::insert(events::ActiveModel {
            id: Set(id.into()), venue_id: Set(venue.into()), client_id: Set(client.into()), name: Set(name.into()),
            event_type: Set("wedding".into()), event_date: Set(now + Duration::days(days)), end_date: Set(None),
            guest_count: Set(4), budget_cents: Set(2_500_000), status: Set("planning".into()),
            notes: Set(None), created_at: Set(now), updated_at: Set(now),
        }).exec_without_returning(db).await.unwrap();
    }
    for (id, event, vendor, cat, name, price, status) in [
        (EL_CATERING, EVENT, Some(CATERER), "catering", "Dinner buffet", 400_000, "pending_approval"),
        (EL_FLOWERS, EVENT, Some(FLORIST), "florist", "Table flowers", 80_000, "proposed"),
        (EL_VENUE, EVENT, None, "venue", "Main hall", 500_000, "confirmed"),
        (EL_DECLINED, EVENT, None, "decor", "Balloons", 10_000, "declined"),
        (EL_OTHER, OTHER_CLIENT_EVENT, None, "music", "DJ", 80_000, "approved")] {
        event_elements::Entity::insert(event_elements::ActiveModel {
            id: Set(id.into()), event_id: Set(event.into()), offering_id: Set(None),
            vendor_id: Set(vendor.map(Into::into)), category: Set(cat.into()), name: Set(name.into()),
            description: Set(format!("{name} for the event")), quantity: Set(1), price_cents: Set(price),
            status: Set(status.into()), notes: Set(None), created_at: Set(now), updated_at: Set(now),
        }).exec_without_returning(db).await.unwrap();
    }
    for (id, name, email, rsvp, plus_one) in [("g1", "Carla Diaz", "carla@example.com", "attending", true),
        ("g2", "Dan Wu", "dan@example.com", "pending", false), ("g3", "Eve Ng", "eve@example.com", "declined", true)] {
        guests::Entity::insert(guests::ActiveModel {
            id: Set(id.into()), event_id: Set(EVENT.into()), name: Set(name.into()), email: Set(Some(email.into())),
            phone: Set(None), rsvp_status: Set(rsvp.into()), dietary_needs: Set(None), plus_one: Set(plus_one),
            table_number: Set(None), created_at: Set(now),
        }).exec_without_returning(db).await.unwrap();
    }
    contracts::Entity::insert(contracts::ActiveModel {
        id: Set("contract-1".into()), event_id: Set(EVENT.into()), status: Set("sent".into()),
        line_items: Set(json!([{"description": "Main hall", "quantity": 1, "unit_price_cents": 500_000, "total_cents": 500_000},
            {"description": "Dinner buffet", "quantity": 1, "unit_price_cents": 400_000, "total_cents": 400_000}])),
        subtotal_cents: Set(900_000), tax_cents: Set(72_000), total_cents: Set(972_000),
        deposit_cents: Set(250_000), deposit_paid: Set(true), signed_at: Set(None), created_at: Set(now), updated_at: Set(now),
    }).exec_without_returning(db).await.unwrap();
    for (id, event, element, ty, details) in [
        (CR_MODIFY, EVENT, Some(EL_FLOWERS), "modify", json!({"name": "Peony centerpieces", "price_cents": 95_000})),
        (CR_ADD, EVENT, None, "add", json!({"offering_id": OFFERING_DESSERT})),
        (CR_REMOVE, EVENT, Some(EL_CATERING), "remove", json!({})),
        (CR_OTHER, OTHER_CLIENT_EVENT, Some(EL_OTHER), "remove", json!({}))] {
        change_requests::Entity::insert(change_requests::ActiveModel {
            id: Set(id.into()), event_id: Set(event.into()), element_id: Set(element.map(Into::into)),
            requested_by: Set(CLIENT.into()), request_type: Set(ty.into()), description: Set(format!("{ty} please")),
            details: Set(details), status: Set("open".into()), resolution_note: Set(None), resolved_by: Set(None),
            created_at: Set(now), resolved_at: Set(None),
        }).exec_without_returning(db).await.unwrap();
    }
    for (id, venue, event, title, status, due) in [("t1", VENUE, Some(EVENT), "Confirm menu", "pending", Some(1)),
        ("t2", VENUE, None, "Order chairs", "done", None), ("t3", OTHER_VENUE, None, "Lake dock", "pending", Some(2)),
        ("t4", VENUE, None, "Late invoice", "pending", Some(-2))] {
        tasks::Entity::insert(tasks::ActiveModel {
            id: Set(id.into()), venue_id: Set(venue.into()), event_id: Set(event.map(Into::into)), title: Set(title.into()),
            description: Set(None), assigned_to: Set(None), status: Set(status.into()), priority: Set("medium".into()),
            due_at: Set(due.map(|d| now + Duration::days(d))), created_by: Set(Some(STAFF.into())),
            created_at: Set(now), updated_at: Set(now),
        }).exec_without_returning(db).await.unwrap();
    }
    for (id, venue, event, rtype, rid, subject, body, ago) in [
        ("m1", VENUE, Some(EVENT), "client", CLIENT, "Menu tasting", "We can add a vegetarian menu option for the tasting.", 3),
        ("m2", VENUE, Some(EVENT), "vendor", FLORIST, "Flower delivery", "Please deliver the flowers by noon.", 2),
        ("m3", VENUE, None, "venue", STAFF, "Parking", "Vegetarian caterer parking at the back.", 1),
        ("m4", OTHER_VENUE, None, "venue", OTHER_STAFF, "Menu", "Vegetarian menu at the lake.", 1)] {
        messages::Entity::insert(messages::ActiveModel {
            id: Set(id.into()), venue_id: Set(venue.into()), event_id: Set(event.map(Into::into)),
            sender_id: Set(STAFF.into()), sender_name: Set("Sam Staff".into()), recipient_type: Set(rtype.into()),
            recipient_id: Set(rid.into()), subject: Set(Some(subject.into())), body: Set(body.into()),
            created_at: Set(now - Duration::hours(ago)), read_at: Set(None),
        }).exec_without_returning(db).await.unwrap();
    }
}
