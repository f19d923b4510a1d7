use std::path::Path;

use actionbench_core::Fingerprint;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// File name of the shard index inside a shard directory.
pub const INDEX_FILE: &str = actionbench_core::SHARD_INDEX_FILE;
const INDEX_VERSION: u32 = 1;

/// One Parquet file of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WrittenShard {
    /// File name inside the shard directory.
    pub file: String,
    /// Rows in the file.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// blake3 of the whole file.
    pub blake3: Fingerprint,
    /// Index of the file's first row in the table.
    pub first_row: u64,
    /// Smallest value of the key column in the file (as text).
    pub key_min: Option<String>,
    /// Largest value of the key column in the file (as text).
    pub key_max: Option<String>,
}

/// The index of a shard directory: what a reader checks before trusting
/// the files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardIndex {
    /// Format version.
    pub version: u32,
    /// Key of the stage that wrote the shards, when known.
    pub stage_key: Option<String>,
    /// Column whose range `key_min`/`key_max` give.
    pub key_column: Option<String>,
    /// Rows in all shards.
    pub rows: u64,
    /// The shards, in row order.
    pub shards: Vec<WrittenShard>,
}

impl ShardIndex {
    pub(crate) fn new(stage_key: Option<String>, key_column: Option<String>, shards: Vec<WrittenShard>) -> Self {
        Self { version: INDEX_VERSION, stage_key, key_column, rows: shards.iter().map(|s| s.rows).sum(), shards }
    }

    /// Reads `dir/_index.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(INDEX_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
        let index: ShardIndex =
            serde_json::from_str(&text).map_err(|e| Error::BadIndex { path: path.clone(), message: e.to_string() })?;
        if index.version != INDEX_VERSION {
            return Err(Error::BadIndex { path, message: format!("version {} is not supported", index.version) });
        }
        Ok(index)
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(INDEX_FILE);
        let mut text = serde_json::to_string_pretty(self).expect("the index serialises");
        text.push('\n');
        // Written aside and renamed into place: a reader (or a table
        // rewritten in place, like a script's `metrics`) sees the old index
        // or the new one, never half of one.
        let tmp = dir.join(format!(".{INDEX_FILE}.tmp"));
        std::fs::write(&tmp, text).map_err(|source| Error::Io { path: tmp.clone(), source })?;
        std::fs::rename(&tmp, &path).map_err(|source| Error::Io { path, source })
    }

    /// Checks every shard's size and blake3 against the index.
    pub fn verify(&self, dir: &Path) -> Result<()> {
        for shard in &self.shards {
            read_verified(dir, shard)?;
        }
        Ok(())
    }
}

/// Reads a shard's bytes and checks their size and blake3 against its index
/// entry: the one place shards are verified (the readers here, the loader
/// and SQL all come through it).
pub fn read_verified(dir: &Path, shard: &WrittenShard) -> Result<Vec<u8>> {
    let path = dir.join(&shard.file);
    let bytes = std::fs::read(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
    if bytes.len() as u64 != shard.bytes {
        return Err(Error::Corrupt {
            path,
            what: "size",
            expected: shard.bytes.to_string(),
            found: bytes.len().to_string(),
        });
    }
    let found = Fingerprint::of_bytes(&bytes);
    if found != shard.blake3 {
        return Err(Error::Corrupt {
            path,
            what: "blake3 checksum",
            expected: shard.blake3.to_hex(),
            found: found.to_hex(),
        });
    }
    Ok(bytes)
}
