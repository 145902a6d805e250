//! Tool tests on a migrated SQLite file with the domain fixture. This file: the shared
//! helpers (`call`, `assert_refused`), the argument gate (JSON, schema, the assistant's
//! tool set) and the audit log; the tool sets themselves are tested with the specs
//! (`agents::spec`). Beside it, one file per concern: `client.rs` (client tools),
//! `venue.rs` (venue side), `event.rs` (venue_event writes), `seed.rs` (contexts and read
//! tools on the demo data set).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod client;
mod event;
mod seed;
mod venue;

use serde_json::{Value, json};

use super::{ToolContext, ToolOutcome, execute};
use crate::agents::spec::AgentSpec;
use crate::store::domain::fixture::*;
use crate::vocab::AgentType;

/// Runs `tool` as `user` in a thread of `agent` bound to `venue`/`event`.
async fn call(
    f: &Fixture,
    user: &str,
    agent: AgentType,
    venue: Option<&str>,
    event: Option<&str>,
    tool: &str,
    args: Value,
) -> ToolOutcome {
    let p = principal(user);
    let t = thread(user, agent, venue, event);
    let ctx = ToolContext {
        principal: &p,
        thread: &t,
        stores: &f.stores,
        offered: AgentSpec::of(t.agent_type).tools,
    };
    execute(&ctx, tool, &args.to_string()).await
}

async fn client(f: &Fixture, tool: &str, args: Value) -> ToolOutcome {
    call(
        f,
        CLIENT,
        AgentType::Client,
        Some(VENUE),
        Some(EVENT),
        tool,
        args,
    )
    .await
}

fn assert_refused(o: &ToolOutcome, needle: &str) {
    assert!(!o.ok, "expected a refusal, got {o:?}");
    assert!(o.title.starts_with("Refused:"), "{}", o.title);
    let err = o.result["error"].as_str().unwrap();
    assert!(err.contains(needle), "error {err:?} lacks {needle:?}");
    assert!(o.changed_event.is_none());
}

#[tokio::test]
async fn argument_gate() {
    let f = Fixture::new().await;
    assert_refused(&client(&f, "dropTables", json!({})).await, "unknown tool");
    assert_refused(
        &client(&f, "updateEvent", json!({"eventId": EVENT, "name": "x"})).await,
        "not available",
    );
    let p = principal(CLIENT);
    let t = thread(CLIENT, AgentType::Client, Some(VENUE), Some(EVENT));
    let ctx = ToolContext {
        principal: &p,
        thread: &t,
        stores: &f.stores,
        offered: AgentSpec::of(t.agent_type).tools,
    };
    assert_refused(
        &execute(&ctx, "getEventDetails", "{not json").await,
        "not valid JSON",
    );
    assert_refused(
        &client(&f, "getEventDetails", json!({})).await,
        "eventId is required",
    );
    assert_refused(
        &client(&f, "getEventDetails", json!({"eventId": 7})).await,
        "type string",
    );
    assert_refused(
        &client(
            &f,
            "addGuest",
            json!({"eventId": EVENT, "name": "A", "extra": 1}),
        )
        .await,
        "not a known parameter",
    );
    assert_refused(
        &client(
            &f,
            "addGuest",
            json!({"eventId": EVENT, "name": "A", "email": "nope"}),
        )
        .await,
        "valid email",
    );
    assert_refused(
        &client(
            &f,
            "viewGuestList",
            json!({"eventId": EVENT, "rsvpStatus": "sure"}),
        )
        .await,
        "one of",
    );
    assert_eq!(
        f.stores
            .domain
            .event_guests(EVENT, None)
            .await
            .unwrap()
            .len(),
        3,
        "nothing was added"
    );
}

#[tokio::test]
async fn audit_log_round_trip() {
    let f = Fixture::new().await;
    let audit = crate::store::domain::ToolCallAudit {
        thread_id: "thr_1".into(),
        user_id: CLIENT.into(),
        agent_type: AgentType::Client,
        tool: "addGuest".into(),
        arguments: json!({"eventId": EVENT}),
        result_summary: "Added guest X".into(),
        ok: true,
        error: None,
        duration_ms: 12,
    };
    f.stores
        .domain
        .record_tool_call(audit.clone())
        .await
        .unwrap();
    f.stores
        .domain
        .record_tool_call(crate::store::domain::ToolCallAudit {
            ok: false,
            error: Some("no".into()),
            ..audit
        })
        .await
        .unwrap();
    let rows = f
        .stores
        .domain
        .tool_calls_for_thread("thr_1")
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].ok && !rows[1].ok);
    assert_eq!(rows[1].error.as_deref(), Some("no"));
    assert!(
        f.stores
            .domain
            .tool_calls_for_thread("thr_2")
            .await
            .unwrap()
            .is_empty()
    );
}
