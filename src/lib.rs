//! eventchat: a ChatKit-compatible conversation server for an event-planning platform.
//!
//! Layout (`docs/architecture.md` has the whole picture): `config` loads typed settings;
//! `startup` builds the application shared by `main` and the tests; `http` holds the routes,
//! the ChatKit request routing and the SSE body; `actors` the live threads (one actor each,
//! the only writer of a live thread's row); `conversation` the turn pipeline; `agents` the
//! three assistants (prompts, context, the model <-> tools loop); `tools` the tool handlers;
//! `domain` the business rules; `store` the only importer of the `entity` crate; `chatkit`
//! the wire protocol (types, ids, SSE framing; no I/O); `auth` turns a bearer token into a
//! `Principal` and holds the access rules; `llm` speaks to any OpenAI-compatible endpoint;
//! `error` is the one place an error becomes bytes; `vocab` the closed sets of string
//! values (agent types, ...), parsed once where a string enters and imported by every layer;
//! `json_text` the rules for JSON text entering the server (lone surrogate escapes, U+0000),
//! imported the same way; `web` the pages and their compiled-in assets (routes registered by `http`).
//!
//! Imports run one way: `http -> actors -> conversation <- agents -> tools -> domain ->
//! store`, and `chatkit` imports none of them.

// Unit tests may unwrap: a failing test is the point. Request paths may not (workspace lints).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod actors;
pub mod agents;
pub mod auth;
pub mod chatkit;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod conversation;
pub mod domain;
pub mod error;
pub mod http;
pub mod json_text;
pub mod limits;
pub mod llm;
pub mod metrics;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tools;
pub mod vocab;
pub mod web;
