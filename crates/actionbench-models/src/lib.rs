//! Burn models: ST-GCN and LART.
//!
//! Both are generic over the Burn backend (`Autodiff<NdArray>` on CPU, CUDA
//! behind the train crate's `cuda` feature) and configured by serde structs
//! that pipeline params deserialise into; sizes go from `tiny` (CPU tests)
//! to the papers' sizes.

pub mod graph;
pub mod lart;
pub mod stgcn;

pub use graph::{Graph, Layout};
pub use lart::{Lart, LartConfig, LartInput, LartSize, pool_keyframe, position_encoding};
pub use stgcn::{StGcn, StGcnConfig, StGcnSize, TimeConv};
