//! Video decode, encode and probe on the real fixtures and generated clips.

mod decode;
mod encode;
mod probe;

use std::path::PathBuf;

/// A real-video fixture from the repository's fixtures/real/video/mmaction2.
pub(crate) fn fixture(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/real/video/mmaction2").join(name);
    assert!(p.is_file(), "fixture {} is missing", p.display());
    p
}
