//! sea-orm entities of eventchat: one module per table, table shapes and relations only.
//!
//! No queries live here; the server's `store` module is the only user of these types.
//! Conventions shared by every table:
//! - domain ids are UUID strings (`auto_increment = false`); ChatKit threads, items and
//!   attachments use the prefixed wire ids (`thr_...`, `msg_...`, `atc_...`);
//! - timestamps are `DateTimeUtc` (timestamptz on PostgreSQL, text on SQLite);
//! - JSON columns are `Json` (`serde_json::Value`), `jsonb` on PostgreSQL;
//! - money is `i64` cents.

pub mod change_requests;
pub mod chatkit_attachments;
pub mod chatkit_item_feedback;
pub mod chatkit_thread_items;
pub mod chatkit_threads;
pub mod chatkit_turn_runs;
pub mod contracts;
pub mod event_elements;
pub mod events;
pub mod guests;
pub mod messages;
pub mod tasks;
pub mod tool_calls;
pub mod users;
pub mod vendors;
pub mod venue_offerings;
pub mod venue_vendors;
pub mod venues;

/// Every entity under a distinct name, for `use entity::prelude::*`.
pub mod prelude {
    pub use super::change_requests::Entity as ChangeRequests;
    pub use super::chatkit_attachments::Entity as ChatkitAttachments;
    pub use super::chatkit_item_feedback::Entity as ChatkitItemFeedback;
    pub use super::chatkit_thread_items::Entity as ChatkitThreadItems;
    pub use super::chatkit_threads::Entity as ChatkitThreads;
    pub use super::chatkit_turn_runs::Entity as ChatkitTurnRuns;
    pub use super::contracts::Entity as Contracts;
    pub use super::event_elements::Entity as EventElements;
    pub use super::events::Entity as Events;
    pub use super::guests::Entity as Guests;
    pub use super::messages::Entity as Messages;
    pub use super::tasks::Entity as Tasks;
    pub use super::tool_calls::Entity as ToolCalls;
    pub use super::users::Entity as Users;
    pub use super::vendors::Entity as Vendors;
    pub use super::venue_offerings::Entity as VenueOfferings;
    pub use super::venue_vendors::Entity as VenueVendors;
    pub use super::venues::Entity as Venues;
}
