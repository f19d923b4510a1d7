//! The hook through which `run --remote` uses a cache shared between
//! machines (the S3 remote of `actionbench-remote`), without this crate
//! knowing any storage.

use actionbench_core::Fingerprint;

use crate::cache::Cache;

/// The error a shared cache reports (its own type, boxed).
pub type SharedCacheError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A cache of built-in stage outputs shared between machines.
///
/// The engine calls [`SharedCache::fetch`] before running a built-in
/// stage whose output is missing locally, and [`SharedCache::store`] after
/// a built-in stage ran (or was found locally), with the run lock held.
pub trait SharedCache: Send + Sync {
    /// Publishes the output of `key` into `cache` if the shared cache has
    /// it (verified); true when it did.
    fn fetch(&self, cache: &Cache, key: &Fingerprint) -> Result<bool, SharedCacheError>;
    /// Makes the local output of `key` available in the shared cache (a
    /// no-op when it already is).
    fn store(&self, cache: &Cache, key: &Fingerprint) -> Result<(), SharedCacheError>;
}
