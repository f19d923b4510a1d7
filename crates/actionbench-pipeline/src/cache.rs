//! The cache directory (`.actionbench/` by default):
//!
//! ```text
//! .actionbench/
//!   CACHEDIR.TAG          tells backup tools to skip it
//!   lock                  exclusive lock held by `actionbench run`
//!   v1/                   layout version: a new format gets a new directory
//!     stages/<key>/       published outputs of built-in stages (content-addressed)
//!     trees/<hash>.txt    listings of directory and glob inputs (for `status` diffs)
//!     journal/<id>/       backups of a command stage's outputs while it runs
//!     logs/<pipeline>/<stage>.log   output of the last run of a command stage
//!     tmp/                work directories, renamed into `stages/` when complete
//!     snapshots/<id>.bin  per input: every file's stat and hash (fast no-op checks)
//! ```

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actionbench_core::Fingerprint;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reporter::Reporter;
use crate::snapshot::Snapshots;

/// The cache directory of a project.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    layout: PathBuf,
    snapshots: Arc<Snapshots>,
}

/// Writes `bytes` to `path` atomically: a sibling temp file, fsync, rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(parent).map_err(|e| Error::io(parent, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    // Temp files are private (0600); what this writes (lock files, which
    // are committed and shared) gets the mode `std::fs::write` would give.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o644);
        tmp.as_file().set_permissions(mode).map_err(|e| Error::io(tmp.path(), e))?;
    }
    tmp.as_file().sync_all().map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Size in bytes of everything below `path`.
fn disk_usage(path: &Path) -> u64 {
    walkdir::WalkDir::new(path)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// Held while a run uses the cache; released on drop (and by the kernel if
/// the process dies, so a `kill -9` never leaves a stale lock).
pub struct CacheLock {
    _file: File,
}

/// What `gc` removed (or would remove, on a dry run).
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    /// Stage output directories removed.
    pub stage_outputs: usize,
    /// Input listings removed.
    pub listings: usize,
    /// Leftover work directories removed.
    pub temp_dirs: usize,
    /// Bytes freed.
    pub bytes: u64,
}

/// A command stage's journal: which outputs existed before it ran (now moved
/// aside), so an interrupted or failed run can be rolled back.
#[derive(Debug, Serialize, Deserialize)]
struct JournalManifest {
    root: PathBuf,
    outs: Vec<(String, bool)>,
    /// Backups sit beside each output as `.NAME.actionbench-prev-TAG`, on
    /// the output's own file system (a rename into a cache on another disk
    /// would fail). Journals written before this field keep their backups
    /// under the journal's `outs/`.
    #[serde(default)]
    backup_tag: Option<String>,
}

impl JournalManifest {
    /// Where the previous version of `out` is kept while the stage runs.
    fn backup(&self, dir: &Path, out: &str) -> PathBuf {
        let target = self.root.join(out);
        match (&self.backup_tag, target.file_name()) {
            (Some(tag), Some(name)) => {
                target.with_file_name(format!(".{}.actionbench-prev-{tag}", name.to_string_lossy()))
            }
            _ => dir.join("outs").join(out),
        }
    }
}

/// Backups of a command stage's outputs, taken before it runs.
pub(crate) struct Journal {
    dir: PathBuf,
    manifest: JournalManifest,
}

impl Cache {
    /// Opens (creating if needed) the cache at `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let layout = dir.join(format!("v{}", crate::CACHE_LAYOUT_VERSION));
        for sub in ["stages", "trees", "journal", "logs", "tmp", "snapshots"] {
            let d = layout.join(sub);
            std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
        }
        let tag = dir.join("CACHEDIR.TAG");
        if !tag.exists() {
            write_atomic(&tag, b"Signature: 8a477f597d28d172789f06886806bc55\n# This directory is the actionbench cache; see https://bford.info/cachedir/\n")?;
        }
        let snapshots = Arc::new(Snapshots::new(layout.join("snapshots")));
        Ok(Self { dir: dir.to_path_buf(), layout, snapshots })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A file of state the tools keep in this cache (inside its versioned
    /// layout, so a layout change starts it afresh).
    pub fn state_file(&self, name: &str) -> PathBuf {
        self.layout.join(name)
    }

    /// Where a built-in stage's published output lives.
    pub fn stage_dir(&self, key: &Fingerprint) -> PathBuf {
        self.layout.join("stages").join(key.to_hex())
    }

    /// Publishes a complete stage output, written into a [`Cache::work_dir`],
    /// under `key` in one rename. Returns false (and deletes `work`) when an
    /// output for `key` is already there: outputs of one key are equal, so
    /// the first one stays.
    pub fn publish_stage(&self, key: &Fingerprint, work: tempfile::TempDir) -> Result<bool> {
        let dir = self.stage_dir(key);
        if dir.is_dir() {
            return Ok(false);
        }
        let path = work.keep();
        match std::fs::rename(&path, &dir) {
            Ok(()) => Ok(true),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&path);
                if dir.is_dir() { Ok(false) } else { Err(Error::io(&dir, e)) }
            }
        }
    }

    /// Per-input snapshots (stat + hash of every file) for fast no-op checks.
    pub(crate) fn snapshots(&self) -> &Snapshots {
        &self.snapshots
    }

    pub(crate) fn log_path(&self, pipeline: &str, stage: &str) -> PathBuf {
        self.layout.join("logs").join(pipeline).join(format!("{stage}.log"))
    }

    /// A fresh work directory on the cache's file system (so the final
    /// rename is atomic). Deleted on drop unless kept. Only use it with the
    /// lock held: a run removes the work directories it finds.
    pub fn work_dir(&self) -> Result<tempfile::TempDir> {
        let tmp = self.layout.join("tmp");
        tempfile::Builder::new().prefix("stage-").tempdir_in(&tmp).map_err(|e| Error::io(&tmp, e))
    }

    /// Saves a directory or glob listing under its hash (once).
    pub(crate) fn save_listing(&self, hash: &Fingerprint, listing: &str) -> Result<()> {
        let path = self.layout.join("trees").join(format!("{}.txt", hash.to_hex()));
        if !path.exists() {
            write_atomic(&path, listing.as_bytes())?;
        }
        Ok(())
    }

    /// A listing saved by [`Cache::save_listing`], if still there.
    pub(crate) fn load_listing(&self, hash: &Fingerprint) -> Option<String> {
        std::fs::read_to_string(self.layout.join("trees").join(format!("{}.txt", hash.to_hex()))).ok()
    }

    fn open_lock_file(&self) -> Result<(File, PathBuf)> {
        let path = self.dir.join("lock");
        let file =
            File::options().create(true).truncate(false).write(true).open(&path).map_err(|e| Error::io(&path, e))?;
        Ok((file, path))
    }

    /// Takes the exclusive lock, waiting (and telling the reporter) if
    /// another run holds it.
    pub fn lock(&self, reporter: &dyn Reporter) -> Result<CacheLock> {
        let (file, path) = self.open_lock_file()?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                reporter.waiting_for_lock(&path);
                file.lock().map_err(|e| Error::io(&path, e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        Ok(CacheLock { _file: file })
    }

    /// Takes the lock if no run holds it.
    pub(crate) fn try_lock(&self) -> Result<Option<CacheLock>> {
        let (file, path) = self.open_lock_file()?;
        match file.try_lock() {
            Ok(()) => Ok(Some(CacheLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }

    /// Removes work directories left by a crashed run. Only call with the
    /// lock held: no other run is using them then.
    pub(crate) fn clear_work_dirs(&self) -> Result<usize> {
        let tmp = self.layout.join("tmp");
        let mut n = 0;
        for entry in std::fs::read_dir(&tmp).map_err(|e| Error::io(&tmp, e))? {
            let entry = entry.map_err(|e| Error::io(&tmp, e))?;
            let p = entry.path();
            let res = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
            res.map_err(|e| Error::io(&p, e))?;
            n += 1;
        }
        Ok(n)
    }

    fn journal_dir(&self, root: &Path, pipeline: &str, stage: &str) -> PathBuf {
        let id = Fingerprint::of_bytes(format!("{}\0{pipeline}\0{stage}", root.display()).as_bytes());
        self.layout.join("journal").join(format!("{pipeline}.{stage}.{}", &id.to_hex()[..16]))
    }

    /// Moves a command stage's existing outputs into a journal, so that the
    /// previous complete output survives a failing or interrupted run.
    pub(crate) fn begin_journal(&self, root: &Path, pipeline: &str, stage: &str, outs: &[String]) -> Result<Journal> {
        let dir = self.journal_dir(root, pipeline, stage);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let outs: Vec<(String, bool)> =
            outs.iter().map(|o| (o.clone(), std::fs::symlink_metadata(root.join(o)).is_ok())).collect();
        let tag =
            dir.file_name().and_then(|n| n.to_str()).and_then(|n| n.rsplit('.').next()).unwrap_or("0").to_string();
        let manifest = JournalManifest { root: root.to_path_buf(), outs, backup_tag: Some(tag) };
        // The manifest is on disk before anything moves: recovery can always
        // tell what to put back.
        let json = serde_json::to_vec(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
        write_atomic(&dir.join("manifest.json"), &json)?;
        for (out, existed) in &manifest.outs {
            if *existed {
                let to = manifest.backup(&dir, out);
                let from = root.join(out);
                // A backup left by a crash between commit and clean-up.
                remove_any(&to).map_err(|e| Error::io(&to, e))?;
                std::fs::rename(&from, &to).map_err(|e| Error::io(&from, e))?;
            }
        }
        Ok(Journal { dir, manifest })
    }

    /// Rolls back every journal of `root` left by an interrupted run.
    pub(crate) fn recover_journals(&self, root: &Path) -> Result<usize> {
        let jdir = self.layout.join("journal");
        let mut n = 0;
        for entry in std::fs::read_dir(&jdir).map_err(|e| Error::io(&jdir, e))? {
            let dir = entry.map_err(|e| Error::io(&jdir, e))?.path();
            if dir.extension().is_some_and(|e| e == "done") {
                // Committed: only the clean-up was cut short.
                let manifest = std::fs::read(dir.join("manifest.json"))
                    .ok()
                    .and_then(|b| serde_json::from_slice::<JournalManifest>(&b).ok());
                match manifest {
                    Some(manifest) if manifest.root == root => Journal { dir, manifest }.remove_backups()?,
                    // Another project's, sharing this cache: its next run cleans it.
                    Some(_) => {}
                    None => std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?,
                }
                continue;
            }
            let Ok(bytes) = std::fs::read(dir.join("manifest.json")) else {
                // Crashed before the manifest was written: nothing moved yet.
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                continue;
            };
            let manifest: JournalManifest = serde_json::from_slice(&bytes)
                .map_err(|e| Error::Internal(format!("journal {}: {e}", dir.display())))?;
            if manifest.root != root {
                continue;
            }
            Journal { dir, manifest }.rollback()?;
            n += 1;
        }
        Ok(n)
    }
}

fn remove_any(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

impl Journal {
    /// The run succeeded: drop the backups. The journal is first renamed to
    /// `*.done` in one step, so a crash while deleting never restores them
    /// over the new outputs.
    pub(crate) fn commit(self) -> Result<()> {
        let done = self.dir.with_extension("done");
        if done.exists() {
            std::fs::remove_dir_all(&done).map_err(|e| Error::io(&done, e))?;
        }
        std::fs::rename(&self.dir, &done).map_err(|e| Error::io(&self.dir, e))?;
        Journal { dir: done, manifest: self.manifest }.remove_backups()
    }

    /// After a commit: delete the previous outputs, then the journal.
    fn remove_backups(self) -> Result<()> {
        for (out, existed) in &self.manifest.outs {
            if *existed {
                let saved = self.manifest.backup(&self.dir, out);
                remove_any(&saved).map_err(|e| Error::io(&saved, e))?;
            }
        }
        std::fs::remove_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))
    }

    /// The run failed or was interrupted: remove what it wrote and put the
    /// previous outputs back. Idempotent, so a crash during rollback is
    /// finished by the next recovery.
    pub(crate) fn rollback(self) -> Result<()> {
        let root = &self.manifest.root;
        for (out, existed) in &self.manifest.outs {
            let target = root.join(out);
            let saved = self.manifest.backup(&self.dir, out);
            if *existed {
                if std::fs::symlink_metadata(&saved).is_ok() {
                    remove_any(&target).map_err(|e| Error::io(&target, e))?;
                    std::fs::rename(&saved, &target).map_err(|e| Error::io(&saved, e))?;
                }
            } else {
                remove_any(&target).map_err(|e| Error::io(&target, e))?;
            }
        }
        std::fs::remove_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))
    }
}

/// How long the parts of a partitioned stage may sit unchanged before `gc`
/// calls them abandoned.
const PARTS_IDLE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The latest modification time of `dir` and what it holds.
fn newest_mtime(dir: &Path) -> Option<std::time::SystemTime> {
    walkdir::WalkDir::new(dir).into_iter().filter_map(|e| e.ok()?.metadata().ok()?.modified().ok()).max()
}

impl Cache {
    /// Removes stage outputs and listings that no lock file of the project
    /// refers to, and leftover work directories.
    pub fn gc(
        &self,
        keep_keys: &HashSet<Fingerprint>,
        keep_listings: &HashSet<Fingerprint>,
        dry_run: bool,
    ) -> Result<GcReport> {
        let mut report = GcReport::default();
        let remove = |path: &Path, report: &mut GcReport| -> Result<()> {
            report.bytes += disk_usage(path);
            if !dry_run {
                remove_any(path).map_err(|e| Error::io(path, e))?;
            }
            Ok(())
        };
        let stages = self.layout.join("stages");
        for entry in std::fs::read_dir(&stages).map_err(|e| Error::io(&stages, e))? {
            let p = entry.map_err(|e| Error::io(&stages, e))?.path();
            let keep = p
                .file_name()
                .and_then(|n| Fingerprint::from_hex(&n.to_string_lossy()))
                .is_some_and(|k| keep_keys.contains(&k));
            if !keep {
                remove(&p, &mut report)?;
                report.stage_outputs += 1;
            }
        }
        let trees = self.layout.join("trees");
        for entry in std::fs::read_dir(&trees).map_err(|e| Error::io(&trees, e))? {
            let p = entry.map_err(|e| Error::io(&trees, e))?.path();
            let keep = p
                .file_stem()
                .and_then(|n| Fingerprint::from_hex(&n.to_string_lossy()))
                .is_some_and(|k| keep_listings.contains(&k));
            if !keep {
                remove(&p, &mut report)?;
                report.listings += 1;
            }
        }
        let tmp = self.layout.join("tmp");
        for entry in std::fs::read_dir(&tmp).map_err(|e| Error::io(&tmp, e))? {
            let p = entry.map_err(|e| Error::io(&tmp, e))?.path();
            remove(&p, &mut report)?;
            report.temp_dirs += 1;
        }
        // Parts of partitioned stages wait here for their merge. Those of
        // an output that is published (a merge cut short before cleaning
        // up) or untouched for a day (a run given up) are left over; parts
        // still being written by array tasks, which take no lock, are not.
        let parts = self.layout.join("parts");
        if parts.is_dir() {
            for entry in std::fs::read_dir(&parts).map_err(|e| Error::io(&parts, e))? {
                let p = entry.map_err(|e| Error::io(&parts, e))?.path();
                let published = p
                    .file_name()
                    .and_then(|n| Fingerprint::from_hex(&n.to_string_lossy()))
                    .is_some_and(|k| self.stage_dir(&k).is_dir());
                let idle = newest_mtime(&p).is_some_and(|t| t.elapsed().is_ok_and(|age| age > PARTS_IDLE));
                if published || idle {
                    remove(&p, &mut report)?;
                    report.temp_dirs += 1;
                }
            }
        }
        Ok(report)
    }
}
