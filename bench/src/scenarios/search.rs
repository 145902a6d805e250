//! Scenario (s), issue #19: full-text search latency over a large index, SQLite and
//! PostgreSQL, in this process (the server's own store and domain code, no HTTP).
//!
//! Per backend: a fresh database migrated up to the ChatKit tables (migration 3) and seeded
//! with the demo data; then N documents written in bulk (multi-row inserts, a transaction
//! per 25,000 rows): 80 % thread items (threads of 40 items, user and assistant messages
//! alternating, 10 threads per user) and 20 % venue messages (the demo venues, events and
//! clients). The text is Zipf-distributed words (`corpus`). Then the search migration runs:
//! it fills `search_docs` from those rows and builds the index afterwards (FTS5 `rebuild`,
//! `CREATE INDEX ... USING gin`), which is the cost of indexing an existing database. After
//! that, writes go through the triggers: single-row item inserts and updates are timed with
//! the index in place. Finally Q queries per class, after a warm-up, through
//! `domain::search::search` (limit 20): `common` (one of the 40 most frequent words), `rare`
//! (ranks 3,000 to 30,000) and `two words` (a common and a mid-frequency word, both
//! required), each asked in turn as venue staff (the venue's messages), as a user with
//! threads (their 400 items) and as a client with events (messages addressed to them).
//! Reported: fill time, index build time, index size, write latencies, and p50/p99 search
//! latency per class and overall.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use eventchat::auth::{Principal, UserType};
use eventchat::config::Settings;
use eventchat::domain::search::{SearchOptions, search};
use eventchat::store::{Stores, db, seed};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};
use serde_json::{Value as Json, json};

use super::corpus::{Corpus, Rng};
use crate::Res;
use crate::pg::{drop_database, fresh_database};
use crate::report::Report;
use crate::say;
use crate::servers::Setup;
use crate::stats::dist;

/// Rows per INSERT statement (under SQLite's 32,766 parameters at 11 columns).
const ROWS_PER_INSERT: usize = 500;
/// Rows per transaction.
const ROWS_PER_TX: usize = 25_000;
const ITEMS_PER_THREAD: usize = 40;
const THREADS_PER_USER: usize = 10;
/// Timed single-row writes with the index in place.
const TIMED_WRITES: usize = 300;

pub async fn scenario_search(report: &mut Report, setup: &Setup) -> Res<()> {
    for backend in setup.args.search_backends.clone() {
        if let Err(e) = run_backend(report, setup, &backend).await {
            report.note(format!("s ({backend}) failed: {e}"));
        }
    }
    Ok(())
}

/// Placeholders of one multi-row INSERT, in the backend's style.
fn values_sql(backend: DbBackend, rows: usize, cols: usize) -> String {
    let mut n = 0;
    (0..rows)
        .map(|_| {
            let row: Vec<String> = (0..cols)
                .map(|_| {
                    n += 1;
                    match backend {
                        DbBackend::Postgres => format!("${n}"),
                        _ => "?".to_owned(),
                    }
                })
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts `rows` (each `cols` values) into `table (columns)`, in chunks and transactions.
async fn bulk_insert(
    conn: &DatabaseConnection,
    table: &str,
    columns: &str,
    cols: usize,
    rows: impl Iterator<Item = Vec<Value>>,
) -> Res<usize> {
    let backend = conn.get_database_backend();
    let mut total = 0;
    let mut txn = conn.begin().await?;
    let mut in_tx = 0;
    let mut chunk: Vec<Value> = Vec::with_capacity(ROWS_PER_INSERT * cols);
    let flush = |chunk: &mut Vec<Value>| {
        let n = chunk.len() / cols;
        let sql = format!(
            "INSERT INTO {table} ({columns}) VALUES {}",
            values_sql(backend, n, cols)
        );
        (
            Statement::from_sql_and_values(backend, sql, std::mem::take(chunk)),
            n,
        )
    };
    for row in rows {
        chunk.extend(row);
        if chunk.len() == ROWS_PER_INSERT * cols {
            let (stmt, n) = flush(&mut chunk);
            txn.execute_raw(stmt).await?;
            total += n;
            in_tx += n;
            if in_tx >= ROWS_PER_TX {
                txn.commit().await?;
                txn = conn.begin().await?;
                in_tx = 0;
            }
        }
    }
    if !chunk.is_empty() {
        let (stmt, n) = flush(&mut chunk);
        txn.execute_raw(stmt).await?;
        total += n;
    }
    txn.commit().await?;
    Ok(total)
}

/// The demo data the messages and the principals use.
struct Demo {
    staff: Principal,
    /// (event id, venue id, client id)
    events: Vec<(String, String, String)>,
}

async fn demo(conn: &DatabaseConnection) -> Res<Demo> {
    let backend = conn.get_database_backend();
    let staff = conn
        .query_one_raw(Statement::from_string(
            backend,
            format!(
                "SELECT id, email, name, venue_id FROM users WHERE email = '{}'",
                seed::DEMO_STAFF_EMAIL
            ),
        ))
        .await?
        .ok_or("no demo staff")?;
    let staff = Principal {
        user_id: staff.try_get("", "id")?,
        email: staff.try_get("", "email")?,
        name: staff.try_get("", "name")?,
        user_type: UserType::Venue,
        venue_id: staff.try_get("", "venue_id")?,
    };
    let mut events = Vec::new();
    for r in conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, venue_id, client_id FROM events ORDER BY id",
        ))
        .await?
    {
        events.push((
            r.try_get("", "id")?,
            r.try_get("", "venue_id")?,
            r.try_get("", "client_id")?,
        ));
    }
    if events.is_empty() {
        return Err("no demo events".into());
    }
    Ok(Demo { staff, events })
}

fn ts(now: DateTime<Utc>, rng: &mut Rng) -> Value {
    let secs = rng.below(365 * 24 * 3600) as i64;
    (now - chrono::Duration::seconds(secs)).into()
}

fn item_content(id: &str, thread: &str, user: bool, text: &str) -> Json {
    if user {
        json!({"id": id, "thread_id": thread, "type": "user_message",
            "content": [{"type": "input_text", "text": text}],
            "attachments": [], "inference_options": {}})
    } else {
        json!({"id": id, "thread_id": thread, "type": "assistant_message",
            "content": [{"type": "output_text", "text": text, "annotations": []}]})
    }
}

/// The user id owning thread `t`.
fn owner(t: usize) -> String {
    format!("bench-user-{}", t / THREADS_PER_USER)
}

async fn fill(
    conn: &DatabaseConnection,
    corpus: &Corpus,
    demo: &Demo,
    docs: usize,
) -> Res<(usize, usize)> {
    let now = Utc::now();
    let items = docs * 4 / 5;
    let threads = items.div_ceil(ITEMS_PER_THREAD);
    let mut rng = Rng::new(1);
    bulk_insert(
        conn,
        "chatkit_threads",
        "id, user_id, agent_type, title, status, metadata, tokens_in, tokens_out, created_at, updated_at",
        10,
        (0..threads).map(|t| {
            let at = ts(now, &mut rng);
            vec![
                format!("bench-thr-{t}").into(),
                owner(t).into(),
                "client".into(),
                Some(corpus.text(&mut rng, 2, 5)).into(),
                json!({"type": "active"}).into(),
                json!({}).into(),
                0i64.into(),
                0i64.into(),
                at.clone(),
                at,
            ]
        }),
    )
    .await?;
    let mut rng = Rng::new(2);
    let written_items = bulk_insert(
        conn,
        "chatkit_thread_items",
        "id, thread_id, item_type, role, content, status, metadata, created_at",
        8,
        (0..items).map(|i| {
            let thread = format!("bench-thr-{}", i / ITEMS_PER_THREAD);
            let id = format!("bench-msg-{i}");
            let user = i % 2 == 0;
            let text = if user {
                corpus.text(&mut rng, 5, 30)
            } else {
                corpus.text(&mut rng, 20, 120)
            };
            let (kind, role) = if user {
                ("user_message", "user")
            } else {
                ("assistant_message", "assistant")
            };
            vec![
                id.clone().into(),
                thread.clone().into(),
                kind.into(),
                Some(role.to_owned()).into(),
                item_content(&id, &thread, user, &text).into(),
                Some("completed".to_owned()).into(),
                json!({}).into(),
                ts(now, &mut rng),
            ]
        }),
    )
    .await?;
    let mut rng = Rng::new(3);
    let written_messages = bulk_insert(
        conn,
        "messages",
        "id, venue_id, event_id, sender_id, sender_name, recipient_type, recipient_id, subject, body, created_at",
        10,
        (0..docs - items).map(|m| {
            let (event, venue, client) = &demo.events[rng.below(demo.events.len())];
            let (rtype, rid) = match rng.below(10) {
                0..=4 => ("client", client.clone()),
                5..=7 => ("vendor", format!("bench-vendor-{}", rng.below(50))),
                _ => ("venue", demo.staff.user_id.clone()),
            };
            vec![
                format!("bench-m-{m}").into(),
                venue.clone().into(),
                Some(event.clone()).into(),
                demo.staff.user_id.clone().into(),
                "Bench Staff".into(),
                rtype.into(),
                rid.into(),
                Some(corpus.text(&mut rng, 2, 6)).into(),
                corpus.text(&mut rng, 10, 80).into(),
                ts(now, &mut rng),
            ]
        }),
    )
    .await?;
    Ok((written_items, written_messages))
}

/// (index bytes, documents table bytes including its b-tree indexes).
async fn index_size(conn: &DatabaseConnection) -> Res<(i64, i64)> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT pg_relation_size('idx_search_docs_tsv')::bigint AS idx, \
             (pg_total_relation_size('search_docs') - pg_relation_size('idx_search_docs_tsv'))::bigint AS docs"
        }
        _ => {
            "SELECT \
               coalesce(sum(CASE WHEN name LIKE 'search_fts%' THEN pgsize END), 0) AS idx, \
               coalesce(sum(CASE WHEN name = 'search_docs' OR name LIKE 'sqlite_autoindex_search_docs%' \
                   OR name LIKE 'idx_search_docs%' THEN pgsize END), 0) AS docs \
             FROM dbstat"
        }
    };
    let r = conn
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or("no size row")?;
    Ok((r.try_get("", "idx")?, r.try_get("", "docs")?))
}

/// Single-row writes through the triggers: new assistant items, then updates of one item
/// whose text grows (a streamed reply), in µs each.
async fn timed_writes(conn: &DatabaseConnection, corpus: &Corpus) -> Res<(Vec<u64>, Vec<u64>)> {
    let backend = conn.get_database_backend();
    let mut rng = Rng::new(4);
    let ph = |n: usize| values_sql(backend, 1, n);
    let mut inserts = Vec::with_capacity(TIMED_WRITES);
    for i in 0..TIMED_WRITES {
        let id = format!("bench-live-{i}");
        let text = corpus.text(&mut rng, 20, 120);
        let stmt = Statement::from_sql_and_values(
            backend,
            format!(
                "INSERT INTO chatkit_thread_items (id, thread_id, item_type, role, content, status, metadata, created_at) VALUES {}",
                ph(8)
            ),
            [
                Value::from(id.clone()),
                "bench-thr-0".into(),
                "assistant_message".into(),
                Some("assistant".to_owned()).into(),
                item_content(&id, "bench-thr-0", false, &text).into(),
                Some("completed".to_owned()).into(),
                json!({}).into(),
                Utc::now().into(),
            ],
        );
        let t = Instant::now();
        conn.execute_raw(stmt).await?;
        inserts.push(t.elapsed().as_micros() as u64);
    }
    let mut updates = Vec::with_capacity(TIMED_WRITES);
    let mut text = String::new();
    for _ in 0..TIMED_WRITES {
        text.push(' ');
        text.push_str(corpus.word(&mut rng));
        let content = item_content("bench-live-0", "bench-thr-0", false, &text);
        let sql = match backend {
            DbBackend::Postgres => "UPDATE chatkit_thread_items SET content = $1 WHERE id = $2",
            _ => "UPDATE chatkit_thread_items SET content = ? WHERE id = ?",
        };
        let stmt = Statement::from_sql_and_values(
            backend,
            sql,
            [Value::from(content), "bench-live-0".into()],
        );
        let t = Instant::now();
        conn.execute_raw(stmt).await?;
        updates.push(t.elapsed().as_micros() as u64);
    }
    Ok((inserts, updates))
}

/// The three query classes: (name, query for the i-th query).
fn query(corpus: &Corpus, class: usize, rng: &mut Rng) -> String {
    match class {
        0 => corpus.at(rng.below(40)).to_owned(),
        1 => corpus.at(rng.between(3_000, 29_999)).to_owned(),
        _ => format!(
            "{} {}",
            corpus.at(rng.below(40)),
            corpus.at(rng.between(40, 1_000))
        ),
    }
}

const CLASSES: [&str; 3] = ["common", "rare", "two words"];

async fn run_backend(report: &mut Report, setup: &Setup, backend: &str) -> Res<()> {
    let a = &setup.args;
    let docs = a.search_docs;
    let postgres = backend == "postgres";
    let (url, pg_name) = if postgres {
        let name = format!("eventchat_bench_search_{}", std::process::id());
        (fresh_database(&a.pg_url, &name).await?, Some(name))
    } else {
        let file = setup.work.join("eventchat-s.sqlite3");
        (format!("sqlite://{}?mode=rwc", file.display()), None)
    };
    let vars = [("EVENTCHAT_DATABASE__URL".to_owned(), url)]
        .into_iter()
        .collect();
    let settings = Settings::load_from(Path::new("config"), "local", &vars)?;
    let conn = db::connect(&settings.database).await?;
    Migrator::up(&conn, Some(3)).await?;
    seed::seed_demo(&conn, Utc::now().date_naive()).await?;
    let demo = demo(&conn).await?;
    let corpus = Corpus::new();

    say(format!("  s ({backend}): writing {docs} documents"));
    let t0 = Instant::now();
    let (items, messages) = fill(&conn, &corpus, &demo, docs).await?;
    let fill_s = t0.elapsed().as_secs_f64();
    say(format!(
        "  s ({backend}): {items} items + {messages} messages in {fill_s:.1} s; indexing"
    ));
    let t0 = Instant::now();
    Migrator::up(&conn, None).await?;
    let index_s = t0.elapsed().as_secs_f64();
    if postgres {
        conn.execute_unprepared("ANALYZE").await?;
    }
    let (idx_bytes, docs_bytes) = index_size(&conn).await?;
    say(format!(
        "  s ({backend}): index built in {index_s:.1} s; index {:.0} MiB, documents {:.0} MiB",
        idx_bytes as f64 / 1048576.0,
        docs_bytes as f64 / 1048576.0
    ));
    let (inserts, updates) = timed_writes(&conn, &corpus).await?;

    let stores = Stores::new(conn.clone());
    let client = demo
        .events
        .iter()
        .find(|(_, venue, _)| Some(venue) == demo.staff.venue_id.as_ref())
        .map(|(_, _, c)| c.clone())
        .ok_or("no client at the staff's venue")?;
    let principal = |i: usize, rng: &mut Rng| match i % 3 {
        0 => demo.staff.clone(),
        1 => Principal {
            user_id: owner(rng.below((items / ITEMS_PER_THREAD).max(1))),
            email: "bench@example.com".into(),
            name: "Bench".into(),
            user_type: UserType::Client,
            venue_id: None,
        },
        _ => Principal {
            user_id: client.clone(),
            email: "client@example.com".into(),
            name: "Client".into(),
            user_type: UserType::Client,
            venue_id: None,
        },
    };
    let opts = SearchOptions {
        limit: Some(20),
        ..Default::default()
    };
    let mut rng = Rng::new(5);
    // Warm-up: the caches and the query plans, not measured.
    for i in 0..30 {
        let q = query(&corpus, i % 3, &mut rng);
        let p = principal(i, &mut rng);
        search(&stores.domain, &stores.search, &p, &q, &opts).await?;
    }
    let mut per_class: Vec<Vec<u64>> = vec![Vec::new(); 3];
    let mut hit_counts = [0usize; 3];
    let deadline = Instant::now() + Duration::from_secs(a.max_run_secs);
    for i in 0..a.search_queries * 3 {
        if Instant::now() > deadline {
            report.note(format!(
                "s ({backend}): stopped at the time bound after {i} queries"
            ));
            break;
        }
        let class = i % 3;
        let q = query(&corpus, class, &mut rng);
        let p = principal(i / 3, &mut rng);
        let t = Instant::now();
        let hits = search(&stores.domain, &stores.search, &p, &q, &opts).await?;
        per_class[class].push(t.elapsed().as_micros() as u64);
        hit_counts[class] += hits.len();
    }
    let all: Vec<u64> = per_class.iter().flatten().copied().collect();
    let mut classes = serde_json::Map::new();
    for (c, name) in CLASSES.iter().enumerate() {
        let n = per_class[c].len().max(1);
        classes.insert(
            (*name).to_owned(),
            json!({"latency_ms": dist(per_class[c].iter().copied()),
                "mean_hits": hit_counts[c] as f64 / n as f64}),
        );
    }
    let row = json!({
        "scenario": "s", "server": "eventchat (in process)", "db": backend,
        "documents": items + messages, "thread_items": items, "messages": messages,
        "fill_s": fill_s, "index_build_s": index_s,
        "index_bytes": idx_bytes, "documents_table_bytes": docs_bytes,
        "write_insert_ms": dist(inserts.iter().copied()),
        "write_update_ms": dist(updates.iter().copied()),
        "search_ms": dist(all.iter().copied()),
        "classes": classes,
    });
    let p = |v: &Json, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let mut line = format!(
        "s ({backend}, {} docs): fill {fill_s:.1} s, index build {index_s:.1} s, index {:.0} MiB + documents {:.0} MiB; \
         item insert p50 {:.2} / p99 {:.2} ms, update p50 {:.2} / p99 {:.2} ms; search p50 {:.2} / p99 {:.2} ms (n={})",
        items + messages,
        idx_bytes as f64 / 1048576.0,
        docs_bytes as f64 / 1048576.0,
        p(&row["write_insert_ms"], "p50"),
        p(&row["write_insert_ms"], "p99"),
        p(&row["write_update_ms"], "p50"),
        p(&row["write_update_ms"], "p99"),
        p(&row["search_ms"], "p50"),
        p(&row["search_ms"], "p99"),
        all.len()
    );
    for name in CLASSES {
        let c = &row["classes"][name];
        line.push_str(&format!(
            "; {name} p50 {:.2} / p99 {:.2} ms ({:.1} hits)",
            p(&c["latency_ms"], "p50"),
            p(&c["latency_ms"], "p99"),
            c["mean_hits"].as_f64().unwrap_or(0.0)
        ));
    }
    report.note(line);
    report.rows.push(row);
    conn.close().await?;
    if let Some(name) = pg_name {
        drop_database(&a.pg_url, &name).await?;
    }
    Ok(())
}
