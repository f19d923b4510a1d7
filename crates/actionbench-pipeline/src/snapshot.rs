//! Input hashing with per-input snapshots, so a no-op check over 100,000
//! files costs a parallel walk with one `stat` per file and nothing else.
//!
//! A snapshot records, for one input entry (a file, a directory or a glob),
//! every file's relative path, size, mtime, inode and content hash, plus the
//! entry's tree hash. A file is re-hashed only when its stat changed; when no
//! file changed and none appeared or vanished, the tree hash is taken from
//! the snapshot without rebuilding the listing.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use actionbench_core::{Fingerprint, hash_file};
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Magic and version of the snapshot file format.
const MAGIC: &[u8; 8] = b"absnap02";
/// A file modified this close to the moment it was hashed may change again
/// within the file system's timestamp granularity without a visible mtime
/// change ("racy", as git calls it); it is re-hashed next time.
const RACY_WINDOW_NS: i64 = 2_000_000_000;
/// Deeper than this is a symbolic link loop.
const MAX_DEPTH: usize = 256;

/// The part of a file's metadata that tells it changed.
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

/// A file found by a walk: its path relative to a base directory (the
/// absolute path is `base.join(rel)`, built only when needed) and its stat.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) rel: String,
    pub(crate) stat: FileStat,
}

/// One record of a snapshot file; `rel` borrows from the file's bytes
/// (postcard decodes `&str` without copying).
type Record<'a> = (&'a str, u64, i64, u64, bool, [u8; 32]);

/// What hashing an entry gives: each file's hash (in the order found) and
/// the tree hash, with the listing when it had to be rebuilt.
pub(crate) struct Hashed {
    pub(crate) hashes: Vec<Fingerprint>,
    pub(crate) tree_hash: Fingerprint,
    pub(crate) listing: Option<String>,
}

/// The order files are listed in: byte order of relative paths, with `/`
/// before every other byte — the order of a walk that visits each
/// directory's entries sorted by name (`a/x` before `a.txt`).
pub(crate) fn walk_order(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |c: u8| if c == b'/' { 0 } else { c };
    a.bytes().map(key).cmp(b.bytes().map(key))
}

/// Walks `dir` in parallel (one rayon task per directory, `stat`s in
/// parallel), following symbolic links, in [`walk_order`]: each directory's
/// entries are sorted by name, so no global sort is needed.
pub(crate) fn walk(dir: &Path) -> Result<Vec<Found>> {
    walk_dir(dir, "", 0, None)
}

/// [`walk`], refusing a symbolic link whose target is outside `confine`
/// (a canonical path) with [`Error::LinkEscapes`].
pub(crate) fn walk_within(dir: &Path, confine: &Path) -> Result<Vec<Found>> {
    walk_dir(dir, "", 0, Some(confine))
}

/// [`Error::LinkEscapes`] when `link` resolves outside `confine` (a
/// canonical path).
pub(crate) fn check_link(link: &Path, confine: &Path) -> Result<()> {
    let target = std::fs::canonicalize(link).map_err(|e| Error::io(link, e))?;
    if target.starts_with(confine) { Ok(()) } else { Err(Error::LinkEscapes { link: link.to_path_buf(), target }) }
}

enum Item {
    File(std::fs::DirEntry, String),
    Dir(PathBuf, String),
}

enum Chunk {
    One(Found),
    Many(Vec<Found>),
}

fn walk_dir(dir: &Path, prefix: &str, depth: usize, confine: Option<&Path>) -> Result<Vec<Found>> {
    if depth > MAX_DEPTH {
        return Err(Error::io(dir, std::io::Error::other("symbolic link loop (or more than 256 nested directories)")));
    }
    let mut items = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().into_string().unwrap_or_else(|n| n.to_string_lossy().into_owned());
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let file_type = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
        if file_type.is_dir() {
            items.push(Item::Dir(entry.path(), rel));
        } else if file_type.is_file() {
            items.push(Item::File(entry, rel));
        } else if file_type.is_symlink() {
            let path = entry.path();
            if let Some(confine) = confine {
                check_link(&path, confine)?;
            }
            let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
            if meta.is_dir() {
                items.push(Item::Dir(path, rel));
            } else if meta.is_file() {
                items.push(Item::File(entry, rel));
            }
        }
    }
    items.sort_unstable_by(|a, b| {
        let (Item::File(_, ra) | Item::Dir(_, ra)) = a;
        let (Item::File(_, rb) | Item::Dir(_, rb)) = b;
        ra.cmp(rb)
    });
    let chunks: Vec<Chunk> = items
        .into_par_iter()
        .map(|item| match item {
            Item::File(entry, rel) => {
                // `DirEntry::metadata` stats relative to the open directory
                // (no path lookup); links need `fs::metadata` to follow them.
                let meta = if entry.file_type().is_ok_and(|t| t.is_symlink()) {
                    std::fs::metadata(entry.path())
                } else {
                    entry.metadata()
                };
                let meta = meta.map_err(|e| Error::io(entry.path(), e))?;
                Ok(Chunk::One(Found { rel, stat: FileStat::of(&meta) }))
            }
            Item::Dir(path, rel) => walk_dir(&path, &rel, depth + 1, confine).map(Chunk::Many),
        })
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        match chunk {
            Chunk::One(f) => out.push(f),
            Chunk::Many(v) => out.extend(v),
        }
    }
    Ok(out)
}

/// The `hash  path` listing of files and hashes.
pub(crate) fn render_listing<'a>(items: impl Iterator<Item = (&'a str, &'a Fingerprint)>) -> String {
    let mut listing = String::new();
    for (rel, hash) in items {
        listing.push_str(&hash.to_hex());
        listing.push_str("  ");
        listing.push_str(rel);
        listing.push('\n');
    }
    listing
}

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

/// Where snapshots live (`.actionbench/v1/snapshots/`).
#[derive(Debug)]
pub(crate) struct Snapshots {
    dir: PathBuf,
}

impl Snapshots {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The snapshot of entry `id` as stored (empty when there is none);
    /// read while the walk runs.
    pub(crate) fn read(&self, id: &str) -> Vec<u8> {
        std::fs::read(self.file_for(id)).unwrap_or_default()
    }

    fn file_for(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{}.bin", &Fingerprint::of_bytes(id.as_bytes()).to_hex()[..32]))
    }

    /// Hashes the files `found` (sorted by `rel`) of the entry identified by
    /// `id`, reusing the snapshot's hashes for files whose stat is unchanged,
    /// and updates the snapshot when anything changed.
    /// `base.join(rel)` is each file's path.
    pub(crate) fn hash(&self, id: &str, base: &Path, found: &[Found], bytes: &[u8]) -> Result<Hashed> {
        let file = self.file_for(id);
        let old: Option<(Fingerprint, Vec<Record<'_>>)> = bytes
            .strip_prefix(MAGIC.as_slice())
            .and_then(|body| postcard::from_bytes::<([u8; 32], Vec<Record<'_>>)>(body).ok())
            .map(|(tree, records)| (Fingerprint::from_bytes(tree), records));

        // Merge-join the sorted walk with the sorted snapshot.
        let mut hashes: Vec<Option<Fingerprint>> = vec![None; found.len()];
        if let Some((_, records)) = &old {
            let mut r = 0;
            for (i, f) in found.iter().enumerate() {
                while r < records.len() && records[r].0 != f.rel && walk_order(records[r].0, &f.rel).is_lt() {
                    r += 1;
                }
                if let Some(&(rel, size, mtime_ns, ino, racy, hash)) = records.get(r)
                    && rel == f.rel
                    && !racy
                    && (FileStat { size, mtime_ns, ino }) == f.stat
                {
                    hashes[i] = Some(Fingerprint::from_bytes(hash));
                }
            }
        }
        let misses: Vec<usize> = (0..found.len()).filter(|&i| hashes[i].is_none()).collect();
        if let Some((tree, records)) = &old
            && misses.is_empty()
            && records.len() == found.len()
        {
            return Ok(Hashed { hashes: hashes.into_iter().flatten().collect(), tree_hash: *tree, listing: None });
        }
        let fresh: Vec<(usize, Fingerprint, i64)> = misses
            .par_iter()
            .map(|&i| {
                let path = base.join(&found[i].rel);
                let hash = hash_file(&path).map_err(|e| Error::io(&path, e))?;
                Ok((i, hash, now_ns()))
            })
            .collect::<Result<_>>()?;
        let mut racy = vec![false; found.len()];
        for (i, hash, hashed_at) in fresh {
            hashes[i] = Some(hash);
            racy[i] = found[i].stat.mtime_ns >= hashed_at - RACY_WINDOW_NS;
        }
        let hashes: Vec<Fingerprint> = hashes.into_iter().map(|h| h.expect("every miss was hashed")).collect();
        let listing = render_listing(found.iter().map(|f| f.rel.as_str()).zip(hashes.iter()));
        let tree_hash = Fingerprint::of_bytes(listing.as_bytes());
        let records: Vec<Record<'_>> = found
            .iter()
            .zip(&hashes)
            .zip(&racy)
            .map(|((f, h), r)| (f.rel.as_str(), f.stat.size, f.stat.mtime_ns, f.stat.ino, *r, *h.as_bytes()))
            .collect();
        let mut out = MAGIC.to_vec();
        out.extend(
            postcard::to_stdvec(&(tree_hash.as_bytes(), &records))
                .map_err(|e| Error::Internal(format!("snapshot: {e}")))?,
        );
        crate::cache::write_atomic(&file, &out)?;
        Ok(Hashed { hashes, tree_hash, listing: Some(listing) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(path: &Path) {
        let old = SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::options().write(true).open(path).unwrap().set_modified(old).unwrap();
    }

    #[test]
    fn unchanged_files_are_not_rehashed() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("d");
        std::fs::create_dir_all(data.join("sub")).unwrap();
        std::fs::write(data.join("a.txt"), "one").unwrap();
        std::fs::write(data.join("sub/b.txt"), "two").unwrap();
        age(&data.join("a.txt"));
        age(&data.join("sub/b.txt"));
        let snaps = Snapshots::new(dir.path().join("snaps"));
        let found = walk(&data).unwrap();
        assert_eq!(found.iter().map(|f| f.rel.as_str()).collect::<Vec<_>>(), ["a.txt", "sub/b.txt"]);
        let first = snaps.hash("d", &data, &found, &snaps.read("d")).unwrap();
        assert_eq!(first.hashes[0], Fingerprint::of_bytes(b"one"));
        assert!(first.listing.is_some(), "a first hash builds the listing");

        // Second time: a hit, no listing rebuilt, same tree hash.
        let second = snaps.hash("d", &data, &walk(&data).unwrap(), &snaps.read("d")).unwrap();
        assert!(second.listing.is_none());
        assert_eq!(second.tree_hash, first.tree_hash);

        // A change of content (and so of mtime) is seen; so is a new file.
        std::fs::write(data.join("a.txt"), "ONE!").unwrap();
        std::fs::write(data.join("c.txt"), "three").unwrap();
        let third = snaps.hash("d", &data, &walk(&data).unwrap(), &snaps.read("d")).unwrap();
        assert_ne!(third.tree_hash, first.tree_hash);
        assert_eq!(third.hashes[0], Fingerprint::of_bytes(b"ONE!"));
        assert_eq!(third.hashes.len(), 3);
    }

    #[test]
    fn walk_order_puts_a_directory_before_longer_names() {
        let mut v = vec!["a.txt", "a/x", "a-b", "a/b/c", "b"];
        v.sort_by(|a, b| walk_order(a, b));
        assert_eq!(v, ["a/b/c", "a/x", "a-b", "a.txt", "b"]);
        let dir = tempfile::tempdir().unwrap();
        for f in ["a.txt", "a/x", "a-b", "a/b/c", "b"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, f).unwrap();
        }
        let walked: Vec<String> = walk(dir.path()).unwrap().into_iter().map(|f| f.rel).collect();
        assert_eq!(walked, v, "the walk emits walk order without a global sort");
    }

    #[test]
    fn corrupt_snapshot_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("d");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("a.txt"), "one").unwrap();
        let snaps = Snapshots::new(dir.path().join("snaps"));
        std::fs::create_dir_all(dir.path().join("snaps")).unwrap();
        std::fs::write(snaps.file_for("d"), b"absnap02\xff\xff").unwrap();
        let h = snaps.hash("d", &data, &walk(&data).unwrap(), &snaps.read("d")).unwrap();
        assert_eq!(h.hashes, [Fingerprint::of_bytes(b"one")]);
    }
}
