//! The benchmark scenarios of issue #7, one module each: (a)/(b)/(e) throughput and latency
//! under load, (c) memory of idle live threads, (d) cold-start rehydration; (f) of issue #15,
//! the turn lifecycle (cancel latency, replay cost); (s) of issue #19, full-text search
//! latency over a large index; (m) and (q) of issue #16, the local model's performance and
//! the quality of its tool use (`local` is what both share); (k) of issue #17, the cluster;
//! (i) of issue #18, instructions per turn under callgrind.

mod cluster;
mod corpus;
mod idle;
mod instructions;
mod lifecycle;
mod load;
mod local;
mod measure;
mod model_eval;
mod model_perf;
mod rehydrate;
mod search;

pub use cluster::scenario_cluster;
pub use idle::scenario_idle;
pub use instructions::scenario_instructions;
pub use lifecycle::scenario_lifecycle;
pub use load::scenario_load;
pub use model_eval::{failure_lines, scenario_model_eval};
pub use model_perf::scenario_model_perf;
pub use rehydrate::scenario_rehydrate;
pub use search::scenario_search;
