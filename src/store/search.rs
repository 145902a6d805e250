//! Full-text search over the index of migration `m20261202_000004` (`search_docs`, with
//! FTS5 on SQLite and a `tsvector` + GIN on PostgreSQL; triggers keep it current).
//!
//! Protocol: the caller (`domain::search`, which applies the access rules) hands over a
//! parsed [`SearchQuery`] and a [`SearchScope`] naming exactly what the principal may see;
//! this module never widens it. Every query is scoped twice: by plain column conditions on
//! `search_docs` (both backends), and on SQLite also inside the FTS5 expression (the
//! `scope` column's tokens, which is what keeps a query for one user fast).
//!
//! Ranking: relevance first (SQLite `bm25` with the subject weighted 2 and the body 1;
//! PostgreSQL `ts_rank_cd`, subject weight A, body B), newer first on ties, then the
//! document id, so the order is total. `score` is higher-is-better on both (the negated
//! bm25 on SQLite); scores of the two backends are not comparable with each other.
//!
//! Snippets come from the body (`snippet()`, `ts_headline`) with matches between the
//! sentinels of [`snippet`], and are returned as safe HTML ([`snippet::to_html`]).
//! SQLite computes them in a second query for the top rows only: in the ranking query
//! `snippet()` would run for every match before the sort.

pub mod query;
pub mod snippet;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, Statement, Value};

pub use query::{Match, QueryError, SearchQuery};

use super::error::StoreResult;

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    ThreadItem,
    Message,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::ThreadItem => "thread_item",
            DocKind::Message => "message",
        }
    }

    fn parse(s: &str) -> Option<DocKind> {
        match s {
            "thread_item" => Some(DocKind::ThreadItem),
            "message" => Some(DocKind::Message),
            _ => None,
        }
    }
}

/// Which messages a search may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageScope<'a> {
    None,
    /// Every message of the venue (its staff).
    Venue(&'a str),
    /// Messages of the user's own events addressed to them as the client or sent by them.
    Client(&'a str),
}

/// Exactly what a search may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchScope<'a> {
    /// Thread items of this user's threads; `None`: no thread items.
    pub items_of: Option<&'a str>,
    pub messages: MessageScope<'a>,
    /// Only documents of this event (a thread item counts through its thread's event).
    pub event_id: Option<&'a str>,
}

impl SearchScope<'_> {
    fn is_empty(&self) -> bool {
        self.items_of.is_none() && self.messages == MessageScope::None
    }
}

/// One hit as stored; the domain turns it into what clients see.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRow {
    pub kind: DocKind,
    /// The item id or the message id.
    pub id: String,
    pub thread_id: Option<String>,
    pub thread_title: Option<String>,
    pub venue_id: Option<String>,
    pub event_id: Option<String>,
    /// A message's subject.
    pub subject: Option<String>,
    /// A message's sender.
    pub sender_name: Option<String>,
    /// HTML: escaped text, matches in `<mark>`.
    pub snippet: String,
    /// Relevance, higher is better.
    pub score: f64,
    pub created_at: DateTime<Utc>,
}

/// Search queries over one connection pool.
#[derive(Clone, Debug)]
pub struct SearchStore {
    db: DatabaseConnection,
}

/// Positional parameters in the backend's placeholder style.
struct Params {
    backend: DbBackend,
    values: Vec<Value>,
}

impl Params {
    fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            values: Vec::new(),
        }
    }

    fn bind(&mut self, v: impl Into<Value>) -> String {
        self.values.push(v.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_owned(),
        }
    }
}

/// The column conditions of `scope` on `search_docs d` (both backends).
fn scope_sql(scope: &SearchScope<'_>, p: &mut Params) -> String {
    let mut any = Vec::new();
    if let Some(owner) = scope.items_of {
        any.push(format!(
            "(d.kind = 'thread_item' AND d.owner_id = {})",
            p.bind(owner)
        ));
    }
    match scope.messages {
        MessageScope::None => {}
        MessageScope::Venue(venue) => {
            any.push(format!(
                "(d.kind = 'message' AND d.venue_id = {})",
                p.bind(venue)
            ));
        }
        MessageScope::Client(user) => any.push(format!(
            "(d.kind = 'message' \
               AND ((d.recipient_type = 'client' AND d.recipient_id = {}) OR d.sender_id = {}) \
               AND EXISTS (SELECT 1 FROM events ev WHERE ev.id = d.event_id AND ev.client_id = {}))",
            p.bind(user),
            p.bind(user),
            p.bind(user)
        )),
    }
    let mut sql = format!("({})", any.join(" OR "));
    if let Some(event) = scope.event_id {
        sql = format!("{sql} AND d.event_id = {}", p.bind(event));
    }
    sql
}

/// An id as one FTS5 token: a letter and the id's bytes in lower-case hex (what the
/// migration's triggers write).
fn scope_token(letter: char, id: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(1 + 2 * id.len());
    out.push(letter);
    for b in id.bytes() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The FTS5 expression for `query` within `scope`.
fn fts5_match(query: &SearchQuery, scope: &SearchScope<'_>) -> String {
    let mut tokens = Vec::new();
    if let Some(owner) = scope.items_of {
        tokens.push(scope_token('u', owner));
    }
    match scope.messages {
        MessageScope::None => {}
        MessageScope::Venue(venue) => tokens.push(scope_token('v', venue)),
        MessageScope::Client(user) => {
            tokens.push(scope_token('c', user));
            tokens.push(scope_token('s', user));
        }
    }
    let quoted: Vec<String> = tokens.iter().map(|t| format!("\"{t}\"")).collect();
    let mut parts = vec![format!("({{scope}} : ({}))", quoted.join(" OR "))];
    if let Some(event) = scope.event_id {
        parts.push(format!("({{scope}} : \"{}\")", scope_token('e', event)));
    }
    // FTS5's NOT binds tighter than AND; `a AND (b NOT c)` is `(a AND b) NOT c` anyway.
    format!("{} AND {}", parts.join(" AND "), query.fts5())
}

fn row(r: &QueryResult, snippet_raw: &str, score: f64) -> StoreResult<SearchRow> {
    let kind: String = r.try_get("", "kind")?;
    let kind = DocKind::parse(&kind).ok_or_else(|| {
        super::StoreError::Corrupt(format!("search document of unknown kind {kind:?}"))
    })?;
    Ok(SearchRow {
        kind,
        id: r.try_get("", "ref_id")?,
        thread_id: r.try_get("", "thread_id")?,
        thread_title: r.try_get("", "thread_title")?,
        venue_id: r.try_get("", "venue_id")?,
        event_id: r.try_get("", "event_id")?,
        subject: r.try_get("", "title")?,
        sender_name: r.try_get("", "sender_name")?,
        snippet: snippet::to_html(snippet_raw.trim()),
        score,
        created_at: r.try_get("", "created_at")?,
    })
}

/// The columns of a hit besides its score and snippet.
const HIT_COLUMNS: &str = "d.id AS doc_id, d.kind, coalesce(d.item_id, d.message_id) AS ref_id, \
    d.thread_id, d.venue_id, d.event_id, d.title, d.created_at, t.title AS thread_title, \
    m.sender_name";

/// The joins of [`HIT_COLUMNS`]; a thread item of a deleted thread never comes back, even if
/// a trigger were missing.
const HIT_JOINS: &str = "LEFT JOIN chatkit_threads t ON t.id = d.thread_id \
    LEFT JOIN messages m ON m.id = d.message_id";
const LIVE_THREAD: &str = "(d.thread_id IS NULL OR t.deleted_at IS NULL)";

/// `ts_headline` options: the sentinels, one excerpt of at most 24 words around the best
/// match (like the SQLite snippet). Its parser drops what looks like an HTML tag from the
/// excerpt; the escaping afterwards is what makes the rest safe.
fn headline_options() -> String {
    format!(
        "StartSel={}, StopSel={}, MaxWords=24, MinWords=12",
        snippet::START,
        snippet::STOP
    )
}

impl SearchStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The best `limit` documents in `scope` matching `query`, best first.
    pub async fn search(
        &self,
        query: &SearchQuery,
        scope: &SearchScope<'_>,
        kinds: &[DocKind],
        limit: u64,
    ) -> StoreResult<Vec<SearchRow>> {
        let scope = SearchScope {
            items_of: scope
                .items_of
                .filter(|_| kinds.contains(&DocKind::ThreadItem)),
            messages: if kinds.contains(&DocKind::Message) {
                scope.messages
            } else {
                MessageScope::None
            },
            event_id: scope.event_id,
        };
        if scope.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        match self.db.get_database_backend() {
            DbBackend::Postgres => self.search_postgres(query, &scope, limit).await,
            _ => self.search_sqlite(query, &scope, limit).await,
        }
    }

    async fn search_sqlite(
        &self,
        query: &SearchQuery,
        scope: &SearchScope<'_>,
        limit: u64,
    ) -> StoreResult<Vec<SearchRow>> {
        let backend = DbBackend::Sqlite;
        let expr = fts5_match(query, scope);
        let mut p = Params::new(backend);
        let m = p.bind(expr.clone());
        let cond = scope_sql(scope, &mut p);
        let lim = p.bind(limit.min(i64::MAX as u64) as i64);
        let ranked = format!(
            "SELECT d.id AS doc_id, bm25(search_fts, 0.0, 2.0, 1.0) AS score \
             FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid \
             WHERE search_fts MATCH {m} AND {cond} \
             ORDER BY score, d.created_at DESC, d.id DESC LIMIT {lim}"
        );
        let ranked = self
            .db
            .query_all_raw(Statement::from_sql_and_values(backend, ranked, p.values))
            .await?;
        let mut order: Vec<(i64, f64)> = Vec::with_capacity(ranked.len());
        for r in &ranked {
            let id: i64 = r.try_get("", "doc_id")?;
            let bm25: f64 = r.try_get("", "score")?;
            order.push((id, -bm25));
        }
        if order.is_empty() {
            return Ok(Vec::new());
        }
        let mut p = Params::new(backend);
        let m = p.bind(expr);
        let ids: Vec<String> = order.iter().map(|(id, _)| p.bind(*id)).collect();
        let details = format!(
            "SELECT {HIT_COLUMNS}, \
                 snippet(search_fts, 2, char(57344), char(57345), '…', 24) AS snippet \
             FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid {HIT_JOINS} \
             WHERE search_fts MATCH {m} AND search_fts.rowid IN ({}) AND {LIVE_THREAD}",
            ids.join(", ")
        );
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(backend, details, p.values))
            .await?;
        let mut by_id = std::collections::HashMap::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.try_get("", "doc_id")?;
            by_id.insert(id, r);
        }
        let mut out = Vec::with_capacity(order.len());
        for (id, score) in order {
            if let Some(r) = by_id.get(&id) {
                let raw: String = r.try_get("", "snippet")?;
                out.push(row(r, &raw, score)?);
            }
        }
        Ok(out)
    }

    async fn search_postgres(
        &self,
        query: &SearchQuery,
        scope: &SearchScope<'_>,
        limit: u64,
    ) -> StoreResult<Vec<SearchRow>> {
        let backend = DbBackend::Postgres;
        let mut p = Params::new(backend);
        let ts = query.tsquery("english", &mut |v| p.bind(v));
        let cond = scope_sql(scope, &mut p);
        let lim = p.bind(limit.min(i64::MAX as u64) as i64);
        let opts = p.bind(headline_options());
        // The headline is computed for the top rows only (outside the LIMIT).
        let sql = format!(
            "WITH q AS (SELECT {ts} AS q) \
             SELECT {HIT_COLUMNS}, top.score, \
                 ts_headline('english', d.body, q.q, {opts}) AS snippet \
             FROM (SELECT d.id, ts_rank_cd(d.tsv, q.q)::float8 AS score \
                   FROM search_docs d, q \
                   WHERE d.tsv @@ q.q AND {cond} \
                   ORDER BY score DESC, d.created_at DESC, d.id DESC LIMIT {lim}) AS top \
             JOIN search_docs d ON d.id = top.id CROSS JOIN q {HIT_JOINS} \
             WHERE {LIVE_THREAD} \
             ORDER BY top.score DESC, d.created_at DESC, d.id DESC"
        );
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, p.values))
            .await?;
        rows.iter()
            .map(|r| {
                let raw: String = r.try_get("", "snippet")?;
                let score: f64 = r.try_get("", "score")?;
                row(r, &raw, score)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn scope_tokens_are_hex_words() {
        assert_eq!(scope_token('u', "ab-1"), "u61622d31");
        let q = SearchQuery::parse("menu", Match::All).unwrap();
        let scope = SearchScope {
            items_of: Some("a"),
            messages: MessageScope::Client("a"),
            event_id: Some("e"),
        };
        assert_eq!(
            fts5_match(&q, &scope),
            r#"({scope} : ("u61" OR "c61" OR "s61")) AND ({scope} : "e65") AND ({title body} : (("menu")))"#
        );
    }

    #[test]
    fn scope_conditions_bind_every_id() {
        let mut p = Params::new(DbBackend::Postgres);
        let scope = SearchScope {
            items_of: Some("u1"),
            messages: MessageScope::Venue("v1"),
            event_id: Some("e1"),
        };
        let sql = scope_sql(&scope, &mut p);
        assert_eq!(
            sql,
            "((d.kind = 'thread_item' AND d.owner_id = $1) OR (d.kind = 'message' AND d.venue_id = $2)) AND d.event_id = $3"
        );
        assert_eq!(p.values.len(), 3);
    }
}
