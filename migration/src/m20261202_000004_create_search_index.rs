//! Creates the full-text search index (issue #19): one `search_docs` row per searchable
//! text, kept current by triggers, and fills it from the rows that exist.
//!
//! What is a document:
//! - a thread item of type `user_message` or `assistant_message` with some text: its
//!   `input_text`, `input_tag` and `output_text` parts joined by newlines, owned by the
//!   thread's user (`owner_id`), with the thread's venue and event; an item of a
//!   soft-deleted thread is not a document. Hidden context, tool calls, widgets and
//!   workflows are not text a user typed or read, so they are not documents;
//! - a `messages` row: its subject (`title`) and body, with the venue, event, sender and
//!   recipient the access rules need.
//!
//! How it stays current: triggers on `chatkit_thread_items`, `messages` and
//! `chatkit_threads` rewrite the documents in the same statement as the row write (an
//! insert, or an update of a column the document is made of, replaces the document; a
//! delete removes it; a thread's soft delete removes its items' documents). Marking a
//! message read or an item's status change alone leaves the index alone. Any writer is covered, whether the
//! store, the demo seed or a bulk load, and a reader never sees a row whose document is
//! missing.
//!
//! The index itself:
//! - SQLite: `search_fts`, an FTS5 table over `search_docs` (external content, kept in step
//!   by triggers on `search_docs`, the pattern of the FTS5 documentation), tokenizer
//!   `porter unicode61 remove_diacritics 2`. Besides `title` and `body` it indexes `scope`,
//!   a few tokens naming who may see the document (`u<hex(owner)>`, `v<hex(venue)>`,
//!   `e<hex(event)>`, `c<hex(client recipient)>`, `s<hex(sender)>`), so a query for one
//!   user intersects posting lists instead of ranking everybody's matches and filtering
//!   afterwards. Hex keeps each token one alphanumeric word whatever the id looks like.
//! - PostgreSQL: a stored generated `tsvector` column (`english`: subject weight A, body
//!   weight B) with a GIN index, created after the backfill.
//!
//! Both texts have U+E000 and U+E001 removed: the search marks matches with them before it
//! escapes a snippet, so they must not come from the text itself.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DbBackend::Sqlite => sqlite::up(),
            DbBackend::Postgres => postgres::up(),
            other => {
                return Err(DbErr::Migration(format!(
                    "no search index for backend {other:?}"
                )));
            }
        };
        run(manager, &statements).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements: Vec<String> = match manager.get_database_backend() {
            DbBackend::Sqlite => sqlite::DOWN.iter().map(|s| (*s).to_owned()).collect(),
            DbBackend::Postgres => postgres::DOWN.iter().map(|s| (*s).to_owned()).collect(),
            other => {
                return Err(DbErr::Migration(format!(
                    "no search index for backend {other:?}"
                )));
            }
        };
        run(manager, &statements).await
    }
}

/// One statement at a time: trigger bodies hold semicolons, so the DDL is not split.
async fn run(manager: &SchemaManager<'_>, statements: &[String]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for sql in statements {
        db.execute_unprepared(sql)
            .await
            .map_err(|e| DbErr::Migration(format!("{e} in: {sql}")))?;
    }
    Ok(())
}

/// The item types whose text is searchable.
const TEXT_ITEM_TYPES: &str = "('user_message', 'assistant_message')";
/// The content parts whose `text` is searchable.
const TEXT_PART_TYPES: &str = "('input_text', 'input_tag', 'output_text')";

mod sqlite {
    use super::{TEXT_ITEM_TYPES, TEXT_PART_TYPES};

    /// `text` without the two highlight sentinels.
    fn clean(text: &str) -> String {
        format!("replace(replace({text}, char(57344), ''), char(57345), '')")
    }

    /// A scope token: a letter and the id in lower-case hex; `''` when the id is NULL.
    fn token(letter: char, id: &str) -> String {
        format!("(CASE WHEN {id} IS NULL THEN '' ELSE ' {letter}' || lower(hex({id})) END)")
    }

    /// The searchable text of the item row `r` (NULL when it has none). `CASE` guards
    /// `json_extract`, which fails on a part that is not an object. The parts are ordered
    /// in a subquery rather than with `group_concat(... ORDER BY ...)`, which SQLite
    /// tools older than 3.44 cannot parse: a schema they cannot parse is a database they
    /// cannot open.
    fn item_text(r: &str) -> String {
        let text = format!(
            "(SELECT group_concat(parts.text, char(10)) FROM \
               (SELECT json_extract(p.value, '$.text') AS text \
                FROM json_each({r}.content, '$.content') AS p \
                WHERE (CASE WHEN p.type = 'object' THEN json_extract(p.value, '$.type') END) \
                IN {TEXT_PART_TYPES} ORDER BY p.key) AS parts)"
        );
        clean(&text)
    }

    /// `INSERT ... SELECT` of the documents of the item rows `r` (one row, `new`, in a
    /// trigger; the whole table in the backfill).
    fn insert_items(from: &str, r: &str) -> String {
        format!(
            "INSERT INTO search_docs (kind, item_id, owner_id, thread_id, venue_id, event_id, \
                 scope, title, body, created_at) \
             SELECT 'thread_item', x.id, t.user_id, t.id, t.venue_id, t.event_id, \
                 ltrim({user} || {event}), NULL, x.body, x.created_at \
             FROM (SELECT {r}.id AS id, {r}.thread_id AS thread_id, {r}.created_at AS created_at, \
                     {text} AS body \
                   FROM {from} WHERE {r}.item_type IN {TEXT_ITEM_TYPES}) AS x \
             JOIN chatkit_threads t ON t.id = x.thread_id \
             WHERE t.deleted_at IS NULL AND trim(coalesce(x.body, '')) <> ''",
            user = token('u', "t.user_id"),
            event = token('e', "t.event_id"),
            text = item_text(r),
        )
    }

    /// `INSERT ... SELECT` of the documents of the message rows `r`.
    fn insert_messages(from: &str, r: &str) -> String {
        format!(
            "INSERT INTO search_docs (kind, message_id, venue_id, event_id, sender_id, \
                 recipient_type, recipient_id, scope, title, body, created_at) \
             SELECT 'message', {r}.id, {r}.venue_id, {r}.event_id, {r}.sender_id, \
                 {r}.recipient_type, {r}.recipient_id, \
                 ltrim({venue} || {event} || {sender} || {client}), {title}, {body}, {r}.created_at \
             FROM {from}",
            venue = token('v', &format!("{r}.venue_id")),
            event = token('e', &format!("{r}.event_id")),
            sender = token('s', &format!("{r}.sender_id")),
            client = token(
                'c',
                &format!("(CASE WHEN {r}.recipient_type = 'client' THEN {r}.recipient_id END)")
            ),
            title = clean(&format!("{r}.subject")),
            body = clean(&format!("{r}.body")),
        )
    }

    /// A trigger whose body is `statements` (SQLite has no trigger functions).
    fn trigger(name: &str, when: &str, statements: &[String]) -> String {
        format!(
            "CREATE TRIGGER {name} {when} BEGIN {} END",
            statements
                .iter()
                .map(|s| format!("{s};"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    }

    pub fn up() -> Vec<String> {
        // The FTS5 table's own triggers: an external-content table must be told the old
        // text of a row to remove it from the index.
        let fts_insert = "INSERT INTO search_fts (rowid, scope, title, body) \
                          VALUES (new.id, new.scope, new.title, new.body)"
            .to_owned();
        let fts_delete = "INSERT INTO search_fts (search_fts, rowid, scope, title, body) \
                          VALUES ('delete', old.id, old.scope, old.title, old.body)"
            .to_owned();
        let drop_item = "DELETE FROM search_docs WHERE item_id = old.id".to_owned();
        let drop_message = "DELETE FROM search_docs WHERE message_id = old.id".to_owned();
        let drop_thread = "DELETE FROM search_docs WHERE thread_id = old.id".to_owned();
        vec![
            "CREATE TABLE search_docs (\
                id integer NOT NULL PRIMARY KEY AUTOINCREMENT, \
                kind text NOT NULL, \
                item_id text UNIQUE, \
                message_id text UNIQUE, \
                owner_id text, \
                thread_id text, \
                venue_id text, \
                event_id text, \
                sender_id text, \
                recipient_type text, \
                recipient_id text, \
                scope text NOT NULL, \
                title text, \
                body text NOT NULL, \
                created_at timestamp_with_timezone_text NOT NULL)"
                .to_owned(),
            "CREATE INDEX idx_search_docs_thread_id ON search_docs (thread_id)".to_owned(),
            // The backfill, before the index exists: one bulk pass instead of per-row
            // index updates.
            insert_items("chatkit_thread_items AS i", "i"),
            insert_messages("messages AS m", "m"),
            "CREATE VIRTUAL TABLE search_fts USING fts5(scope, title, body, \
                content='search_docs', content_rowid='id', \
                tokenize='porter unicode61 remove_diacritics 2')"
                .to_owned(),
            "INSERT INTO search_fts (search_fts) VALUES ('rebuild')".to_owned(),
            trigger(
                "search_docs_ai",
                "AFTER INSERT ON search_docs",
                std::slice::from_ref(&fts_insert),
            ),
            trigger(
                "search_docs_ad",
                "AFTER DELETE ON search_docs",
                std::slice::from_ref(&fts_delete),
            ),
            trigger(
                "search_docs_au",
                "AFTER UPDATE ON search_docs",
                &[fts_delete.clone(), fts_insert.clone()],
            ),
            trigger(
                "search_items_ai",
                "AFTER INSERT ON chatkit_thread_items",
                &[insert_items("(SELECT 1)", "new")],
            ),
            trigger(
                "search_items_au",
                "AFTER UPDATE OF thread_id, item_type, content ON chatkit_thread_items",
                &[drop_item.clone(), insert_items("(SELECT 1)", "new")],
            ),
            trigger(
                "search_items_ad",
                "AFTER DELETE ON chatkit_thread_items",
                std::slice::from_ref(&drop_item),
            ),
            trigger(
                "search_messages_ai",
                "AFTER INSERT ON messages",
                &[insert_messages("(SELECT 1)", "new")],
            ),
            trigger(
                "search_messages_au",
                "AFTER UPDATE OF venue_id, event_id, sender_id, recipient_type, recipient_id, \
                 subject, body ON messages",
                &[drop_message.clone(), insert_messages("(SELECT 1)", "new")],
            ),
            trigger(
                "search_messages_ad",
                "AFTER DELETE ON messages",
                std::slice::from_ref(&drop_message),
            ),
            // A soft delete hides the thread's items at once (`new` is the same row).
            trigger(
                "search_threads_deleted",
                "AFTER UPDATE OF deleted_at ON chatkit_threads \
                 WHEN new.deleted_at IS NOT NULL AND old.deleted_at IS NULL",
                std::slice::from_ref(&drop_thread),
            ),
            trigger(
                "search_threads_ad",
                "AFTER DELETE ON chatkit_threads",
                std::slice::from_ref(&drop_thread),
            ),
        ]
    }

    pub const DOWN: &[&str] = &[
        "DROP TRIGGER IF EXISTS search_threads_ad",
        "DROP TRIGGER IF EXISTS search_threads_deleted",
        "DROP TRIGGER IF EXISTS search_messages_ad",
        "DROP TRIGGER IF EXISTS search_messages_au",
        "DROP TRIGGER IF EXISTS search_messages_ai",
        "DROP TRIGGER IF EXISTS search_items_ad",
        "DROP TRIGGER IF EXISTS search_items_au",
        "DROP TRIGGER IF EXISTS search_items_ai",
        "DROP TABLE IF EXISTS search_fts",
        "DROP TABLE IF EXISTS search_docs",
    ];
}

mod postgres {
    use super::{TEXT_ITEM_TYPES, TEXT_PART_TYPES};

    /// `text` without the two highlight sentinels.
    fn clean(text: &str) -> String {
        format!("replace(replace({text}, chr(57344), ''), chr(57345), '')")
    }

    /// The searchable text of the item row `r` (NULL when it has none).
    fn item_text(r: &str) -> String {
        let text = format!(
            "(SELECT string_agg(p.part ->> 'text', E'\\n' ORDER BY p.n) \
             FROM jsonb_array_elements(CASE WHEN jsonb_typeof({r}.content -> 'content') = 'array' \
                 THEN {r}.content -> 'content' ELSE '[]'::jsonb END) WITH ORDINALITY AS p(part, n) \
             WHERE p.part ->> 'type' IN {TEXT_PART_TYPES})"
        );
        clean(&text)
    }

    fn insert_items(from: &str, r: &str) -> String {
        format!(
            "INSERT INTO search_docs (kind, item_id, owner_id, thread_id, venue_id, event_id, \
                 title, body, created_at) \
             SELECT 'thread_item', x.id, t.user_id, t.id, t.venue_id, t.event_id, NULL, x.body, \
                 x.created_at \
             FROM (SELECT {r}.id AS id, {r}.thread_id AS thread_id, {r}.created_at AS created_at, \
                     {text} AS body \
                   {from} WHERE {r}.item_type IN {TEXT_ITEM_TYPES}) AS x \
             JOIN chatkit_threads t ON t.id = x.thread_id \
             WHERE t.deleted_at IS NULL AND btrim(coalesce(x.body, '')) <> ''",
            text = item_text(r),
        )
    }

    fn insert_messages(from: &str, r: &str) -> String {
        format!(
            "INSERT INTO search_docs (kind, message_id, venue_id, event_id, sender_id, \
                 recipient_type, recipient_id, title, body, created_at) \
             SELECT 'message', {r}.id, {r}.venue_id, {r}.event_id, {r}.sender_id, \
                 {r}.recipient_type, {r}.recipient_id, {title}, {body}, {r}.created_at {from}",
            title = clean(&format!("{r}.subject")),
            body = clean(&format!("{r}.body")),
        )
    }

    pub fn up() -> Vec<String> {
        vec![
            "CREATE TABLE search_docs (\
                id bigserial PRIMARY KEY, \
                kind text NOT NULL, \
                item_id text UNIQUE, \
                message_id text UNIQUE, \
                owner_id text, \
                thread_id text, \
                venue_id text, \
                event_id text, \
                sender_id text, \
                recipient_type text, \
                recipient_id text, \
                title text, \
                body text NOT NULL, \
                created_at timestamptz NOT NULL, \
                tsv tsvector GENERATED ALWAYS AS (\
                    setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || \
                    setweight(to_tsvector('english'::regconfig, body), 'B')) STORED)"
                .to_owned(),
            insert_items("FROM chatkit_thread_items AS i", "i"),
            insert_messages("FROM messages AS m", "m"),
            // After the backfill: one sorted build instead of a GIN insert per row.
            "CREATE INDEX idx_search_docs_tsv ON search_docs USING gin (tsv)".to_owned(),
            "CREATE INDEX idx_search_docs_owner_id ON search_docs (owner_id)".to_owned(),
            "CREATE INDEX idx_search_docs_venue_id ON search_docs (venue_id)".to_owned(),
            "CREATE INDEX idx_search_docs_recipient_id ON search_docs (recipient_id)".to_owned(),
            "CREATE INDEX idx_search_docs_sender_id ON search_docs (sender_id)".to_owned(),
            "CREATE INDEX idx_search_docs_thread_id ON search_docs (thread_id)".to_owned(),
            format!(
                "CREATE FUNCTION search_index_item() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN \
                   IF TG_OP <> 'INSERT' THEN DELETE FROM search_docs WHERE item_id = OLD.id; END IF; \
                   IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; \
                   {}; \
                   RETURN NEW; \
                 END $$",
                insert_items("", "NEW")
            ),
            format!(
                "CREATE FUNCTION search_index_message() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN \
                   IF TG_OP <> 'INSERT' THEN DELETE FROM search_docs WHERE message_id = OLD.id; END IF; \
                   IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; \
                   {}; \
                   RETURN NEW; \
                 END $$",
                insert_messages("", "NEW")
            ),
            "CREATE FUNCTION search_unindex_thread() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               DELETE FROM search_docs WHERE thread_id = OLD.id; \
               RETURN NULL; \
             END $$"
                .to_owned(),
            "CREATE TRIGGER search_items AFTER INSERT OR UPDATE OF thread_id, item_type, content \
             OR DELETE ON chatkit_thread_items FOR EACH ROW EXECUTE FUNCTION search_index_item()"
                .to_owned(),
            "CREATE TRIGGER search_messages AFTER INSERT OR UPDATE OF venue_id, event_id, sender_id, \
             recipient_type, recipient_id, subject, body OR DELETE ON messages FOR EACH ROW EXECUTE FUNCTION search_index_message()"
                .to_owned(),
            "CREATE TRIGGER search_threads_deleted AFTER UPDATE OF deleted_at ON chatkit_threads \
             FOR EACH ROW WHEN (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL) \
             EXECUTE FUNCTION search_unindex_thread()"
                .to_owned(),
            "CREATE TRIGGER search_threads_ad AFTER DELETE ON chatkit_threads \
             FOR EACH ROW EXECUTE FUNCTION search_unindex_thread()"
                .to_owned(),
        ]
    }

    pub const DOWN: &[&str] = &[
        "DROP TRIGGER IF EXISTS search_threads_ad ON chatkit_threads",
        "DROP TRIGGER IF EXISTS search_threads_deleted ON chatkit_threads",
        "DROP TRIGGER IF EXISTS search_messages ON messages",
        "DROP TRIGGER IF EXISTS search_items ON chatkit_thread_items",
        "DROP FUNCTION IF EXISTS search_unindex_thread()",
        "DROP FUNCTION IF EXISTS search_index_message()",
        "DROP FUNCTION IF EXISTS search_index_item()",
        "DROP TABLE IF EXISTS search_docs",
    ];
}
