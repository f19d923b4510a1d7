//! Resolving `inputs` / `deps` entries (files, directories, globs, `@stage`
//! outputs) to files and content hashes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use actionbench_core::Fingerprint;

use rayon::prelude::*;

use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::snapshot::{FileStat, Found, render_listing, walk, walk_order, walk_within};

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
        /// The files, sorted by path. Always filled for a running stage;
        /// left empty when only the hash was asked for (`status`).
        files: Vec<InputFile>,
        /// Content hash of the entry: the file's hash for a single file,
        /// the hash of the sorted `hash  path` listing otherwise.
        hash: Fingerprint,
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
    /// A symbolic link under the project root leads outside it.
    Escapes {
        link: PathBuf,
        target: PathBuf,
    },
    Other(Error),
}

impl From<Error> for InputError {
    fn from(e: Error) -> Self {
        match e {
            Error::LinkEscapes { link, target } => InputError::Escapes { link, target },
            e => InputError::Other(e),
        }
    }
}

/// The canonical project root, when `path` is inside the project: files
/// there are confined to it (a symbolic link out of the project is an
/// error), while data named by an absolute path elsewhere is not.
fn confinement(root: &Path, path: &Path) -> Result<Option<PathBuf>> {
    if !path.starts_with(root) {
        return Ok(None);
    }
    std::fs::canonicalize(root).map(Some).map_err(|e| Error::io(root, e))
}

/// The first symbolic link on the way from `root` to `path` (inside the
/// project) that leads outside `confine`.
pub(crate) fn escaping_link(root: &Path, path: &Path, confine: &Path) -> Result<()> {
    let Ok(rel) = path.strip_prefix(root) else { return Ok(()) };
    let mut at = root.to_path_buf();
    for part in rel.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => crate::snapshot::check_link(&at, confine)?,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

pub(crate) fn is_glob(entry: &str) -> bool {
    entry.contains(['*', '?', '['])
}

/// The absolute glob pattern of a (relative or absolute) glob entry.
pub(crate) fn glob_pattern(root: &Path, entry: &str) -> String {
    if Path::new(entry).is_absolute() {
        entry.to_string()
    } else {
        format!("{}/{}", glob::Pattern::escape(&root.display().to_string()), entry)
    }
}

/// The files of a path entry in walk order, the directory their `rel` paths
/// are relative to, and whether the entry is a tree (directory or glob)
/// rather than one file. The base is the directory itself for a directory
/// entry, the project root for a glob (whose files outside the project keep
/// absolute paths), and the parent directory for a file entry.
pub(crate) fn list_files(root: &Path, entry: &str) -> std::result::Result<(Vec<Found>, PathBuf, bool), InputError> {
    let abs_entry = root.join(entry);
    if is_glob(entry) {
        let paths = glob::glob(&glob_pattern(root, entry)).map_err(|e| InputError::BadGlob(e.to_string()))?;
        let mut out = Vec::new();
        for path in paths {
            let path = path.map_err(|e| {
                let p = e.path().to_path_buf();
                InputError::Other(Error::io(p, e.into()))
            })?;
            let rel = path.strip_prefix(root).unwrap_or(&path).display().to_string();
            let confine = confinement(root, &path)?;
            if let Some(c) = &confine {
                escaping_link(root, &path, c)?;
            }
            let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
            if meta.is_dir() {
                let found = match &confine {
                    Some(c) => walk_within(&path, c)?,
                    None => walk(&path)?,
                };
                out.extend(found.into_iter().map(|f| Found { rel: format!("{rel}/{}", f.rel), ..f }));
            } else if meta.is_file() {
                out.push(Found { rel, stat: FileStat::of(&meta) });
            }
        }
        if out.is_empty() {
            return Err(InputError::NoMatch);
        }
        out.sort_unstable_by(|a, b| walk_order(&a.rel, &b.rel));
        out.dedup_by(|a, b| a.rel == b.rel);
        return Ok((out, root.to_path_buf(), true));
    }
    let confine = confinement(root, &abs_entry)?;
    if let Some(c) = &confine {
        escaping_link(root, &abs_entry, c)?;
    }
    let meta = match std::fs::metadata(&abs_entry) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(InputError::Missing),
        Err(e) => return Err(Error::io(&abs_entry, e).into()),
    };
    if meta.is_file() {
        let rel = abs_entry.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let base = abs_entry.parent().map(Path::to_path_buf).unwrap_or_default();
        return Ok((vec![Found { rel, stat: FileStat::of(&meta) }], base, false));
    }
    let found = match &confine {
        Some(c) => walk_within(&abs_entry, c)?,
        None => walk(&abs_entry)?,
    };
    Ok((found, abs_entry, true))
}

/// Resolves and hashes a path entry. With `detail`, fills in the files
/// (stages need them); without, only the hash is computed (`status`).
pub(crate) fn resolve_path_entry(
    root: &Path,
    entry: &str,
    cache: &Cache,
    detail: bool,
) -> std::result::Result<ResolvedInput, InputError> {
    let id = root.join(entry).display().to_string();
    // Read the old snapshot while the walk runs.
    let (listed, snapshot) = rayon::join(|| list_files(root, entry), || cache.snapshots().read(&id));
    let (found, base, is_tree) = listed?;
    let hashed = cache.snapshots().hash(&id, &base, &found, &snapshot)?;
    let hash = if is_tree { hashed.tree_hash } else { hashed.hashes[0] };
    if is_tree && let Some(listing) = &hashed.listing {
        cache.save_listing(&hash, listing)?;
    }
    let files = if detail {
        found
            .iter()
            .zip(hashed.hashes)
            .map(|(f, hash)| {
                let path = base.join(&f.rel);
                let display = path.strip_prefix(root).unwrap_or(&path).display().to_string();
                InputFile { display, path, hash, size: f.stat.size }
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(ResolvedInput::Files { entry: entry.to_string(), files, hash })
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
/// without snapshots (the directory is about to be renamed). Files in
/// `known` (hashes the stage reported) whose stat is unchanged are not
/// read again.
pub(crate) fn hash_new_tree(
    dir: &Path,
    skip: &str,
    known: &HashMap<PathBuf, (Fingerprint, FileStat)>,
) -> Result<(Fingerprint, String)> {
    let found: Vec<Found> = walk(dir)?.into_iter().filter(|f| f.rel != skip).collect();
    let hashes: Vec<Fingerprint> = found
        .par_iter()
        .map(|f| {
            let path = dir.join(&f.rel);
            match known.get(&path) {
                Some((hash, stat)) if *stat == f.stat => Ok(*hash),
                _ => actionbench_core::hash_file(&path).map_err(|e| Error::io(&path, e)),
            }
        })
        .collect::<Result<_>>()?;
    let listing = render_listing(found.iter().map(|f| f.rel.as_str()).zip(hashes.iter()));
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
        let cache = Cache::open(&root.join("cache")).unwrap();
        let files = |entry: &str| match resolve_path_entry(root, entry, &cache, true) {
            Ok(ResolvedInput::Files { files, hash, .. }) => {
                (files.into_iter().map(|f| f.display).collect::<Vec<_>>(), hash)
            }
            other => panic!("{other:?}"),
        };
        let (shown, hash) = files("d");
        assert_eq!(shown, ["d/a.csv", "d/c.txt", "d/sub/b.csv"]);
        assert!(cache.load_listing(&hash).unwrap().contains("  sub/b.csv\n"), "the listing is saved for diffs");
        assert_eq!(files("d/*.csv").0, ["d/a.csv"]);
        assert_eq!(files("d/c.txt"), (vec!["d/c.txt".to_string()], Fingerprint::of_bytes(b"3")));
        assert!(matches!(resolve_path_entry(root, "nope", &cache, false), Err(InputError::Missing)));
        assert!(matches!(resolve_path_entry(root, "d/*.mp4", &cache, false), Err(InputError::NoMatch)));
    }
}
