//! Burn models: ST-GCN, LART, MViTv2, PromptonomyViT, UPS, ResNet-3D and its
//! multi-task variants, and the frame-averaged linear baseline.
//!
//! Both are generic over the Burn backend (`Autodiff<NdArray>` on CPU, CUDA
//! behind the train crate's `cuda` feature) and configured by serde structs
//! that pipeline params deserialise into; sizes go from `tiny` (CPU tests)
//! to the papers' sizes.

pub mod conv3d;
pub mod frame_linear;
pub mod graph;
pub mod import;
pub mod lart;
pub mod mtl;
pub mod mvit;
pub mod pvit;
pub mod r3d;
pub mod stgcn;
pub mod ups;

pub use frame_linear::{FrameLinear, FrameLinearConfig};
pub use graph::{Graph, H36M17_PARENTS, Layout};
pub use import::{ImportReport, TorchParam, copy_weights, load_torch};
pub use lart::{Lart, LartConfig, LartInput, LartSize, pool_keyframe, position_encoding};
pub use mtl::{CrossStitch, MtlR3d, MtlR3dConfig, MtlTaskSpec, NesConfig, Sharing};
pub use mvit::{Encoded, Mvit, MvitConfig, MvitSize};
pub use pvit::{AuxTask, DenseHead, Pvit, PvitConfig, PvitLambdas, PvitOutput, PvitVariant};
pub use r3d::{R3d, R3dBackbone, R3dConfig};
pub use stgcn::{StGcn, StGcnConfig, StGcnSize, TimeConv};
pub use ups::{
    DecodeError, DecodeOutcome, Decoded, Eot, Routing, Token, Ups, UpsConfig, UpsSize, UpsTask, Vocab, greedy_decode,
};
