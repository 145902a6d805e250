//! The integration test binary: every test talks to a real server over HTTP (port 0) backed
//! by a real database, SQLite and PostgreSQL alike.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod actions;
mod actors;
mod agents;
mod attach;
mod binary;
mod chatkit_requests;
mod chatkit_stream;
mod cli;
mod cluster;
mod conversation;
mod db_outage;
mod health;
mod helpers;
mod idempotency;
mod list_caps;
mod llm_client;
mod local_model;
mod model_faults;
mod model_stall;
mod model_store;
mod recovery;
mod requests;
mod rest_access;
mod rest_openapi;
mod rest_paging;
mod rest_review;
mod rest_support;
mod scripted;
mod search;
mod security;
mod store_contract;
mod stream_slot;
mod tcp_proxy;
mod text_input;
mod text_tool_calls;
mod thread_lists;
mod turns;
mod web;
