//! Score tables in Parquet (see [`crate::scores`] for the column roles).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, Result};
use crate::scores::{ID_COLUMNS, LABEL_COLUMN, ScoreTable};

fn is_list(t: &DataType) -> bool {
    matches!(t, DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _))
}

fn is_numeric(t: &DataType) -> bool {
    t.is_numeric()
}

/// How the columns of the file are used.
struct Plan {
    id: Option<usize>,
    label: Option<usize>,
    /// A list column holding all scores of a row.
    list: Option<usize>,
    /// Otherwise, one numeric column per class.
    columns: Vec<usize>,
}

fn plan(path: &Path, fields: &[Arc<Field>]) -> Result<Plan> {
    let lower: Vec<String> = fields.iter().map(|f| f.name().to_ascii_lowercase()).collect();
    let find = |pred: &dyn Fn(usize) -> bool, what: &str| -> Result<Option<usize>> {
        let hits: Vec<usize> = (0..fields.len()).filter(|&i| pred(i)).collect();
        match hits.as_slice() {
            [] => Ok(None),
            [i] => Ok(Some(*i)),
            _ => Err(Error::file(path, format!("more than one {what} column"))),
        }
    };
    let id = find(&|i| ID_COLUMNS.contains(&lower[i].as_str()), "id")?;
    let label = find(&|i| lower[i] == LABEL_COLUMN, "label")?;
    let lists: Vec<usize> =
        (0..fields.len()).filter(|&i| Some(i) != id && Some(i) != label && is_list(fields[i].data_type())).collect();
    let list = match lists.as_slice() {
        [] => None,
        [i] => Some(*i),
        _ => Some(
            lists
                .iter()
                .copied()
                .find(|&i| lower[i] == "scores")
                .ok_or_else(|| Error::file(path, "several list columns and none is named `scores`"))?,
        ),
    };
    let mut columns = Vec::new();
    if list.is_none() {
        for (i, f) in fields.iter().enumerate() {
            if Some(i) == id || Some(i) == label {
                continue;
            }
            if !is_numeric(f.data_type()) {
                return Err(Error::file(
                    path,
                    format!("column `{}` has type {}; expected numbers (a class score)", f.name(), f.data_type()),
                )
                .with_hint(format!("Name the sample-id column one of {}", ID_COLUMNS.join(", "))));
            }
            columns.push(i);
        }
        if columns.is_empty() {
            return Err(Error::file(path, "no score column found"));
        }
    }
    Ok(Plan { id, label, list, columns })
}

fn arrow_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::file(path, e.to_string())
}

fn null_error(path: &Path, column: &str, row: usize) -> Error {
    Error::file(path, format!("column `{column}` is null in row {row}"))
}

/// Reads a Parquet score table.
pub fn read_scores_parquet(path: &Path) -> Result<ScoreTable> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| arrow_error(path, e))?;
    let schema = builder.schema().clone();
    let fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
    let plan = plan(path, &fields)?;
    let reader = builder.build().map_err(|e| arrow_error(path, e))?;

    let mut ids = Vec::new();
    let mut labels = Vec::new();
    let mut scores = Vec::new();
    let mut classes: Option<usize> = None;
    let mut row0 = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| arrow_error(path, e))?;
        let n = batch.num_rows();
        if let Some(c) = plan.id {
            let col = cast(batch.column(c), &DataType::Utf8).map_err(|e| arrow_error(path, e))?;
            let col = col.as_string::<i32>();
            for r in 0..n {
                if col.is_null(r) {
                    return Err(null_error(path, fields[c].name(), row0 + r));
                }
                ids.push(col.value(r).to_string());
            }
        }
        if let Some(c) = plan.label {
            let col = cast(batch.column(c), &DataType::Int64).map_err(|e| arrow_error(path, e))?;
            let col = col.as_primitive::<Int64Type>();
            for r in 0..n {
                if col.is_null(r) {
                    return Err(null_error(path, fields[c].name(), row0 + r));
                }
                labels.push(col.value(r));
            }
        }
        if let Some(c) = plan.list {
            list_scores(path, fields[c].name(), batch.column(c), row0, &mut classes, &mut scores)?;
        } else {
            let cols: Vec<ArrayRef> = plan
                .columns
                .iter()
                .map(|&c| cast(batch.column(c), &DataType::Float64))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| arrow_error(path, e))?;
            classes = Some(cols.len());
            for r in 0..n {
                for (k, col) in cols.iter().enumerate() {
                    let col = col.as_primitive::<Float64Type>();
                    if col.is_null(r) {
                        return Err(null_error(path, fields[plan.columns[k]].name(), row0 + r));
                    }
                    scores.push(finite(path, fields[plan.columns[k]].name(), row0 + r, col.value(r))?);
                }
            }
        }
        row0 += n;
    }
    let classes = classes.unwrap_or(0);
    if row0 == 0 || classes == 0 {
        return Err(Error::file(path, "no score rows found"));
    }
    Ok(ScoreTable { ids: plan.id.map(|_| ids), labels: plan.label.map(|_| labels), classes, scores })
}

fn finite(path: &Path, column: &str, row: usize, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::file(path, format!("column `{column}` row {row}: expected a finite number, found {v}")))
    }
}

/// Appends the scores of a list column, checking every row has as many
/// entries as the first.
fn list_scores(
    path: &Path,
    name: &str,
    column: &ArrayRef,
    row0: usize,
    classes: &mut Option<usize>,
    scores: &mut Vec<f64>,
) -> Result<()> {
    let item = Arc::new(Field::new("item", DataType::Float64, true));
    let target = match column.data_type() {
        DataType::FixedSizeList(_, n) => DataType::FixedSizeList(item, *n),
        _ => DataType::LargeList(item),
    };
    let list = cast(column, &target).map_err(|e| arrow_error(path, e))?;
    for r in 0..list.len() {
        if list.is_null(r) {
            return Err(null_error(path, name, row0 + r));
        }
        let values = match list.data_type() {
            DataType::FixedSizeList(_, _) => list.as_fixed_size_list().value(r),
            _ => list.as_list::<i64>().value(r),
        };
        let values = values.as_primitive::<Float64Type>();
        match classes {
            None => *classes = Some(values.len()),
            Some(c) if *c != values.len() => {
                return Err(Error::file(
                    path,
                    format!("column `{name}` row {}: expected {c} scores (as row 0), found {}", row0 + r, values.len()),
                ));
            }
            Some(_) => {}
        }
        for k in 0..values.len() {
            if values.is_null(k) {
                return Err(null_error(path, name, row0 + r));
            }
            scores.push(finite(path, name, row0 + r, values.value(k))?);
        }
    }
    Ok(())
}
