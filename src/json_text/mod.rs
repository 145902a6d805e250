//! Text that enters the server as JSON, made safe for both databases before anything reads
//! it: one rule for what a client sends, one for what a model writes.
//!
//! - **Lone UTF-16 surrogate escapes** (`"\ud800"` without its pair, which browser text can
//!   hold, e.g. an emoji cut in half) are not valid Unicode, so serde_json refuses the whole
//!   document. [`repair_lone_surrogates`] rewrites each one as `\ufffd` (U+FFFD) in the JSON
//!   text before it is parsed, with the same length, so a parse error still points at the
//!   right column. A valid pair (`\ud83d\ude00`) stays an emoji, and `\\ud800` (an escaped
//!   backslash, then the text `ud800`) is not an escape and stays as it is (`surrogates.rs`).
//! - **U+0000** is refused by PostgreSQL in `text` and `jsonb` (SQLite stores it), so the two
//!   backends would disagree. A client's request that holds it anywhere is refused with a 400
//!   that names the field by its JSON path ([`find_nul`], e.g. `params.input.content[0].text`),
//!   before anything is written or streamed. A model's output cannot be refused: its text and
//!   tool-call arguments get U+FFFD in place of U+0000 ([`replace_nul`],
//!   [`sanitize_model_json`]) before anything stores, shows or runs them (`nul.rs`).
//!
//! Like `vocab`, this module imports nothing from the crate, so the protocol layer
//! (`chatkit::request`), the REST bodies (`http::json_body`) and the model client (`llm`) all
//! use the same rules.

mod nul;
mod surrogates;

pub use nul::{NulAt, find_nul, replace_nul, sanitize_model_json};
pub use surrogates::repair_lone_surrogates;
