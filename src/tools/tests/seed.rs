//! The context builders, and the read tools on the demo data set (`seed_demo`): each
//! assistant's context is bounded, names its world and nothing of another venue.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Utc;
use migration::{Migrator, MigratorTrait};
use sea_orm::Database;
use serde_json::json;

use crate::agents::context::build_context;
use crate::agents::spec::AgentSpec;
use crate::auth::principal::{Principal, UserType};
use crate::store::Stores;
use crate::store::domain::fixture::*;
use crate::store::seed::{DEMO_CLIENT_EMAIL, DEMO_STAFF_EMAIL, seed_demo};
use crate::tools::{ToolContext, execute};
use crate::vocab::AgentType;

#[tokio::test]
async fn contexts_on_fixture() {
    let f = Fixture::new().await;
    let c = build_context(
        &f.stores,
        &principal(CLIENT),
        &thread(CLIENT, AgentType::Client, Some(VENUE), Some(EVENT)),
    )
    .await
    .unwrap();
    for needle in [
        "Ana Lima",
        "Ana & Leo Wedding",
        "Grand Hall",
        "$25,000.00",
        "Table flowers",
        "Dessert bar",
        "Rose Garden Florist",
        "Open change requests",
        "Menu tasting",
    ] {
        assert!(c.contains(needle), "client context lacks {needle}:\n{c}");
    }
    assert!(
        !c.contains("Flower delivery"),
        "vendor messages are not shown to the client"
    );
    let g = build_context(
        &f.stores,
        &principal(STAFF),
        &thread(STAFF, AgentType::VenueGeneral, Some(VENUE), None),
    )
    .await
    .unwrap();
    for needle in [
        "Grand Hall",
        "Ana & Leo Wedding",
        "Bob's Birthday",
        "Snap Studio",
        "overdue: 1",
        "pending 2",
    ] {
        assert!(g.contains(needle), "general context lacks {needle}:\n{g}");
    }
    assert!(
        !g.contains("Lake Retreat") && !g.contains("Ana's Anniversary"),
        "other venue / beyond 60 days:\n{g}"
    );
    let e = build_context(
        &f.stores,
        &principal(STAFF),
        &thread(STAFF, AgentType::VenueEvent, Some(VENUE), Some(EVENT)),
    )
    .await
    .unwrap();
    for needle in [
        "Ana & Leo Wedding",
        "Ana Lima",
        "Tasty Catering",
        "Confirm menu",
        "Flower delivery",
        "3 heads of capacity 6",
    ] {
        assert!(e.contains(needle), "event context lacks {needle}:\n{e}");
    }
    // Access is re-checked: a thread of another venue's event yields nothing.
    let denied = build_context(
        &f.stores,
        &principal(STAFF),
        &thread(
            STAFF,
            AgentType::VenueEvent,
            Some(VENUE),
            Some(OTHER_VENUE_EVENT),
        ),
    )
    .await;
    assert!(denied.is_err());
    assert!(
        build_context(
            &f.stores,
            &principal(CLIENT),
            &thread(CLIENT, AgentType::Client, None, None)
        )
        .await
        .is_err()
    );
}

async fn demo() -> (Stores, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("demo.db").display());
    let db = Database::connect(url).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    seed_demo(&db, Utc::now().date_naive()).await.unwrap();
    (Stores::new(db), dir)
}

async fn demo_principal(stores: &Stores, email: &str) -> Principal {
    let u = stores.users.find_by_email(email).await.unwrap().unwrap();
    Principal {
        user_id: u.id,
        email: u.email,
        name: u.name,
        user_type: UserType::parse(&u.user_type).unwrap(),
        venue_id: u.venue_id,
    }
}

#[tokio::test]
async fn demo_data_contexts_and_reads() {
    let (stores, _dir) = demo().await;
    let client = demo_principal(&stores, DEMO_CLIENT_EMAIL).await;
    let staff = demo_principal(&stores, DEMO_STAFF_EMAIL).await;
    let events = stores.domain.client_events(&client.user_id).await.unwrap();
    let event = events.iter().find(|e| e.event_date > Utc::now()).unwrap();
    let ct = thread(
        &client.user_id,
        AgentType::Client,
        Some(&event.venue_id),
        Some(&event.id),
    );
    let text = build_context(&stores, &client, &ct).await.unwrap();
    assert!(text.contains(&event.name) && text.len() < 12_000, "{text}");
    let ctx = ToolContext {
        principal: &client,
        thread: &ct,
        stores: &stores,
        offered: AgentSpec::of(ct.agent_type).tools,
    };
    for (tool, args) in [
        ("getEventDetails", json!({"eventId": event.id})),
        ("viewGuestList", json!({"eventId": event.id})),
        ("listAvailableElements", json!({})),
    ] {
        let o = execute(&ctx, tool, &args.to_string()).await;
        assert!(o.ok, "{tool}: {o:?}");
    }
    let venue = staff.venue_id.clone().unwrap();
    let gt = thread(&staff.user_id, AgentType::VenueGeneral, Some(&venue), None);
    let text = build_context(&stores, &staff, &gt).await.unwrap();
    assert!(
        text.contains("Events in the next 60 days") && text.len() < 12_000,
        "{text}"
    );
    let ctx = ToolContext {
        principal: &staff,
        thread: &gt,
        stores: &stores,
        offered: AgentSpec::of(gt.agent_type).tools,
    };
    for (tool, args) in [
        ("listEvents", json!({})),
        ("listVendors", json!({})),
        ("listPendingTasks", json!({})),
        ("searchMessages", json!({"query": "menu"})),
    ] {
        let o = execute(&ctx, tool, &args.to_string()).await;
        assert!(o.ok, "{tool}: {o:?}");
    }
    let et = thread(
        &staff.user_id,
        AgentType::VenueEvent,
        Some(&venue),
        Some(&event.id),
    );
    let text = build_context(&stores, &staff, &et).await.unwrap();
    assert!(text.contains(&event.name) && text.len() < 12_000, "{text}");
    // The demo client may not read the other venue's events.
    let foreign = stores
        .domain
        .venue_events(
            "00000000-0000-4000-8000-000000001002",
            &crate::store::domain::EventQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    if let Some(other) = foreign.iter().find(|e| e.client_id != client.user_id) {
        let ctx = ToolContext {
            principal: &client,
            thread: &ct,
            stores: &stores,
            offered: AgentSpec::of(ct.agent_type).tools,
        };
        let o = execute(
            &ctx,
            "getEventDetails",
            &json!({"eventId": other.id}).to_string(),
        )
        .await;
        assert!(!o.ok);
    }
}
