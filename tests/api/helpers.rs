//! The test harness: every test gets its own application on port 0 over a fresh database.
//!
//! `Backend::Sqlite` uses a file in a temporary directory; `Backend::Postgres` creates a
//! database named `ec_test_<uuid>` on the server at `EVENTCHAT_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and drops it in [`TestApp::finish`]
//! (`.ci/run` also sweeps leftovers of failed runs). The `both_backends!` macro turns one
//! async test body into a SQLite test and a PostgreSQL test.

use std::collections::HashMap;
use std::path::PathBuf;

use std::sync::Arc;

use eventchat::config::Settings;
use eventchat::conversation::Responder;
use eventchat::startup::Application;
use eventchat::state::AppState;
use eventchat::store::seed;
use sea_orm::{ConnectionTrait, Database};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn pg_admin_url() -> String {
    std::env::var("EVENTCHAT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh, empty database for one test.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    pub dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let path = dir.path().join("test.db");
                TestDb {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    pg_name: None,
                    dir,
                }
            }
            Backend::Postgres => {
                let admin_url = pg_admin_url();
                let name = format!("ec_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is not reachable at {admin_url}: {e}. Start it \
                         (`.ci/run` does) or point EVENTCHAT_TEST_PG_URL at a server."
                    )
                });
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_owned())
                    .unwrap_or(admin_url);
                TestDb {
                    url: format!("{base}/{name}"),
                    pg_name: Some(name),
                    dir,
                }
            }
        }
    }

    /// Drops the PostgreSQL database (SQLite files go with the temp dir).
    pub async fn drop_db(&self) {
        if let Some(name) = &self.pg_name
            && let Ok(admin) = Database::connect(pg_admin_url()).await
        {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            admin.close().await.ok();
        }
    }
}

pub fn repo_config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// Settings of the `test` environment pointed at `db`, plus extra `EVENTCHAT_*` overrides.
pub fn test_settings(db: &TestDb, extra: &[(&str, &str)]) -> Settings {
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("EVENTCHAT_DATABASE__URL".into(), db.url.clone());
    vars.insert(
        "EVENTCHAT_SERVER__DATA_DIR".into(),
        db.dir.path().join("data").display().to_string(),
    );
    vars.insert("EVENTCHAT_DATABASE__MAX_CONNECTIONS".into(), "5".into());
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    Settings::load_from(&repo_config_dir(), "test", &vars).expect("test settings")
}

/// A running application.
pub struct TestApp {
    pub address: String,
    pub state: AppState,
    pub db: TestDb,
    pub http: reqwest::Client,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, &[]).await
    }

    pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
        Self::spawn_full(backend, extra, None).await
    }

    /// An application whose turns are answered by the scripted responder.
    pub async fn scripted(backend: Backend) -> (TestApp, crate::scripted::ScriptedResponder) {
        let responder = crate::scripted::ScriptedResponder::default();
        let app = Self::spawn_full(backend, &[], Some(Arc::new(responder.clone()))).await;
        app.seed().await;
        (app, responder)
    }

    pub async fn spawn_full(
        backend: Backend,
        extra: &[(&str, &str)],
        responder: Option<Arc<dyn Responder>>,
    ) -> TestApp {
        Self::spawn_on(TestDb::new(backend).await, extra, responder).await
    }

    /// An application over a database the test made (and may reach by another URL, given in
    /// `extra` as `EVENTCHAT_DATABASE__URL`).
    pub async fn spawn_on(
        db: TestDb,
        extra: &[(&str, &str)],
        responder: Option<Arc<dyn Responder>>,
    ) -> TestApp {
        let settings = test_settings(&db, extra);
        let app = Application::build_with(settings, responder)
            .await
            .expect("application builds");
        let port = app.port();
        let state = app.state().clone();
        actix_web::rt::spawn(app.run_until_stopped());
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            state,
            db,
            http: reqwest::Client::new(),
        }
    }

    /// A seeded application whose model is the mock LLM at `mock` (plus `extra` overrides).
    pub async fn with_mock(
        backend: Backend,
        mock: &mock_llm::MockLlm,
        extra: &[(&str, &str)],
    ) -> TestApp {
        let url = mock.base_url();
        let mut vars = vec![("EVENTCHAT_LLM__BASE_URL", url.as_str())];
        vars.extend_from_slice(extra);
        let app = Self::spawn_with(backend, &vars).await;
        app.seed().await;
        app
    }

    /// The id of the user's newest thread.
    pub async fn newest_thread(&self, token: &str) -> String {
        let (_, list) = self
            .chatkit(
                token,
                serde_json::json!({"type":"threads.list","params":{"order":"desc"}}),
            )
            .await;
        list["data"][0]["id"].as_str().unwrap().to_owned()
    }

    /// Loads the demo data set.
    /// The audit rows of the tool calls run in `thread_id`.
    pub async fn tool_calls(
        &self,
        thread_id: &str,
    ) -> Vec<eventchat::store::domain::ToolCallRecord> {
        self.state
            .stores
            .domain
            .tool_calls_for_thread(thread_id)
            .await
            .unwrap()
    }

    pub async fn seed(&self) {
        seed::seed_demo(&self.state.stores.db, chrono::Utc::now().date_naive())
            .await
            .expect("seed demo data");
    }

    /// A valid token for the user with this email (which must exist).
    pub async fn token_for(&self, email: &str) -> String {
        let user = self
            .state
            .stores
            .users
            .find_by_email(email)
            .await
            .expect("user lookup")
            .unwrap_or_else(|| panic!("no user {email}"));
        self.state
            .verifier
            .issue(&user.id, Some(&user.email), 3600)
            .expect("issue token")
    }

    /// POSTs a ChatKit request and returns the status and JSON body.
    pub async fn chatkit(&self, token: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(self.url("/api/chatkit"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, value)
    }

    /// POSTs a streaming ChatKit request and returns every `data:` event (keep-alive
    /// comments are checked for shape and skipped).
    pub async fn stream(
        &self,
        token: &str,
        body: serde_json::Value,
    ) -> (u16, Vec<serde_json::Value>) {
        let r = self
            .http
            .post(self.url("/api/chatkit"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = r.text().await.expect("body");
        if status != 200 {
            return (
                status,
                vec![serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))],
            );
        }
        assert_eq!(ct.as_deref(), Some("text/event-stream"), "{text}");
        (status, parse_sse(&text))
    }

    /// A bodiless request to `path` with a bearer token (the admin API and the like).
    pub async fn request_as(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
    ) -> reqwest::Response {
        self.http
            .request(method, self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Closes the pool and drops a PostgreSQL test database.
    pub async fn finish(self) {
        self.state.stores.db.clone().close().await.ok();
        self.db.drop_db().await;
    }
}

/// Declares `$name` as two tests, `sqlite` and `postgres`, each running `$body(backend)`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                super::$body($crate::helpers::Backend::Sqlite).await
            }
            #[actix_web::test]
            async fn postgres() {
                super::$body($crate::helpers::Backend::Postgres).await
            }
        }
    };
}

/// Splits an SSE body into its events, checking the framing: every frame is exactly
/// `data: <compact json>\n\n` or a `: comment\n\n`.
pub fn parse_sse(body: &str) -> Vec<serde_json::Value> {
    assert!(
        body.is_empty() || body.ends_with("\n\n"),
        "unterminated frame: {body:?}"
    );
    let mut out = Vec::new();
    for frame in body.split("\n\n").filter(|f| !f.is_empty()) {
        if frame.starts_with(':') {
            continue;
        }
        let json = frame
            .strip_prefix("data: ")
            .unwrap_or_else(|| panic!("bad frame {frame:?}"));
        assert!(!json.contains('\n'), "one line per event");
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap().len(),
            json.len(),
            "compact JSON: {json}"
        );
        out.push(v);
    }
    out
}

/// The `type` of each event.
pub fn types(events: &[serde_json::Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// Demo-data lookups the tests need.
impl TestApp {
    /// The first event (by id) of a client, with its venue.
    pub async fn event_of(&self, client_email: &str) -> (String, String) {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        let user = self
            .state
            .stores
            .users
            .find_by_email(client_email)
            .await
            .unwrap()
            .unwrap();
        let ev = entity::events::Entity::find()
            .filter(entity::events::Column::ClientId.eq(user.id))
            .order_by_asc(entity::events::Column::Id)
            .one(&self.state.stores.db)
            .await
            .unwrap()
            .expect("client has an event");
        (ev.id, ev.venue_id)
    }

    /// The email of a staff member of a venue other than `venue_id`.
    pub async fn staff_elsewhere(&self, venue_id: &str) -> String {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        entity::users::Entity::find()
            .filter(entity::users::Column::UserType.eq("venue"))
            .filter(entity::users::Column::VenueId.ne(venue_id))
            .order_by_asc(entity::users::Column::Email)
            .one(&self.state.stores.db)
            .await
            .unwrap()
            .expect("staff of another venue")
            .email
    }

    /// An email of a user of this type other than `not`, optionally at `venue`/not at it.
    pub async fn other_user(&self, user_type: &str, not: &str) -> String {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        entity::users::Entity::find()
            .filter(entity::users::Column::UserType.eq(user_type))
            .filter(entity::users::Column::Email.ne(not))
            .order_by_asc(entity::users::Column::Email)
            .one(&self.state.stores.db)
            .await
            .unwrap()
            .expect("another user")
            .email
    }

    /// Creates a client thread for the demo client and returns (token, thread id, events).
    pub async fn client_thread(&self, text: &str) -> (String, String, Vec<serde_json::Value>) {
        let email = eventchat::store::seed::DEMO_CLIENT_EMAIL;
        let token = self.token_for(email).await;
        let (event_id, _) = self.event_of(email).await;
        let meta = serde_json::json!({"agentType": "client", "eventId": event_id});
        let (thread_id, events) = self.create_thread(&token, text, meta).await;
        (token, thread_id, events)
    }

    /// A seeded (or test-made) user, by email.
    pub async fn user(&self, email: &str) -> eventchat::store::UserRecord {
        self.state
            .stores
            .users
            .find_by_email(email)
            .await
            .unwrap()
            .unwrap()
    }

    /// The id of a staff user's venue.
    pub async fn venue_of(&self, email: &str) -> String {
        self.user(email).await.venue_id.unwrap()
    }

    /// The seeded venue staff user and the id of their venue.
    pub async fn demo_staff(&self) -> (eventchat::store::UserRecord, String) {
        let user = self.user(seed::DEMO_STAFF_EMAIL).await;
        let venue_id = user.venue_id.clone().unwrap();
        (user, venue_id)
    }

    /// A thread as stored, loaded as its owner (by email) would load it.
    pub async fn thread_record(
        &self,
        owner_email: &str,
        thread_id: &str,
    ) -> eventchat::store::ThreadRecord {
        let owner = self.user(owner_email).await;
        self.state
            .stores
            .threads
            .load_thread(&owner.id, thread_id)
            .await
            .unwrap()
    }

    /// Row counts of the ChatKit tables, to prove a refused request changed nothing.
    pub async fn chatkit_counts(&self) -> (u64, u64, u64) {
        use sea_orm::{EntityTrait, PaginatorTrait};
        let db = &self.state.stores.db;
        (
            entity::chatkit_threads::Entity::find()
                .count(db)
                .await
                .unwrap(),
            entity::chatkit_thread_items::Entity::find()
                .count(db)
                .await
                .unwrap(),
            entity::chatkit_attachments::Entity::find()
                .count(db)
                .await
                .unwrap(),
        )
    }
}

/// Tool results the model was shown in a request, by call id.
pub fn tool_results(req: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    req["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| {
            (
                m["tool_call_id"].as_str().unwrap().to_owned(),
                serde_json::from_str(m["content"].as_str().unwrap())
                    .unwrap_or(serde_json::Value::Null),
            )
        })
        .collect()
}
