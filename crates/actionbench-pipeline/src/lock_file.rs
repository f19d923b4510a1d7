//! `pipelines/NAME.lock`: each stage's key, what it was made of and the
//! hashes of its outputs. Human-readable TOML with sorted keys and no
//! timestamps, so it diffs cleanly and belongs in version control.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use actionbench_core::Fingerprint;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::stage_key::StageKey;

const LOCK_VERSION: u32 = 1;
const HEADER: &str = "# Written by `actionbench run`: the key and outputs of every stage that ran.\n# Do not edit by hand; commit it with the pipeline.\n";

/// The lock file of one pipeline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    /// Format version.
    pub version: u32,
    /// Stage name → what ran.
    #[serde(default)]
    pub stages: BTreeMap<String, LockedStage>,
}

/// What was recorded when a stage last ran.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LockedStage {
    /// The stage key.
    pub key: Fingerprint,
    /// What the key was made of (so `status` can say what changed).
    pub definition: StageKey,
    /// Content hash of every output (`outs` path, or `@cache` for the
    /// output directory of a built-in stage).
    #[serde(default)]
    pub outputs: BTreeMap<String, Fingerprint>,
}

impl Default for LockFile {
    fn default() -> Self {
        Self { version: LOCK_VERSION, stages: BTreeMap::new() }
    }
}

impl LockFile {
    /// The lock file beside a pipeline file.
    pub fn path_for(pipeline_file: &Path) -> PathBuf {
        pipeline_file.with_extension("lock")
    }

    /// Reads a lock file; a missing file is an empty lock.
    pub fn read(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(Error::io(path, e)),
        };
        let lock: LockFile = toml::from_str(&text).map_err(|e| {
            let line = e.span().map_or(1, |s| crate::pipeline_file::line_col(&text, s.start).0);
            Error::LockFile { path: path.to_path_buf(), message: format!("line {line}: {}", e.message()) }
        })?;
        if lock.version != LOCK_VERSION {
            return Err(Error::LockFile {
                path: path.to_path_buf(),
                message: format!("lock file version {} is not supported (expected {LOCK_VERSION})", lock.version),
            });
        }
        Ok(lock)
    }

    /// Writes atomically (temp file + rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        let body = toml::to_string(self).map_err(|e| Error::Internal(format!("serialising lock file: {e}")))?;
        crate::cache::write_atomic(path, format!("{HEADER}{body}").as_bytes())
    }
}
