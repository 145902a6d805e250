//! Full-text search (issue #19), `GET /api/v1/search`, on both databases: ranking, the
//! query syntax, isolation (threads are private; messages follow the event and venue
//! rules), writes through the real ChatKit endpoint visible at once and gone with their
//! thread, safe HTML snippets, hostile queries, and the migration's backfill of rows that
//! existed before it ran.

use chrono::{Duration, Utc};
use eventchat::startup::Application;
use eventchat::store::domain::MessageRecord;
use eventchat::store::seed::{self, DEMO_CLIENT_EMAIL, DEMO_STAFF_EMAIL};
use migration::{Migrator, MigratorTrait};
use mock_llm::{MockLlm, Reply};
use sea_orm::{ActiveValue::Set, ConnectionTrait, Database, EntityTrait};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, TestDb, test_settings};
use crate::requests as req;

/// `GET /api/v1/search` with these query parameters: the status and the JSON body.
async fn search_with(app: &TestApp, token: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let r = app
        .http
        .get(app.url("/api/v1/search"))
        .bearer_auth(token)
        .query(params)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The hits for `q`, which must be answered with 200.
async fn hits(app: &TestApp, token: &str, q: &str) -> Vec<Value> {
    let (status, body) = search_with(app, token, &[("q", q)]).await;
    assert_eq!(status, 200, "{q}: {body}");
    body["data"].as_array().expect("data array").clone()
}

fn ids(hits: &[Value]) -> Vec<String> {
    hits.iter()
        .map(|h| h["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A message stored the way `domain::messages` stores one (the search sees it through the
/// index's triggers, like any write).
#[allow(clippy::too_many_arguments)]
async fn message(
    app: &TestApp,
    id: &str,
    venue_id: &str,
    event_id: Option<&str>,
    to: (&str, &str),
    subject: Option<&str>,
    body: &str,
    minutes_ago: i64,
) {
    let sender = app.user(DEMO_STAFF_EMAIL).await;
    app.state
        .stores
        .domain
        .insert_message(&MessageRecord {
            id: id.into(),
            venue_id: venue_id.into(),
            event_id: event_id.map(Into::into),
            sender_id: sender.id,
            sender_name: "Maya".into(),
            recipient_type: to.0.into(),
            recipient_id: to.1.into(),
            subject: subject.map(Into::into),
            body: body.into(),
            created_at: Utc::now() - Duration::minutes(minutes_ago),
            read_at: None,
        })
        .await
        .unwrap();
}

async fn ranking(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.seed().await;
    let staff = app.token_for(DEMO_STAFF_EMAIL).await;
    let (_, venue) = app.demo_staff().await;
    let v = venue.as_str();
    let to = ("venue", "nobody");
    message(
        &app,
        "weak",
        v,
        None,
        to,
        Some("Update"),
        "One quokka mention among many other words about the day.",
        5,
    )
    .await;
    message(
        &app,
        "strong",
        v,
        None,
        to,
        Some("Quokka tasting"),
        "The quokka menu and the quokka cake.",
        10,
    )
    .await;
    message(
        &app,
        "lantern",
        v,
        None,
        to,
        None,
        "Paper lantern for the quokka garden.",
        20,
    )
    .await;
    message(
        &app,
        "lantern_only",
        v,
        None,
        to,
        None,
        "A lantern by the door.",
        30,
    )
    .await;
    // Same text, so the same relevance: the newer one first.
    message(&app, "tie_old", v, None, to, None, "Platypus note.", 40).await;
    message(&app, "tie_new", v, None, to, None, "Platypus note.", 1).await;

    let found = hits(&app, &staff, "quokka").await;
    assert_eq!(
        ids(&found)[0],
        "strong",
        "subject + two body hits first: {found:?}"
    );
    assert_eq!(ids(&found).len(), 3, "{found:?}");
    let score = |id: &str| {
        found.iter().find(|h| h["id"] == id).unwrap()["score"]
            .as_f64()
            .unwrap()
    };
    assert!(score("strong") > score("weak"), "{found:?}");
    let strong = &found[0];
    assert_eq!(strong["kind"], "message");
    assert_eq!(strong["title"], "Quokka tasting");
    assert_eq!(strong["venue_id"], v);
    assert!(
        strong.get("thread_id").is_none(),
        "nulls are omitted: {strong}"
    );
    assert!(
        strong.get("event_id").is_none(),
        "nulls are omitted: {strong}"
    );
    assert!(
        strong["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>quokka</mark>"),
        "{strong}"
    );
    // A message without a subject is titled by its sender.
    let lantern = found.iter().find(|h| h["id"] == "lantern").unwrap();
    assert_eq!(lantern["title"], "Message from Maya");

    // Words: all must match. OR, phrases, exclusion, prefixes, stemming.
    assert_eq!(
        ids(&hits(&app, &staff, "quokka lantern").await),
        ["lantern"]
    );
    let either = ids(&hits(&app, &staff, "quokka OR lantern").await);
    assert_eq!(either.len(), 4, "{either:?}");
    assert!(either.contains(&"lantern_only".to_owned()));
    assert_eq!(
        ids(&hits(&app, &staff, "\"quokka cake\"").await),
        ["strong"]
    );
    assert!(
        hits(&app, &staff, "\"cake quokka\"").await.is_empty(),
        "phrase order counts"
    );
    let without = ids(&hits(&app, &staff, "quokka -cake").await);
    assert_eq!(without.len(), 2, "{without:?}");
    assert!(!without.contains(&"strong".to_owned()));
    assert_eq!(ids(&hits(&app, &staff, "quok*").await).len(), 3);
    assert_eq!(
        ids(&hits(&app, &staff, "quokkas").await).len(),
        3,
        "stemmed"
    );
    assert_eq!(
        ids(&hits(&app, &staff, "platypus").await),
        ["tie_new", "tie_old"]
    );
    // A message edited in place is found by its new text only; marking it read changes
    // nothing.
    let db = &app.state.stores.db;
    let backend = db.get_database_backend();
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        match backend {
            sea_orm::DbBackend::Postgres => "UPDATE messages SET body = $1 WHERE id = $2",
            _ => "UPDATE messages SET body = ? WHERE id = ?",
        },
        ["A candle by the door.".into(), "lantern_only".into()],
    ))
    .await
    .unwrap();
    db.execute_unprepared("UPDATE messages SET read_at = created_at")
        .await
        .unwrap();
    assert_eq!(ids(&hits(&app, &staff, "candle").await), ["lantern_only"]);
    assert_eq!(ids(&hits(&app, &staff, "lantern").await), ["lantern"]);
    // limit and kind.
    let (status, body) = search_with(&app, &staff, &[("q", "quokka"), ("limit", "1")]).await;
    assert_eq!(status, 200);
    assert_eq!(ids(body["data"].as_array().unwrap()), ["strong"]);
    let (_, body) = search_with(&app, &staff, &[("q", "quokka"), ("kind", "thread_item")]).await;
    assert!(body["data"].as_array().unwrap().is_empty(), "{body}");
    let (status, body) = search_with(&app, &staff, &[("q", "quokka"), ("kind", "threads")]).await;
    assert_eq!(status, 400, "{body}");
    app.finish().await;
}
both_backends!(ranking_and_syntax, ranking);

async fn isolation(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let client = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event, venue) = app.event_of(DEMO_CLIENT_EMAIL).await;
    let other_email = app.other_user("client", DEMO_CLIENT_EMAIL).await;
    let other = app.token_for(&other_email).await;
    let other_user = app.user(&other_email).await;
    let (other_event, other_venue) = app.event_of(&other_email).await;
    let staff = app.token_for(DEMO_STAFF_EMAIL).await;
    let far_staff_email = app.staff_elsewhere(&venue).await;
    let far_staff = app.token_for(&far_staff_email).await;
    let far_venue = app.venue_of(&far_staff_email).await;
    let client_user = app.user(DEMO_CLIENT_EMAIL).await;

    // Two clients' threads with the same word.
    for (token, ev, text) in [
        (&client, &event, "Mine: the marmalade cake"),
        (&other, &other_event, "Theirs: the marmalade cake"),
    ] {
        mock.push(Reply::text(["Noted."]));
        app.create_thread(token, text, json!({"agentType":"client","eventId":ev}))
            .await;
    }
    let mine = hits(&app, &client, "marmalade").await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert!(
        mine[0]["snippet"].as_str().unwrap().starts_with("Mine"),
        "{mine:?}"
    );
    assert_eq!(mine[0]["kind"], "thread_item");
    let theirs = hits(&app, &other, "marmalade").await;
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert!(theirs[0]["snippet"].as_str().unwrap().starts_with("Theirs"));
    assert!(
        hits(&app, &staff, "marmalade").await.is_empty(),
        "threads are private"
    );

    // Messages: to the demo client, to the other client, to a vendor about the demo
    // client's event, at the other venue.
    let cid = client_user.id.as_str();
    message(
        &app,
        "to_client",
        &venue,
        Some(&event),
        ("client", cid),
        Some("Gazebo"),
        "The gazebo is booked.",
        3,
    )
    .await;
    message(
        &app,
        "to_other",
        &other_venue,
        Some(&other_event),
        ("client", &other_user.id),
        Some("Gazebo"),
        "Your gazebo too.",
        2,
    )
    .await;
    message(
        &app,
        "to_vendor",
        &venue,
        Some(&event),
        ("vendor", "some-vendor"),
        None,
        "Build the gazebo early.",
        1,
    )
    .await;
    message(
        &app,
        "far",
        &far_venue,
        None,
        ("venue", "x"),
        None,
        "Gazebo at the far venue.",
        1,
    )
    .await;

    assert_eq!(ids(&hits(&app, &client, "gazebo").await), ["to_client"]);
    assert_eq!(ids(&hits(&app, &other, "gazebo").await), ["to_other"]);
    let staff_sees = ids(&hits(&app, &staff, "gazebo").await);
    assert!(
        staff_sees.contains(&"to_client".to_owned()),
        "{staff_sees:?}"
    );
    assert!(
        staff_sees.contains(&"to_vendor".to_owned()),
        "{staff_sees:?}"
    );
    assert!(!staff_sees.contains(&"far".to_owned()), "{staff_sees:?}");
    if other_venue != venue {
        assert!(
            !staff_sees.contains(&"to_other".to_owned()),
            "{staff_sees:?}"
        );
    }
    let far_sees = ids(&hits(&app, &far_staff, "gazebo").await);
    assert!(far_sees.contains(&"far".to_owned()), "{far_sees:?}");
    assert!(!far_sees.contains(&"to_client".to_owned()), "{far_sees:?}");
    assert!(!far_sees.contains(&"to_vendor".to_owned()), "{far_sees:?}");

    // event_id narrows, and must be an event the caller may see.
    let (status, body) = search_with(&app, &client, &[("q", "gazebo"), ("event_id", &event)]).await;
    assert_eq!(status, 200);
    assert_eq!(ids(body["data"].as_array().unwrap()), ["to_client"]);
    let (status, body) =
        search_with(&app, &client, &[("q", "marmalade"), ("event_id", &event)]).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"].as_array().unwrap().len(),
        1,
        "the thread's event: {body}"
    );
    let (status, body) = search_with(
        &app,
        &client,
        &[("q", "gazebo"), ("event_id", &other_event)],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = search_with(&app, &far_staff, &[("q", "gazebo"), ("event_id", &event)]).await;
    assert_eq!(status, 403);
    let (status, _) = search_with(&app, &client, &[("q", "gazebo"), ("event_id", "nope")]).await;
    assert_eq!(status, 404);
    // No token, no search.
    let r = app
        .http
        .get(app.url("/api/v1/search?q=gazebo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    app.finish().await;
}
both_backends!(isolation_between_users_and_venues, isolation);

async fn writes_are_searchable(backend: Backend) {
    let mock = MockLlm::start();
    let app = TestApp::with_mock(backend, &mock, &[]).await;
    let client = app.token_for(DEMO_CLIENT_EMAIL).await;
    let (event, _) = app.event_of(DEMO_CLIENT_EMAIL).await;
    mock.push(Reply::text([
        "Put the pelican ",
        "statue by the ",
        "wombat fountain.",
    ]));
    let (thread_id, _) = app
        .create_thread(
            &client,
            "Where should the pelican statue go?",
            json!({"agentType":"client","eventId":event}),
        )
        .await;
    let reply = hits(&app, &client, "wombat").await;
    assert_eq!(reply.len(), 1, "the assistant's reply: {reply:?}");
    assert_eq!(reply[0]["thread_id"], thread_id.as_str());
    assert_eq!(reply[0]["event_id"], event.as_str());
    assert_eq!(reply[0]["title"], "Untitled conversation");
    assert!(
        reply[0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>wombat</mark>"),
        "{reply:?}"
    );
    assert_eq!(
        hits(&app, &client, "pelican").await.len(),
        2,
        "question and answer"
    );

    // A rename shows in the hits; a second turn is searchable too.
    let (status, _) = app
        .chatkit(&client, req::update_thread(&thread_id, "Garden plans"))
        .await;
    assert_eq!(status, 200);
    mock.push(Reply::text(["The kookaburra sings at noon."]));
    let (status, _) = app
        .add_user_message(&client, &thread_id, "And the bird?")
        .await;
    assert_eq!(status, 200);
    let bird = hits(&app, &client, "kookaburra").await;
    assert_eq!(bird.len(), 1);
    assert_eq!(bird[0]["title"], "Garden plans");
    assert_eq!(bird[0]["thread_title"], "Garden plans");

    // Deleting the thread takes its items out of search.
    let (status, _) = app.chatkit(&client, req::delete_thread(&thread_id)).await;
    assert_eq!(status, 200);
    assert!(hits(&app, &client, "pelican").await.is_empty());
    assert!(hits(&app, &client, "kookaburra").await.is_empty());
    app.finish().await;
}
both_backends!(
    writes_are_searchable_at_once_and_go_with_their_thread,
    writes_are_searchable
);

async fn escaping_and_hostile_queries(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.seed().await;
    let staff = app.token_for(DEMO_STAFF_EMAIL).await;
    let (_, venue) = app.demo_staff().await;
    message(
        &app,
        "xss",
        &venue,
        None,
        ("venue", "x"),
        Some("<img src=x onerror=alert(1)>"),
        "<script>alert(\"narwhal\")</script> & the narwhal's <b>tank</b>",
        1,
    )
    .await;
    let found = hits(&app, &staff, "narwhal").await;
    assert_eq!(found.len(), 1, "{found:?}");
    let snippet = found[0]["snippet"].as_str().unwrap();
    assert!(!snippet.contains("<script"), "{snippet}");
    assert!(!snippet.contains("<b>"), "{snippet}");
    if backend == Backend::Sqlite {
        assert!(snippet.contains("&lt;script&gt;"), "{snippet}");
    } else {
        // ts_headline drops what its parser takes for tags.
        assert!(!snippet.contains("script"), "{snippet}");
    }
    assert!(snippet.contains("<mark>narwhal</mark>"), "{snippet}");
    assert!(snippet.contains("&amp;"), "{snippet}");
    // Every tag left is a mark.
    let tags: Vec<&str> = snippet
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap())
        .collect();
    assert!(
        tags.iter().all(|t| *t == "mark" || *t == "/mark"),
        "{snippet}"
    );
    // The title is plain text, for the page to escape.
    assert_eq!(found[0]["title"], "<img src=x onerror=alert(1)>");

    let long = "narwhal ".repeat(1300);
    let hostile = [
        "\"",
        "*",
        "NEAR(",
        "NEAR(narwhal tank, 2)",
        "'; drop table messages; --",
        "narwhal\" OR \"",
        "{scope} : narwhal",
        "title:narwhal",
        "^narwhal",
        "narwhal:*",
        "!! & | <->",
        "-",
        "OR",
        "AND NOT",
        "narwhal*)",
        "\u{E000}narwhal\u{E001}",
        "½*",
        "",
        "   ",
        long.as_str(),
    ];
    for q in hostile {
        let (status, body) = search_with(&app, &staff, &[("q", q)]).await;
        assert!(status == 200 || status == 400, "{q:?}: {status} {body}");
        if status == 400 {
            assert_eq!(body["error"]["code"], "invalid_request", "{q:?}: {body}");
        }
    }
    let (status, body) = search_with(&app, &staff, &[("q", long.as_str())]).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = search_with(&app, &staff, &[("q", "  ")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("word"),
        "{body}"
    );
    let (status, _) = search_with(&app, &staff, &[]).await;
    assert_eq!(status, 400);
    let (status, _) = search_with(&app, &staff, &[("q", "narwhal"), ("limit", "many")]).await;
    assert_eq!(status, 400);
    // Still there, and still found.
    assert_eq!(hits(&app, &staff, "narwhal").await.len(), 1);
    assert_eq!(
        hits(&app, &staff, "'; drop table messages; --").await.len(),
        0
    );
    app.finish().await;
}
both_backends!(
    snippets_are_escaped_and_hostile_queries_are_harmless,
    escaping_and_hostile_queries
);

/// Rows written before migration 4 ran are searchable once it has.
async fn backfill(backend: Backend) {
    let db = TestDb::new(backend).await;
    let conn = Database::connect(&db.url).await.unwrap();
    if backend == Backend::Sqlite {
        conn.execute_unprepared("PRAGMA foreign_keys = ON")
            .await
            .unwrap();
    }
    Migrator::up(&conn, Some(3)).await.unwrap();
    seed::seed_demo(&conn, Utc::now().date_naive())
        .await
        .unwrap();
    let client = entity::users::Entity::find()
        .all(&conn)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.email == DEMO_CLIENT_EMAIL)
        .unwrap();
    let now = Utc::now();
    entity::chatkit_threads::Entity::insert(entity::chatkit_threads::ActiveModel {
        id: Set("thr_old".into()),
        user_id: Set(client.id.clone()),
        agent_type: Set("client".into()),
        venue_id: Set(None),
        event_id: Set(None),
        title: Set(Some("Before search".into())),
        status: Set(json!({"type":"active"})),
        allowed_image_domains: Set(None),
        metadata: Set(json!({})),
        tokens_in: Set(0),
        tokens_out: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_without_returning(&conn)
    .await
    .unwrap();
    let item = |id: &str, kind: &str, content: Value| entity::chatkit_thread_items::ActiveModel {
        seq: sea_orm::ActiveValue::NotSet,
        id: Set(id.into()),
        thread_id: Set("thr_old".into()),
        item_type: Set(kind.into()),
        role: Set(None),
        content: Set(content),
        status: Set(None),
        metadata: Set(json!({})),
        created_at: Set(now),
    };
    for model in [
        item(
            "msg_u",
            "user_message",
            json!({"id":"msg_u","type":"user_message","content":[{"type":"input_text","text":"an old armadillo question"}],"attachments":[],"inference_options":{}}),
        ),
        item(
            "msg_a",
            "assistant_message",
            json!({"id":"msg_a","type":"assistant_message","content":[{"type":"output_text","text":"first part","annotations":[]},{"type":"output_text","text":"an armadillo answer","annotations":[]}]}),
        ),
        item(
            "hid",
            "hidden_context_item",
            json!({"id":"hid","type":"hidden_context_item","content":"armadillo in hiding"}),
        ),
    ] {
        entity::chatkit_thread_items::Entity::insert(model)
            .exec_without_returning(&conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();

    // The application runs the pending migration at start.
    let settings = test_settings(&db, &[]);
    let built = Application::build_with(settings, None).await.unwrap();
    let port = built.port();
    let state = built.state().clone();
    actix_web::rt::spawn(built.run_until_stopped());
    let app = TestApp {
        address: format!("http://127.0.0.1:{port}"),
        state,
        db,
        http: reqwest::Client::new(),
    };
    let token = app.token_for(DEMO_CLIENT_EMAIL).await;
    let found = hits(&app, &token, "armadillo").await;
    let mut found_ids = ids(&found);
    found_ids.sort();
    assert_eq!(
        found_ids,
        ["msg_a", "msg_u"],
        "hidden items are not searchable"
    );
    let answer = found.iter().find(|h| h["id"] == "msg_a").unwrap();
    assert_eq!(answer["thread_title"], "Before search");
    assert!(
        answer["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>armadillo</mark>")
    );
    // The seeded messages are in the index too: every message of the venue, for its staff.
    let staff = app.token_for(DEMO_STAFF_EMAIL).await;
    let (_, venue) = app.demo_staff().await;
    let seeded = entity::messages::Entity::find()
        .all(&app.state.stores.db)
        .await
        .unwrap();
    let one = seeded
        .iter()
        .find(|m| m.venue_id == venue && m.body.split_whitespace().count() > 3)
        .expect("a seeded message");
    let word = one
        .body
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| w.len() > 6)
        .expect("a long word");
    let (status, body) = search_with(&app, &staff, &[("q", word), ("limit", "50")]).await;
    assert_eq!(status, 200);
    assert!(
        ids(body["data"].as_array().unwrap()).contains(&one.id),
        "{word}: {body}"
    );
    app.finish().await;
}
both_backends!(the_migration_indexes_existing_rows, backfill);
