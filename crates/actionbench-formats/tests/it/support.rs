//! Locating fixtures.

use std::path::PathBuf;

/// The project's `shared/` directory: `$ACTIONBENCH_SHARED_DIR`, else
/// `../../../shared` from this crate.
pub(crate) fn shared_dir() -> PathBuf {
    match std::env::var_os("ACTIONBENCH_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// A file under `shared/fixtures/real/`.
pub(crate) fn real_fixture(relative: &str) -> PathBuf {
    shared_dir().join("fixtures/real").join(relative)
}

/// A file under this crate's `tests/fixtures/`.
pub(crate) fn crate_fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative)
}
