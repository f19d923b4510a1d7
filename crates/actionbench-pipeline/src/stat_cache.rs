//! Input hashing with a stat cache: a file is re-hashed only when its size,
//! modification time or inode changed, so a no-op `status` over 100,000
//! input files costs 100,000 `stat` calls, not 100,000 reads.

use std::collections::HashMap;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use actionbench_core::{Fingerprint, hash_file};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"abstat01";
/// Entries modified this close to the moment they were hashed may change
/// again within the file system's timestamp granularity without a visible
/// mtime change ("racy" entries, as git calls them); they are re-hashed on
/// the next lookup instead of trusted.
const RACY_WINDOW_NS: i64 = 2_000_000_000;

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
struct StatEntry {
    size: u64,
    mtime_ns: i64,
    ino: u64,
    hash: [u8; 32],
    racy: bool,
}

/// What `stat` says of a file: the part of its metadata the cache compares.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct FileStat {
    pub(crate) size: u64,
    pub(crate) mtime_ns: i64,
    pub(crate) ino: u64,
}

impl FileStat {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Self {
        Self { size: meta.size(), mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(), ino: meta.ino() }
    }
}

/// The persistent map from path to (stat, content hash).
pub(crate) struct StatCache {
    file: PathBuf,
    entries: Mutex<HashMap<PathBuf, StatEntry>>,
    dirty: Mutex<bool>,
}

impl StatCache {
    /// Loads the cache; a missing or unreadable file starts an empty cache
    /// (it only saves work, it never decides correctness).
    pub(crate) fn load(file: &Path) -> Self {
        let entries = std::fs::read(file)
            .ok()
            .and_then(|bytes| {
                let body = bytes.strip_prefix(MAGIC.as_slice())?;
                postcard::from_bytes::<Vec<(Vec<u8>, StatEntry)>>(body).ok()
            })
            .map(|list| list.into_iter().map(|(p, e)| (PathBuf::from(std::ffi::OsString::from_vec(p)), e)).collect())
            .unwrap_or_default();
        Self { file: file.to_path_buf(), entries: Mutex::new(entries), dirty: Mutex::new(false) }
    }

    /// Writes the cache back if anything changed (atomically: temp + rename).
    pub(crate) fn save(&self) -> Result<()> {
        let mut dirty = self.dirty.lock().expect("stat cache lock poisoned");
        if !*dirty {
            return Ok(());
        }
        let entries = self.entries.lock().expect("stat cache lock poisoned");
        let mut list: Vec<(&[u8], &StatEntry)> = entries.iter().map(|(p, e)| (p.as_os_str().as_bytes(), e)).collect();
        list.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut bytes = MAGIC.to_vec();
        bytes.extend(postcard::to_stdvec(&list).map_err(|e| Error::Internal(format!("stat cache: {e}")))?);
        crate::cache::write_atomic(&self.file, &bytes)?;
        *dirty = false;
        Ok(())
    }

    /// Content hashes of `files` (absolute paths with their stats), hashing
    /// in parallel only those whose stat changed since they were last hashed.
    pub(crate) fn hashes(&self, files: &[(PathBuf, FileStat)]) -> Result<Vec<Fingerprint>> {
        let mut out: Vec<Option<Fingerprint>> = vec![None; files.len()];
        let mut misses = Vec::new();
        {
            let entries = self.entries.lock().expect("stat cache lock poisoned");
            for (i, (path, stat)) in files.iter().enumerate() {
                match entries.get(path) {
                    Some(e) if !e.racy && e.size == stat.size && e.mtime_ns == stat.mtime_ns && e.ino == stat.ino => {
                        out[i] = Some(Fingerprint::from_bytes(e.hash));
                    }
                    _ => misses.push(i),
                }
            }
        }
        if misses.is_empty() {
            return Ok(out.into_iter().map(|h| h.expect("every entry was a hit")).collect());
        }
        let hashed: Vec<(usize, Fingerprint, i64)> = misses
            .par_iter()
            .map(|&i| {
                let path = &files[i].0;
                let hash = hash_file(path).map_err(|e| Error::io(path, e))?;
                Ok((i, hash, now_ns()))
            })
            .collect::<Result<_>>()?;
        let mut entries = self.entries.lock().expect("stat cache lock poisoned");
        for (i, hash, hashed_at) in hashed {
            let (path, stat) = &files[i];
            out[i] = Some(hash);
            entries.insert(
                path.clone(),
                StatEntry {
                    size: stat.size,
                    mtime_ns: stat.mtime_ns,
                    ino: stat.ino,
                    hash: *hash.as_bytes(),
                    racy: stat.mtime_ns >= hashed_at - RACY_WINDOW_NS,
                },
            );
        }
        *self.dirty.lock().expect("stat cache lock poisoned") = true;
        Ok(out.into_iter().map(|h| h.expect("every entry was hashed")).collect())
    }
}

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_after_save_and_rehash_after_change() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        std::fs::write(&f, "one").unwrap();
        // Make the file old enough not to be racy.
        let old = SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::options().write(true).open(&f).unwrap().set_modified(old).unwrap();
        let stat = || FileStat::of(&std::fs::metadata(&f).unwrap());
        let cache_file = dir.path().join("stat.bin");
        let cache = StatCache::load(&cache_file);
        let h1 = cache.hashes(&[(f.clone(), stat())]).unwrap()[0];
        assert_eq!(h1, Fingerprint::of_bytes(b"one"));
        cache.save().unwrap();

        let cache = StatCache::load(&cache_file);
        assert_eq!(cache.entries.lock().unwrap().len(), 1);
        // A lie in the cache proves the second lookup is a hit, not a re-hash.
        cache.entries.lock().unwrap().get_mut(&f).unwrap().hash = [7; 32];
        assert_eq!(cache.hashes(&[(f.clone(), stat())]).unwrap()[0], Fingerprint::from_bytes([7; 32]));

        // A content change with a new mtime is seen.
        std::fs::write(&f, "two!").unwrap();
        assert_eq!(cache.hashes(&[(f.clone(), stat())]).unwrap()[0], Fingerprint::of_bytes(b"two!"));
    }

    #[test]
    fn corrupt_cache_file_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let cache_file = dir.path().join("stat.bin");
        std::fs::write(&cache_file, b"abstat01\xff\xff\xff").unwrap();
        assert!(StatCache::load(&cache_file).entries.lock().unwrap().is_empty());
    }
}
