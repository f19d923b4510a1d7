//! Reading published manifests, with their hashes checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use actionbench_core::Fingerprint;
use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use crate::MANIFESTS_DIR;
use crate::error::{Error, Result};

/// The stage a manifest was published from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Producer {
    /// The pipeline.
    pub pipeline: String,
    /// The stage.
    pub stage: String,
    /// Its kind.
    pub kind: String,
    /// Its key.
    pub key: String,
    /// blake3 of the pipeline's lock file when it was published.
    pub lock_blake3: String,
}

/// `manifests/NAME/vN.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ManifestMeta {
    /// The manifest's name.
    pub name: String,
    /// Its version (1, 2, ...).
    pub version: u32,
    /// The version it follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u32>,
    /// Why it was published.
    #[serde(default)]
    pub message: String,
    /// When (UTC).
    pub created: String,
    /// Free text the user gives (`--description`), kept from the parent.
    #[serde(default)]
    pub description: String,
    /// The licence of the data (`--licence`), kept from the parent.
    #[serde(default)]
    pub licence: String,
    /// How to cite it (`--citation`), kept from the parent.
    #[serde(default)]
    pub citation: String,
    /// Where it came from.
    pub producer: Producer,
    /// The Parquet file, beside this one.
    pub parquet: String,
    /// Its blake3.
    pub parquet_blake3: String,
    /// Its SHA-256 (Croissant names files by it).
    pub parquet_sha256: String,
    /// Samples.
    pub rows: u64,
    /// Data roots: name → the directory it was at when published.
    pub roots: BTreeMap<String, String>,
    /// Split column → value → samples.
    #[serde(default)]
    pub splits: BTreeMap<String, BTreeMap<String, u64>>,
    /// Label → samples.
    #[serde(default)]
    pub classes: BTreeMap<String, u64>,
    /// Column → Arrow type of the Parquet file.
    pub schema: BTreeMap<String, String>,
}

/// One line of `index.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct VersionEntry {
    /// The version.
    pub version: u32,
    /// When.
    pub created: String,
    /// Its message.
    #[serde(default)]
    pub message: String,
    /// Samples.
    pub rows: u64,
    /// blake3 of `vN.toml`.
    pub toml_blake3: String,
    /// blake3 of `vN.parquet`.
    pub parquet_blake3: String,
}

/// `manifests/NAME/index.toml`: every version, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ManifestIndex {
    /// The manifest's name.
    pub name: String,
    /// The versions.
    #[serde(default)]
    pub versions: Vec<VersionEntry>,
}

/// A published version, checked.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Its TOML.
    pub meta: ManifestMeta,
    /// Its Parquet file.
    pub parquet_path: PathBuf,
}

/// Splits `NAME@vN` (or `NAME@N`, or `NAME` for the latest version).
pub fn parse_pin(text: &str) -> Result<(String, Option<u32>)> {
    let bad = || {
        Error::invalid(
            format!("`{text}` does not name a manifest version"),
            "Write `NAME@vN` (a version), or `NAME` (the latest), e.g. `ntu60@v2`",
        )
    };
    match text.split_once('@') {
        None if valid_name(text) => Ok((text.to_string(), None)),
        None => Err(bad()),
        Some((name, v)) => {
            let n = v.strip_prefix('v').unwrap_or(v).parse::<u32>().map_err(|_| bad())?;
            if !valid_name(name) || n == 0 {
                return Err(bad());
            }
            Ok((name.to_string(), Some(n)))
        }
    }
}

/// Manifest names may use letters, digits, `-`, `_` and `.` (they become
/// directory and SQL table names).
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub(crate) fn manifest_dir(root: &Path, name: &str) -> PathBuf {
    root.join(MANIFESTS_DIR).join(name)
}

/// A column as text, nulls as empty strings (`None`: no such column, or
/// not castable to text).
pub(crate) fn text_column(batch: &RecordBatch, name: &str) -> Option<Vec<String>> {
    use arrow::array::{Array, AsArray};
    let col = arrow::compute::cast(batch.column_by_name(name)?, &arrow::datatypes::DataType::Utf8).ok()?;
    let col = col.as_string::<i32>();
    Some((0..col.len()).map(|i| if col.is_null(i) { String::new() } else { col.value(i).to_string() }).collect())
}

pub(crate) fn hash_of(path: &Path) -> Result<Fingerprint> {
    actionbench_core::hash_file(path).map_err(|e| Error::io(path, e))
}

/// The names of the project's manifests (directories with an `index.toml`).
pub fn manifest_names(root: &Path) -> Result<Vec<String>> {
    let dir = root.join(MANIFESTS_DIR);
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(out) };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&dir, e))?;
        if entry.path().join("index.toml").is_file() {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    Ok(out)
}

impl ManifestIndex {
    /// Reads `manifests/NAME/index.toml` (empty when there is none).
    pub fn read(root: &Path, name: &str) -> Result<Self> {
        let path = manifest_dir(root, name).join("index.toml");
        if !path.exists() {
            return Ok(Self { name: name.to_string(), versions: Vec::new() });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        toml::from_str(&text).map_err(|e| Error::Format { path, message: e.message().trim().to_string() })
    }

    /// The latest version.
    pub fn latest(&self) -> Option<u32> {
        self.versions.iter().map(|v| v.version).max()
    }
}

impl Manifest {
    /// Opens version `version` (the latest when `None`) of manifest `name`,
    /// checking the TOML against the index and the Parquet file against the
    /// TOML.
    pub fn open(root: &Path, name: &str, version: Option<u32>) -> Result<Self> {
        let index = ManifestIndex::read(root, name)?;
        let dir = manifest_dir(root, name);
        let Some(latest) = index.latest() else {
            let known = manifest_names(root)?;
            let hint = match actionbench_core::suggest::did_you_mean(name, known.iter().map(String::as_str)) {
                Some(close) => close,
                None if known.is_empty() => {
                    "Publish one with `actionbench manifest publish NAME --from PIPELINE.STAGE`".into()
                }
                None => format!("The manifests are: {}", known.join(", ")),
            };
            return Err(Error::invalid(
                format!("No manifest `{name}` in `{}`", root.join(MANIFESTS_DIR).display()),
                hint,
            ));
        };
        let version = version.unwrap_or(latest);
        let Some(entry) = index.versions.iter().find(|v| v.version == version) else {
            return Err(Error::invalid(
                format!("Manifest `{name}` has no version {version}"),
                format!("Its versions are v1 to v{latest} (`manifests/{name}/index.toml`)"),
            ));
        };
        let toml_path = dir.join(format!("v{version}.toml"));
        let found = hash_of(&toml_path)?;
        if found.to_hex() != entry.toml_blake3 {
            return Err(Error::Tampered {
                path: toml_path,
                expected: entry.toml_blake3.clone(),
                found: found.to_hex(),
            });
        }
        let text = std::fs::read_to_string(&toml_path).map_err(|e| Error::io(&toml_path, e))?;
        let meta: ManifestMeta = toml::from_str(&text)
            .map_err(|e| Error::Format { path: toml_path.clone(), message: e.message().trim().to_string() })?;
        let parquet_path = dir.join(&meta.parquet);
        let found = hash_of(&parquet_path)?;
        if found.to_hex() != meta.parquet_blake3 {
            return Err(Error::Tampered {
                path: parquet_path,
                expected: meta.parquet_blake3.clone(),
                found: found.to_hex(),
            });
        }
        Ok(Self { meta, parquet_path })
    }

    /// The `name@vN` this is.
    pub fn pin(&self) -> String {
        format!("{}@v{}", self.meta.name, self.meta.version)
    }

    /// Every row (the file was checked when opened).
    pub fn batches(&self) -> Result<Vec<RecordBatch>> {
        let path = &self.parquet_path;
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|e| Error::data(format!("Reading `{}`", path.display()), e))?;
        reader.collect::<Result<Vec<_>, _>>().map_err(|e| Error::data(format!("Reading `{}`", path.display()), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_and_bad_ones_say_how() {
        assert_eq!(parse_pin("ntu60@v2").unwrap(), ("ntu60".into(), Some(2)));
        assert_eq!(parse_pin("ntu60@3").unwrap(), ("ntu60".into(), Some(3)));
        assert_eq!(parse_pin("ntu60").unwrap(), ("ntu60".into(), None));
        for bad in ["ntu60@", "ntu60@vx", "ntu60@v0", "../x", "a b@v1"] {
            assert!(parse_pin(bad).unwrap_err().to_string().contains("does not name a manifest version"), "{bad}");
        }
    }
}
