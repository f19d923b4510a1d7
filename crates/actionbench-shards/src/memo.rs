//! Verification without re-reading: a memo of the shards whose blake3
//! matched their index, by file stat, so a query over a project checks a
//! file's bytes only once after it changes (sizes are checked every time).

use std::collections::BTreeMap;
#[cfg(unix)]
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::index::{ShardIndex, read_verified};

/// Shards known to match their index, by path and stat; kept in a file.
pub struct VerifiedShards {
    file: PathBuf,
    seen: BTreeMap<String, (u64, i64, u64, String)>,
    dirty: bool,
}

impl VerifiedShards {
    /// The memo kept in `file` (empty when it is missing or unreadable: it
    /// is only a cache).
    pub fn load(file: &Path) -> Self {
        let seen = std::fs::read(file).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        Self { file: file.to_path_buf(), seen, dirty: false }
    }

    /// Checks every shard of `index` in `dir`: its size always, its blake3
    /// when its stat changed since it last matched.
    pub fn check(&mut self, dir: &Path, index: &ShardIndex) -> Result<()> {
        for shard in &index.shards {
            let path = dir.join(&shard.file);
            let meta = std::fs::metadata(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
            if meta.len() != shard.bytes {
                return Err(Error::Corrupt {
                    path,
                    what: "size",
                    expected: shard.bytes.to_string(),
                    found: meta.len().to_string(),
                });
            }
            let stat = stat_of(&meta, shard.blake3.to_hex());
            let key = path.display().to_string();
            if self.seen.get(&key) == Some(&stat) {
                continue;
            }
            read_verified(dir, shard)?;
            self.seen.insert(key, stat);
            self.dirty = true;
        }
        Ok(())
    }

    /// Writes the memo back if it changed; failing to write costs only a
    /// re-check next time.
    pub fn save(&self) {
        if self.dirty
            && let Ok(text) = serde_json::to_vec(&self.seen)
        {
            let _ = std::fs::write(&self.file, text);
        }
    }
}

#[cfg(unix)]
fn stat_of(meta: &std::fs::Metadata, blake3: String) -> (u64, i64, u64, String) {
    (meta.len(), meta.mtime() * 1_000_000_000 + meta.mtime_nsec(), meta.ino(), blake3)
}

#[cfg(not(unix))]
fn stat_of(meta: &std::fs::Metadata, blake3: String) -> (u64, i64, u64, String) {
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    (meta.len(), modified, 0, blake3)
}
