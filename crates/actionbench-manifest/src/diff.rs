//! `actionbench manifest diff NAME vA vB`: samples added, removed and
//! changed (label, split, content). [`diff_sql`] is the SQL join that gives
//! the same rows (a test checks they agree).

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::read::Manifest;
use crate::verify::strings;

/// One sample that differs between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The sample.
    pub sample_id: String,
    /// `added`, `removed` or `changed`.
    pub change: String,
    /// For `changed`: what differs, among `label`, `split:COLUMN`, `content`.
    pub what: Vec<String>,
}

/// Every difference between two versions, by sample id.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestDiff {
    /// `name@vA`.
    pub a: String,
    /// `name@vB`.
    pub b: String,
    /// The samples that differ, sorted by id.
    pub changes: Vec<Change>,
}

/// What a diff compares of one sample.
#[derive(PartialEq)]
struct Facts {
    label: Option<i64>,
    splits: BTreeMap<String, String>,
    blake3: String,
}

/// The split columns of a manifest (between `label` and `root`).
fn split_columns(m: &Manifest) -> Vec<String> {
    m.meta.schema.keys().filter(|c| !crate::FIXED_COLUMNS.contains(&c.as_str())).cloned().collect()
}

fn facts(m: &Manifest, splits: &[String]) -> Result<BTreeMap<String, Facts>> {
    let mut out = BTreeMap::new();
    for batch in m.batches()? {
        let ids = strings(&batch, "sample_id")?;
        let hashes = strings(&batch, "blake3")?;
        let labels = batch
            .column_by_name("label")
            .map(|c| arrow::compute::cast(c, &DataType::Int64))
            .transpose()
            .map_err(|e| Error::data("Reading the manifest", e))?;
        let split_values: Vec<Vec<String>> = splits.iter().map(|s| strings(&batch, s)).collect::<Result<_>>()?;
        for i in 0..batch.num_rows() {
            let label = labels.as_ref().and_then(|l| {
                let l = l.as_primitive::<arrow::datatypes::Int64Type>();
                (!l.is_null(i)).then(|| l.value(i))
            });
            let splits = splits.iter().zip(&split_values).map(|(s, v)| (s.clone(), v[i].clone())).collect();
            out.insert(ids[i].clone(), Facts { label, splits, blake3: hashes[i].clone() });
        }
    }
    Ok(out)
}

/// The differences between versions `a` and `b` (split columns compared
/// where both versions have them).
pub fn diff(a: &Manifest, b: &Manifest) -> Result<ManifestDiff> {
    let splits: Vec<String> = split_columns(a).into_iter().filter(|s| split_columns(b).contains(s)).collect();
    let (fa, fb) = (facts(a, &splits)?, facts(b, &splits)?);
    let mut changes = Vec::new();
    let ids: std::collections::BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    for id in ids {
        let change = |kind: &str, what: Vec<String>| Change { sample_id: id.clone(), change: kind.into(), what };
        match (fa.get(id), fb.get(id)) {
            (None, Some(_)) => changes.push(change("added", Vec::new())),
            (Some(_), None) => changes.push(change("removed", Vec::new())),
            (Some(x), Some(y)) if x != y => {
                let mut what = Vec::new();
                if x.label != y.label {
                    what.push("label".to_string());
                }
                for s in &splits {
                    if x.splits.get(s) != y.splits.get(s) {
                        what.push(format!("split:{s}"));
                    }
                }
                if x.blake3 != y.blake3 {
                    what.push("content".to_string());
                }
                changes.push(change("changed", what));
            }
            _ => {}
        }
    }
    Ok(ManifestDiff { a: a.pin(), b: b.pin(), changes })
}

/// The SQL (over `manifests."NAME@vN"`) whose rows are the same samples
/// and kinds of change as [`diff`].
pub fn diff_sql(a: &Manifest, b: &Manifest) -> String {
    let splits: Vec<String> = split_columns(a).into_iter().filter(|s| split_columns(b).contains(s)).collect();
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut differs = vec!["(a.label IS DISTINCT FROM b.label)".to_string(), "(a.blake3 <> b.blake3)".to_string()];
    differs.extend(splits.iter().map(|s| format!("(a.{c} IS DISTINCT FROM b.{c})", c = q(s))));
    format!(
        "SELECT coalesce(a.sample_id, b.sample_id) AS sample_id, \
         CASE WHEN a.sample_id IS NULL THEN 'added' WHEN b.sample_id IS NULL THEN 'removed' ELSE 'changed' END AS change, \
         a.label AS label_a, b.label AS label_b, a.blake3 AS blake3_a, b.blake3 AS blake3_b \
         FROM manifests.{} a FULL OUTER JOIN manifests.{} b ON a.sample_id = b.sample_id \
         WHERE a.sample_id IS NULL OR b.sample_id IS NULL OR {} ORDER BY 1",
        q(&a.pin()),
        q(&b.pin()),
        differs.join(" OR ")
    )
}
