//! Arrow-batched, deterministic, resumable data loading from shards into Burn tensors.
//!
//! - [`Table`] reads the rows of shard directories (checked against their
//!   index) that pass an optional SQL `WHERE` filter, evaluated over Arrow
//!   ([`RowFilter`]), or the result of a query through `actionbench-sql`.
//! - [`SkeletonSource`], [`TrackletSource`] and [`ClipSource`] (video clips
//!   and render labels) decode and augment one sample at a time from a
//!   table; [`SampleSource`] is the trait for others.
//! - [`Loader`] yields collated [`HostBatch`]es: the sample order is a pure
//!   function of (seed, epoch, position) ([`EpochOrder`]); every sample's
//!   augmentation RNG is seeded from (seed, epoch, source, index), so batches
//!   are identical for any thread count; [`LoaderState`] resumes mid-epoch;
//!   a background thread prefetches a bounded number of batches.
//! - [`Mixture`] draws from several sources by ratio or by task rotation,
//!   with iteration-based epochs and per-sample label-availability masks.

mod batch;
mod clip;
mod error;
mod filter;
mod loader;
mod mixture;
mod order;
mod plan;
mod sample;
mod skeleton;
mod table;
mod tensor;
mod tracklet;

pub use batch::{HostBatch, HostTensor};
pub use clip::{ClipConfig, ClipSource};
pub use error::LoaderError;

/// `Result` with this crate's error.
pub type Result<T, E = LoaderError> = std::result::Result<T, E>;
pub use filter::RowFilter;
pub use loader::{Loader, LoaderConfig, LoaderState};
pub use mixture::{Mixture, MixtureMode, MixturePlan, MixtureSource};
pub use order::{EpochOrder, SampleRng, sample_rng};
pub use plan::{Plan, Sequential};
pub use sample::{Sample, SampleSource, collate};
pub use skeleton::{NTU_FLIP_PAIRS, SkeletonConfig, SkeletonSource};
pub use table::{Table, TableSpec};
pub use tracklet::{Keyframes, TrackletConfig, TrackletSource};
