//! Tests of the demo seed: idempotency on SQLite and PostgreSQL, and the shape of the data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use entity::prelude::*;
use entity::{events, users};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter,
};

use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()
}

async fn row_counts(db: &DatabaseConnection) -> Vec<u64> {
    vec![
        Users::find().count(db).await.unwrap(),
        Venues::find().count(db).await.unwrap(),
        Vendors::find().count(db).await.unwrap(),
        VenueVendors::find().count(db).await.unwrap(),
        VenueOfferings::find().count(db).await.unwrap(),
        Events::find().count(db).await.unwrap(),
        EventElements::find().count(db).await.unwrap(),
        Guests::find().count(db).await.unwrap(),
        Contracts::find().count(db).await.unwrap(),
        Tasks::find().count(db).await.unwrap(),
        Messages::find().count(db).await.unwrap(),
        ChangeRequests::find().count(db).await.unwrap(),
    ]
}

fn report_counts(r: &SeedReport) -> Vec<u64> {
    [
        r.users,
        r.venues,
        r.vendors,
        r.venue_vendors,
        r.offerings,
        r.events,
        r.elements,
        r.guests,
        r.contracts,
        r.tasks,
        r.messages,
        r.change_requests,
    ]
    .iter()
    .map(|n| *n as u64)
    .collect()
}

/// Seeds twice and checks the second run writes nothing.
async fn seed_twice(db: &DatabaseConnection) {
    Migrator::up(db, None).await.unwrap();
    let first = seed_demo(db, today()).await.unwrap();
    assert!(first.created);
    let counts = row_counts(db).await;
    assert_eq!(counts, report_counts(&first));

    // A later day changes nothing either: the check is on the fixed venue id.
    let next_day = today().succ_opt().unwrap();
    let second = seed_demo(db, next_day).await.unwrap();
    assert!(!second.created);
    assert_eq!(row_counts(db).await, counts);
    assert_eq!(report_counts(&second), counts);
}

#[tokio::test]
async fn seeding_twice_on_sqlite_writes_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("seed.db").display());
    let db = Database::connect(&url).await.unwrap();
    db.execute_unprepared("PRAGMA foreign_keys = ON")
        .await
        .unwrap();
    seed_twice(&db).await;
    check_requirements(&db).await;
    db.close().await.unwrap();
}

#[tokio::test]
async fn seeding_twice_on_postgres_writes_once() {
    let pg = crate::store::test_pg::TestPg::create("ec_seed").await;
    let db = Database::connect(&pg.url).await.unwrap();
    seed_twice(&db).await;
    check_requirements(&db).await;
    db.close().await.unwrap();
    pg.drop_db().await;
}

fn tally<'a>(values: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut map = BTreeMap::new();
    for v in values {
        *map.entry(v).or_default() += 1;
    }
    map
}

/// The promises of the brief, read back from the database.
async fn check_requirements(db: &DatabaseConnection) {
    let all_users = Users::find().all(db).await.unwrap();
    let emails: HashSet<_> = all_users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails.len(), all_users.len(), "emails are unique");
    for u in &all_users {
        let (local, domain) = u.email.split_once('@').unwrap();
        assert_eq!(u.email, u.email.to_lowercase());
        assert!(domain.ends_with(".example"), "{}", u.email);
        assert_eq!(
            local,
            local.split('.').next().unwrap(),
            "first-name local part"
        );
    }
    let by_email = |e: &str| all_users.iter().find(|u| u.email == e).unwrap();
    assert_eq!(by_email(DEMO_ADMIN_EMAIL).user_type, "admin");
    let staff = by_email(DEMO_STAFF_EMAIL);
    assert_eq!(staff.user_type, "venue");
    assert_eq!(
        staff.venue_id.as_deref(),
        Some(demo_id(table::VENUE, 1).as_str())
    );
    let client = by_email(DEMO_CLIENT_EMAIL);
    assert_eq!(client.user_type, "client");
    let client_events = Events::find()
        .filter(events::Column::ClientId.eq(&client.id))
        .all(db)
        .await
        .unwrap();
    assert!(
        client_events
            .iter()
            .any(|e| e.venue_id == demo_id(table::VENUE, 1))
    );

    let types = tally(all_users.iter().map(|u| u.user_type.as_str()));
    assert!(types["client"] >= 8);
    assert_eq!(types["admin"], 1);
    for venue in Venues::find().all(db).await.unwrap() {
        let staff = Users::find()
            .filter(users::Column::VenueId.eq(&venue.id))
            .filter(users::Column::UserType.eq("venue"))
            .count(db)
            .await
            .unwrap();
        assert_eq!(staff, 2, "{}", venue.name);
    }

    assert!(Vendors::find().count(db).await.unwrap() >= 8);
    let vv = VenueVendors::find().all(db).await.unwrap();
    let vv_status = tally(vv.iter().map(|v| v.status.as_str()));
    assert!(vv_status["pending"] >= 2 && vv_status["approved"] > vv_status["pending"]);

    let all_events = Events::find().all(db).await.unwrap();
    assert!(all_events.len() >= 10);
    let statuses = tally(all_events.iter().map(|e| e.status.as_str()));
    for s in ["inquiry", "planning", "confirmed", "completed", "cancelled"] {
        assert!(statuses.contains_key(s), "no {s} event");
    }
    let venues_used: HashSet<_> = all_events.iter().map(|e| e.venue_id.as_str()).collect();
    assert_eq!(venues_used.len(), 2);
    let now = today().and_hms_opt(0, 0, 0).unwrap().and_utc();
    for e in &all_events {
        let past = e.event_date < now;
        assert_eq!(past, e.status == "completed", "{}", e.name);
        assert!(e.event_date < now + chrono::Duration::days(190));
    }

    let elements = EventElements::find().all(db).await.unwrap();
    for e in &all_events {
        assert!(
            elements.iter().any(|x| x.event_id == e.id),
            "{} has elements",
            e.name
        );
    }
    let categories: HashSet<_> = elements.iter().map(|x| x.category.as_str()).collect();
    for c in ["catering", "florist", "photography", "music"] {
        assert!(categories.contains(c), "no {c} element");
    }
    assert!(elements.iter().any(|x| x.name.contains("Vegetarian")));
    let element_statuses = tally(elements.iter().map(|x| x.status.as_str()));
    assert!(element_statuses.len() >= 5, "{element_statuses:?}");

    let guest_rows = Guests::find().all(db).await.unwrap();
    let dietary: HashSet<_> = guest_rows
        .iter()
        .filter_map(|g| g.dietary_needs.as_deref())
        .collect();
    for d in ["vegetarian", "vegan", "gluten-free", "nut allergy"] {
        assert!(dietary.contains(d), "no {d} guest");
    }
    let rsvp = tally(guest_rows.iter().map(|g| g.rsvp_status.as_str()));
    assert_eq!(rsvp.len(), 4, "{rsvp:?}");

    let all_contracts = Contracts::find().all(db).await.unwrap();
    let non_inquiry = all_events.iter().filter(|e| e.status != "inquiry").count();
    assert_eq!(all_contracts.len(), non_inquiry);
    for c in &all_contracts {
        let items = c.line_items.as_array().unwrap();
        assert!(!items.is_empty());
        let sum: i64 = items
            .iter()
            .map(|i| i["total_cents"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, c.subtotal_cents);
        for i in items {
            assert_eq!(
                i["quantity"].as_i64().unwrap() * i["unit_price_cents"].as_i64().unwrap(),
                i["total_cents"].as_i64().unwrap()
            );
        }
        assert_eq!(c.total_cents, c.subtotal_cents + c.tax_cents);
        assert_eq!(c.deposit_cents, (c.total_cents * 25 + 50) / 100);
    }

    let all_tasks = Tasks::find().all(db).await.unwrap();
    assert!(all_tasks.iter().any(|t| t.status == "done"));
    assert!(
        all_tasks
            .iter()
            .any(|t| t.status == "pending" && t.due_at.is_some_and(|d| d < now)),
        "an overdue task"
    );

    let msgs = Messages::find().all(db).await.unwrap();
    let recipients = tally(msgs.iter().map(|m| m.recipient_type.as_str()));
    assert_eq!(recipients.len(), 3, "{recipients:?}");
    let open = ChangeRequests::find()
        .filter(entity::change_requests::Column::Status.eq("open"))
        .count(db)
        .await
        .unwrap();
    assert!(open >= 2);
}

#[test]
fn the_data_set_is_deterministic() {
    let a = DemoData::build(today());
    let b = DemoData::build(today());
    assert_eq!(a.report(true), b.report(true));
    assert_eq!(a.events, b.events);
    assert_eq!(a.contracts, b.contracts);
    assert_eq!(
        demo_id(table::VENUE, 1),
        "00000000-0000-4000-8000-000000001001"
    );
    assert_eq!(
        demo_id(table::EVENT, 12),
        "00000000-0000-4000-8000-000000006012"
    );
    let ids: HashSet<_> = a.elements.iter().map(|e| &e.id).collect();
    assert_eq!(ids.len(), a.elements.len());
}
