//! epochplan-core: the algorithms of epochplan, free of Python.
//!
//! Data enters as [`column::TextColumn`] batches; [`audit::Auditor`] keeps the streaming state.

pub mod audit;
pub mod column;
pub mod distinct;
pub mod error;
pub mod eval_probe;
pub mod exact;
pub mod hashing;
pub mod labels;
pub mod lengths;
pub mod near;
pub mod normalize;
pub mod script;
pub mod template;

pub use audit::{AuditOptions, AuditSummary, Auditor, NO_CLUSTER};
pub use column::TextColumn;
pub use error::{CoreError, Result};
pub use near::{Clustering, NearClusters, NearIndex, NearMatch, NearOptions, NearProbe, Shingle};
pub use normalize::Normalize;
