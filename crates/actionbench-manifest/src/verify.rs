//! `actionbench manifest verify NAME --root DIR`: do the source files on
//! this machine match the manifest? How a collaborator checks they hold
//! the dataset a paper used.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::read::Manifest;

/// A source file that is not as the manifest says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "lowercase")]
pub enum SourceProblem {
    /// Not there.
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// There, with other content.
    Differs {
        /// The file.
        path: PathBuf,
        /// Its blake3 in the manifest.
        expected: String,
        /// Its blake3 here.
        found: String,
    },
}

/// A manifest column as text (an error when it has no such column).
pub(crate) fn strings(batch: &arrow::array::RecordBatch, name: &str) -> Result<Vec<String>> {
    crate::read::text_column(batch, name)
        .ok_or_else(|| Error::data("Reading the manifest", format!("no text column `{name}`")))
}

/// Re-hashes every source file of `manifest`, each root found in `roots`
/// (name → directory) or else where it was when published. Returns the
/// files that are missing or differ, and how many files were checked.
pub fn verify_sources(manifest: &Manifest, roots: &BTreeMap<String, PathBuf>) -> Result<(Vec<SourceProblem>, usize)> {
    let mut files: BTreeSet<(String, String, String)> = BTreeSet::new();
    for batch in manifest.batches()? {
        let (root, path, hash) = (strings(&batch, "root")?, strings(&batch, "path")?, strings(&batch, "blake3")?);
        for i in 0..batch.num_rows() {
            files.insert((root[i].clone(), path[i].clone(), hash[i].clone()));
        }
    }
    let mut problems = Vec::new();
    for (root, rel, expected) in &files {
        let base = match roots.get(root) {
            Some(dir) => dir.clone(),
            None => match manifest.meta.roots.get(root) {
                Some(dir) => PathBuf::from(dir),
                None => {
                    return Err(Error::invalid(
                        format!("The manifest names data root `{root}`, which `--root` does not give"),
                        format!("Pass `--root {root}=DIR`"),
                    ));
                }
            },
        };
        let path = base.join(Path::new(rel));
        if !path.is_file() {
            problems.push(SourceProblem::Missing { path });
            continue;
        }
        let found = actionbench_core::hash_file(&path).map_err(|e| Error::io(&path, e))?.to_hex();
        if &found != expected {
            problems.push(SourceProblem::Differs { path, expected: expected.clone(), found });
        }
    }
    Ok((problems, files.len()))
}
