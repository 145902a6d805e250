//! The benchmark scenarios of issue #7, one module each: (a)/(b)/(e) throughput and latency
//! under load, (c) memory of idle live threads, (d) cold-start rehydration; (f) of issue #15,
//! the turn lifecycle (cancel latency, replay cost); (s) of issue #19, full-text search
//! latency over a large index.

mod corpus;
mod idle;
mod lifecycle;
mod load;
mod measure;
mod rehydrate;
mod search;

pub use idle::scenario_idle;
pub use lifecycle::scenario_lifecycle;
pub use load::scenario_load;
pub use rehydrate::scenario_rehydrate;
pub use search::scenario_search;
