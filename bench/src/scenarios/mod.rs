//! The benchmark scenarios of issue #7, one module each: (a)/(b)/(e) throughput and latency
//! under load, (c) memory of idle live threads, (d) cold-start rehydration; (f) of issue #15,
//! the turn lifecycle (cancel latency, replay cost).

mod idle;
mod lifecycle;
mod load;
mod measure;
mod rehydrate;

pub use idle::scenario_idle;
pub use lifecycle::scenario_lifecycle;
pub use load::scenario_load;
pub use rehydrate::scenario_rehydrate;
