//! The benchmark scenarios of issue #7, one module each: (a)/(b)/(e) throughput and latency
//! under load, (c) memory of idle live threads, (d) cold-start rehydration.

mod idle;
mod load;
mod measure;
mod rehydrate;

pub use idle::scenario_idle;
pub use load::scenario_load;
pub use rehydrate::scenario_rehydrate;
