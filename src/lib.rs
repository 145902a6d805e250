//! eventchat: a ChatKit-compatible conversation server for an event-planning platform.
//!
//! Layout (see `shared/design.md`): `config` loads typed settings; `startup` builds the
//! application shared by `main` and the tests; `http` holds thin route handlers; `auth`
//! turns a bearer token into a `Principal` and holds the access rules; `chatkit` is the wire
//! protocol (types, ids, SSE framing); `store` is the only importer of the `entity` crate;
//! `llm` speaks to any OpenAI-compatible endpoint; `error` is the one place an error becomes
//! bytes.

// Unit tests may unwrap: a failing test is the point. Request paths may not (workspace lints).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod actors;
pub mod agents;
pub mod auth;
pub mod chatkit;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod limits;
pub mod llm;
pub mod metrics;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tools;
