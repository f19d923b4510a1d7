//! Resolving `inputs` / `deps` entries (files, directories, globs, `@stage`
//! outputs) to files and content hashes.

use std::path::{Path, PathBuf};

use actionbench_core::Fingerprint;

use crate::error::{Error, Result};
use crate::stat_cache::{FileStat, StatCache};

/// One file of an input, with its content hash.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Path as shown to people: project-relative, or absolute for data
    /// outside the project.
    pub display: String,
    /// Absolute path.
    pub path: PathBuf,
    /// Content hash.
    pub hash: Fingerprint,
    /// Size in bytes.
    pub size: u64,
}

/// An `inputs` / `deps` entry after resolution.
#[derive(Debug, Clone)]
pub enum ResolvedInput {
    /// A file, a directory (all files below it) or a glob.
    Files {
        /// The entry as written.
        entry: String,
        /// The files, sorted by path.
        files: Vec<InputFile>,
        /// Content hash of the entry: the file's hash for a single file,
        /// the hash of the sorted listing (`hash  path` lines) otherwise.
        hash: Fingerprint,
        /// The listing, for a directory or a glob (kept for `status` diffs).
        listing: Option<String>,
    },
    /// `@stage`: the outputs of another stage.
    Stage {
        /// The stage.
        stage: String,
        /// Its key.
        key: Fingerprint,
        /// Where its outputs are (cache directory or `outs` paths).
        paths: Vec<PathBuf>,
    },
}

/// Why an entry could not be resolved.
#[derive(Debug)]
pub(crate) enum InputError {
    Missing,
    NoMatch,
    BadGlob(String),
    Other(Error),
}

impl From<Error> for InputError {
    fn from(e: Error) -> Self {
        InputError::Other(e)
    }
}

fn is_glob(entry: &str) -> bool {
    entry.contains(['*', '?', '['])
}

/// A listed file: display path, absolute path, stat.
type Listed = (String, PathBuf, FileStat);

/// Lists the files of a path entry (file, directory or glob) with their
/// stats, sorted by display path; the flag says whether the entry is a tree
/// (directory or glob) rather than a single file.
pub(crate) fn list_files(root: &Path, entry: &str) -> std::result::Result<(Vec<Listed>, bool), InputError> {
    let abs_entry = root.join(entry);
    let rel_display = |p: &Path| -> String {
        p.strip_prefix(root).map(|r| r.display().to_string()).unwrap_or_else(|_| p.display().to_string())
    };
    if is_glob(entry) {
        let pattern = if Path::new(entry).is_absolute() {
            entry.to_string()
        } else {
            format!("{}/{}", glob::Pattern::escape(&root.display().to_string()), entry)
        };
        let paths = glob::glob(&pattern).map_err(|e| InputError::BadGlob(e.to_string()))?;
        let mut out = Vec::new();
        for path in paths {
            let path = path.map_err(|e| {
                let p = e.path().to_path_buf();
                InputError::Other(Error::io(p, e.into()))
            })?;
            walk(&path, &mut |p, stat| out.push((rel_display(p), p.to_path_buf(), stat)))?;
        }
        if out.is_empty() {
            return Err(InputError::NoMatch);
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.dedup_by(|a, b| a.0 == b.0);
        return Ok((out, true));
    }
    let meta = match std::fs::metadata(&abs_entry) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(InputError::Missing),
        Err(e) => return Err(Error::io(&abs_entry, e).into()),
    };
    if meta.is_file() {
        return Ok((vec![(rel_display(&abs_entry), abs_entry, FileStat::of(&meta))], false));
    }
    let mut out = Vec::new();
    walk(&abs_entry, &mut |p, stat| out.push((rel_display(p), p.to_path_buf(), stat)))?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((out, true))
}

/// All files at or below `path` (following symbolic links, so a dataset
/// can be linked into the project).
fn walk(path: &Path, visit: &mut dyn FnMut(&Path, FileStat)) -> std::result::Result<(), InputError> {
    for item in walkdir::WalkDir::new(path).follow_links(true) {
        let item = item.map_err(|e| {
            let p = e.path().map(Path::to_path_buf).unwrap_or_else(|| path.to_path_buf());
            match e.into_io_error() {
                Some(io) => InputError::Other(Error::io(p, io)),
                None => InputError::Other(Error::io(p, std::io::Error::other("symbolic link loop"))),
            }
        })?;
        if item.file_type().is_file() {
            let meta = item.metadata().map_err(|e| {
                InputError::Other(Error::io(
                    item.path(),
                    e.into_io_error().unwrap_or_else(|| std::io::Error::other("stat failed")),
                ))
            })?;
            visit(item.path(), FileStat::of(&meta));
        }
    }
    Ok(())
}

/// Resolves and hashes a path entry.
pub(crate) fn resolve_path_entry(
    root: &Path,
    entry: &str,
    stats: &StatCache,
) -> std::result::Result<ResolvedInput, InputError> {
    let (listed, is_tree) = list_files(root, entry)?;
    let pairs: Vec<(PathBuf, FileStat)> = listed.iter().map(|(_, p, s)| (p.clone(), *s)).collect();
    let hashes = stats.hashes(&pairs)?;
    let base = root.join(entry);
    let files: Vec<InputFile> = listed
        .into_iter()
        .zip(hashes)
        .map(|((display, path, stat), hash)| InputFile { display, path, hash, size: stat.size })
        .collect();
    if !is_tree {
        let hash = files[0].hash;
        return Ok(ResolvedInput::Files { entry: entry.to_string(), files, hash, listing: None });
    }
    // Directory listings are relative to the directory (so the hash does not
    // depend on where the project lives); glob listings to the project.
    let mut listing = String::with_capacity(files.len() * 96);
    for f in &files {
        let name = if is_glob(entry) {
            f.display.clone()
        } else {
            f.path.strip_prefix(&base).map(|p| p.display().to_string()).unwrap_or_else(|_| f.display.clone())
        };
        listing.push_str(&f.hash.to_hex());
        listing.push_str("  ");
        listing.push_str(&name);
        listing.push('\n');
    }
    let hash = Fingerprint::of_bytes(listing.as_bytes());
    Ok(ResolvedInput::Files { entry: entry.to_string(), files, hash, listing: Some(listing) })
}

/// Differences between two listings (`hash  path` lines): modified, added,
/// removed paths.
pub(crate) fn diff_listings(old: &str, new: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let parse = |s: &str| -> std::collections::BTreeMap<String, String> {
        s.lines().filter_map(|l| l.split_once("  ")).map(|(h, p)| (p.to_string(), h.to_string())).collect()
    };
    let (old, new) = (parse(old), parse(new));
    let mut modified = Vec::new();
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for (path, hash) in &new {
        match old.get(path) {
            None => added.push(path.clone()),
            Some(h) if h != hash => modified.push(path.clone()),
            _ => {}
        }
    }
    for path in old.keys() {
        if !new.contains_key(path) {
            removed.push(path.clone());
        }
    }
    (modified, added, removed)
}

/// Hash of a directory this process just wrote (a stage's work directory):
/// the listing of every file below it except `skip`, hashed in parallel
/// without the stat cache (the directory is about to be renamed).
pub(crate) fn hash_new_tree(dir: &Path, skip: &str) -> Result<(Fingerprint, String)> {
    use rayon::prelude::*;
    let mut files = Vec::new();
    for item in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let item = item
            .map_err(|e| Error::io(dir, e.into_io_error().unwrap_or_else(|| std::io::Error::other("walk failed"))))?;
        if item.file_type().is_file() {
            let rel = item.path().strip_prefix(dir).map(|p| p.display().to_string()).unwrap_or_default();
            if rel != skip {
                files.push((rel, item.path().to_path_buf()));
            }
        }
    }
    files.sort();
    let hashes: Vec<Fingerprint> = files
        .par_iter()
        .map(|(_, p)| actionbench_core::hash_file(p).map_err(|e| Error::io(p, e)))
        .collect::<Result<_>>()?;
    let mut listing = String::new();
    for ((rel, _), h) in files.iter().zip(hashes) {
        listing.push_str(&format!("{}  {rel}\n", h.to_hex()));
    }
    Ok((Fingerprint::of_bytes(listing.as_bytes()), listing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_diff() {
        let old = "aa  x\nbb  y\ncc  z\n";
        let new = "aa  x\nbd  y\ndd  w\n";
        let (m, a, r) = diff_listings(old, new);
        assert_eq!((m, a, r), (vec!["y".to_string()], vec!["w".to_string()], vec!["z".to_string()]));
    }

    #[test]
    fn dir_glob_and_file_entries() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("d/sub")).unwrap();
        std::fs::write(root.join("d/a.csv"), "1").unwrap();
        std::fs::write(root.join("d/sub/b.csv"), "2").unwrap();
        std::fs::write(root.join("d/c.txt"), "3").unwrap();
        let stats = StatCache::load(&root.join("s.bin"));
        let ResolvedInput::Files { files, listing, .. } = resolve_path_entry(root, "d", &stats).unwrap() else {
            panic!()
        };
        assert_eq!(files.iter().map(|f| f.display.as_str()).collect::<Vec<_>>(), ["d/a.csv", "d/c.txt", "d/sub/b.csv"]);
        assert!(listing.unwrap().contains("  sub/b.csv\n"));
        let ResolvedInput::Files { files, .. } = resolve_path_entry(root, "d/*.csv", &stats).unwrap() else { panic!() };
        assert_eq!(files.len(), 1);
        let ResolvedInput::Files { hash, listing, .. } = resolve_path_entry(root, "d/c.txt", &stats).unwrap() else {
            panic!()
        };
        assert_eq!(hash, Fingerprint::of_bytes(b"3"));
        assert!(listing.is_none());
        assert!(matches!(resolve_path_entry(root, "nope", &stats), Err(InputError::Missing)));
        assert!(matches!(resolve_path_entry(root, "d/*.mp4", &stats), Err(InputError::NoMatch)));
    }
}
