//! Unit tests of the protocol types.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod golden;
mod golden_data;
mod misc;
mod requests;
mod updates;
