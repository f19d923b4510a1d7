//! Dataset manifests a paper can cite: `manifests/NAME/vN.parquet` (one row
//! per sample: id, label, split memberships, source file relative to a
//! named data root with its blake3 and size, frame range, and the shard
//! file and row that hold it), `vN.toml` (who produced it, counts, schema,
//! licence, citation, the Parquet file's blake3), `vN.jsonld` (MLCommons
//! Croissant) and `index.toml` (the versions).
//!
//! Versions are immutable: a version exists once its `vN.toml` exists (it
//! is written last, with create-if-absent), publishing never replaces a
//! file, and every read checks the Parquet file's blake3 against the TOML
//! and the TOML's against the index, so a tampered manifest is an error.

mod croissant;
mod diff;
mod error;
mod publish;
mod read;
mod verify;

pub use diff::{Change, ManifestDiff, diff, diff_sql};
pub use error::{Error, Result};
pub use publish::{PublishOptions, Published, publish};
pub use read::{Manifest, ManifestIndex, ManifestMeta, Producer, VersionEntry, manifest_names, parse_pin};
pub use verify::{SourceProblem, verify_sources};

/// The directory of manifests in a project.
pub const MANIFESTS_DIR: &str = "manifests";

/// Columns of a manifest's Parquet file that every manifest has, in order
/// (split-membership columns follow `label`).
pub const FIXED_COLUMNS: [&str; 10] =
    ["sample_id", "label", "root", "path", "blake3", "size", "frame_start", "frame_end", "shard", "row"];
