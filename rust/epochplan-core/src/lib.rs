//! epochplan-core: the algorithms of epochplan, free of Python.
//!
//! Data enters as [`column::TextColumn`] batches; [`audit::Auditor`] keeps the streaming state.

pub mod audit;
pub mod audit_tokens;
pub mod cluster_ids;
pub mod column;
pub mod conflicts;
pub mod defaults;
pub mod distinct;
pub mod error;
pub mod eval_probe;
pub mod exact;
mod exact_runs;
pub mod hashing;
pub mod labels;
pub mod lengths;
pub mod near;
pub mod normalize;
pub mod packing;
pub mod script;
pub mod sharding;
pub mod stages;
pub mod template;
pub mod tokens;
pub mod wire;

pub use audit::{AuditOptions, AuditSummary, Auditor};
pub use cluster_ids::NO_CLUSTER;
pub use column::TextColumn;
pub use error::{CoreError, Result};
pub use near::{Clustering, NearClusters, NearIndex, NearMatch, NearOptions, NearProbe, Shingle, Verify};
pub use normalize::Normalize;
pub use stages::{BatchMeasure, MeasureOptions, measure_batch};
