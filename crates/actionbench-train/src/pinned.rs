//! `data = { manifest = "ntu60@v2", … }`: a `train` or `predict` stage
//! pinned to a published dataset manifest. Its rows are exactly the
//! manifest's samples (then the `filter`), and each one's source file must
//! be the one the manifest records, so the run uses the dataset a paper
//! cites or fails saying which sample differs.

use std::collections::HashMap;

use actionbench_manifest::Manifest;
use actionbench_pipeline::{ResolvedInput, StageContext};
use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::datatypes::DataType;

use crate::error::TrainError;
use actionbench_loader::Table;

/// The samples of a pinned manifest version.
pub(crate) struct Pinned {
    pin: String,
    /// sample id → blake3 of its source file.
    samples: HashMap<String, String>,
}

fn manifest_error(e: actionbench_manifest::Error) -> TrainError {
    let hint = actionbench_core::Diagnose::hint(&e).unwrap_or_default();
    TrainError::config(e.to_string(), hint)
}

fn text(batch: &RecordBatch, name: &str) -> Option<Vec<Option<String>>> {
    let col = arrow::compute::cast(batch.column_by_name(name)?, &DataType::Utf8).ok()?;
    let col = col.as_string::<i32>();
    Some((0..col.len()).map(|i| (!col.is_null(i)).then(|| col.value(i).to_string())).collect())
}

impl Pinned {
    /// Opens `pin` (`NAME@vN`; a version is required) from the project and
    /// checks that its Parquet file is one of the stage's `inputs`, so its
    /// content is part of the stage key.
    pub(crate) fn open(ctx: &StageContext<'_>, pin: &str) -> Result<Self, TrainError> {
        let (name, version) = actionbench_manifest::parse_pin(pin).map_err(manifest_error)?;
        let Some(version) = version else {
            return Err(TrainError::config(
                format!("`manifest = \"{pin}\"` names no version"),
                format!("pin one, e.g. `manifest = \"{name}@v1\"` (`actionbench manifest show {name}` lists them)"),
            ));
        };
        let manifest = Manifest::open(ctx.root, &name, Some(version)).map_err(manifest_error)?;
        let file = format!("{}/{name}/{}", actionbench_manifest::MANIFESTS_DIR, manifest.meta.parquet);
        let listed = ctx.inputs.iter().any(|i| match i {
            ResolvedInput::Files { entry, .. } => entry.trim_start_matches("./") == file,
            ResolvedInput::Stage { .. } => false,
        });
        if !listed {
            return Err(TrainError::config(
                format!("`manifest = \"{pin}\"`: `{file}` is not one of the stage's `inputs`"),
                format!("add \"{file}\" to `inputs`, so the manifest's content is part of the stage key"),
            ));
        }
        let mut samples = HashMap::new();
        for batch in manifest.batches().map_err(manifest_error)? {
            let (Some(ids), Some(hashes)) = (text(&batch, "sample_id"), text(&batch, "blake3")) else {
                return Err(TrainError::config(format!("`{file}` is not a manifest"), "publish it again"));
            };
            for (id, hash) in ids.into_iter().zip(hashes) {
                samples.insert(id.unwrap_or_default(), hash.unwrap_or_default());
            }
        }
        Ok(Self { pin: manifest.pin(), samples })
    }

    /// The rows of `table` that are the manifest's samples, after checking
    /// that every sample is there with the source file the manifest
    /// records.
    pub(crate) fn restrict(&self, table: &Table) -> Result<Table, TrainError> {
        let mut seen = std::collections::HashSet::new();
        let mut wrong: Option<String> = None;
        let kept = table.select(
            |batch| {
                let ids = text(batch, "sample_id").ok_or_else(|| actionbench_loader::LoaderError::Config {
                    message: format!("the table has no `sample_id` column to match manifest `{}`", self.pin),
                    hint: "pin a manifest published from this table's stage".into(),
                })?;
                let hashes = text(batch, "source_blake3");
                let mut mask = Vec::with_capacity(ids.len());
                for (i, id) in ids.iter().enumerate() {
                    let id = id.clone().unwrap_or_default();
                    let keep = match self.samples.get(&id) {
                        Some(expected) => {
                            let found = hashes.as_ref().and_then(|h| h[i].clone());
                            if found.as_ref().is_some_and(|f| f != expected) && wrong.is_none() {
                                wrong = Some(id.clone());
                            }
                            seen.insert(id);
                            true
                        }
                        None => false,
                    };
                    mask.push(keep);
                }
                Ok(BooleanArray::from(mask))
            },
            &format!("samples of {}", self.pin),
        )?;
        if let Some(id) = wrong {
            return Err(TrainError::config(
                format!("sample `{id}`'s source file is not the one manifest `{}` records", self.pin),
                format!(
                    "the data changed since it was published: `actionbench manifest verify {}` names the files",
                    self.pin
                ),
            ));
        }
        if seen.len() < self.samples.len() {
            let mut missing: Vec<&String> = self.samples.keys().filter(|k| !seen.contains(*k)).collect();
            missing.sort();
            return Err(TrainError::config(
                format!(
                    "{} samples of manifest `{}` are not in the stage's table (first: `{}`)",
                    missing.len(),
                    self.pin,
                    missing[0]
                ),
                "train from the stage the manifest was published from, on the same data",
            ));
        }
        Ok(kept)
    }
}
