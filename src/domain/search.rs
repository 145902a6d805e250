//! Full-text search: who may find what (issue #19).
//!
//! Rules, applied to every search whatever the caller asks for:
//! - thread items: only those of the principal's own (live) threads;
//! - messages: venue staff, every message of their venue; a client, the messages of their
//!   own events addressed to them or sent by them (what their assistant's context shows);
//!   vendors and admins, none;
//! - `event_id` narrows the search to one event, which the principal must be allowed to
//!   see (`authorized_event`: NotFound or Forbidden otherwise);
//! - the query is untrusted text: [`SearchQuery::parse`] turns it into terms (see
//!   `store::search::query` for the syntax); a blank or oversized query is `Invalid`.
//!
//! A hit's `snippet` is HTML (escaped text, matches in `<mark>`); every other field is
//! plain text.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{DomainError, DomainResult, authorized_event};
use crate::auth::principal::{Principal, UserType};
use crate::store::domain::DomainStore;
use crate::store::search::{
    DocKind, Match, MessageScope, SearchQuery, SearchRow, SearchScope, SearchStore,
};

/// Default and largest number of hits.
pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 50;

/// What a search asks for besides the query.
#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    /// Hits wanted; clamped to `1..=MAX_LIMIT`, `DEFAULT_LIMIT` when `None`.
    pub limit: Option<usize>,
    pub event_id: Option<String>,
    /// Only these kinds; every kind when `None`.
    pub kinds: Option<Vec<DocKind>>,
}

/// One search result as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// `thread_item` or `message`.
    pub kind: &'static str,
    /// The item id or the message id.
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venue_id: Option<String>,
    /// Plain text: the thread's title, or the message's subject (or its sender).
    pub title: String,
    /// HTML: escaped text with the matches in `<mark>`.
    pub snippet: String,
    /// Relevance, higher is better; only comparable within one response.
    pub score: f64,
    pub created_at: DateTime<Utc>,
}

/// Parses an untrusted query; the error names the field `field`.
pub fn parse_query(field: &str, query: &str, mode: Match) -> DomainResult<SearchQuery> {
    SearchQuery::parse(query, mode).map_err(|e| DomainError::invalid(field, e.to_string()))
}

fn hit(r: SearchRow) -> SearchHit {
    let title = match r.kind {
        DocKind::ThreadItem => r
            .thread_title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| "Untitled conversation".to_owned()),
        DocKind::Message => r
            .subject
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| match &r.sender_name {
                Some(name) => format!("Message from {name}"),
                None => "Message".to_owned(),
            }),
    };
    SearchHit {
        kind: r.kind.as_str(),
        id: r.id,
        thread_id: r.thread_id,
        thread_title: r.thread_title,
        event_id: r.event_id,
        venue_id: r.venue_id,
        title,
        snippet: r.snippet,
        score: r.score,
        created_at: r.created_at,
    }
}

/// The principal's best matches for `query`, best first, newer first on ties.
pub async fn search(
    domain: &DomainStore,
    index: &SearchStore,
    p: &Principal,
    query: &str,
    opts: &SearchOptions,
) -> DomainResult<Vec<SearchHit>> {
    let parsed = parse_query("q", query, Match::All)?;
    if let Some(event_id) = &opts.event_id {
        authorized_event(domain, p, event_id).await?;
    }
    let messages = match (p.user_type, p.venue_id.as_deref()) {
        (UserType::Venue, Some(venue)) => MessageScope::Venue(venue),
        (UserType::Client, _) => MessageScope::Client(&p.user_id),
        _ => MessageScope::None,
    };
    let scope = SearchScope {
        items_of: Some(&p.user_id),
        messages,
        event_id: opts.event_id.as_deref(),
    };
    let kinds = opts
        .kinds
        .clone()
        .unwrap_or_else(|| vec![DocKind::ThreadItem, DocKind::Message]);
    let limit = opts.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let rows = index.search(&parsed, &scope, &kinds, limit as u64).await?;
    Ok(rows.into_iter().map(hit).collect())
}
