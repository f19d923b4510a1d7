//! A table in the layout Hugging Face `datasets` reads: `datasets` has no
//! dtype for Arrow's canonical tensor extension types (`Arrow type
//! extension<arrow.variable_shape_tensor…> does not have a datasets dtype
//! equivalent`), so each tensor column becomes nested lists, one level per
//! dimension (`Sequence(Sequence(…))` in `datasets`; fixed-shape tensors
//! as fixed-size lists), over the same values buffer. The shards keep the
//! canonical types for pyarrow, DuckDB and Polars.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, FixedSizeListArray, ListArray, RecordBatch};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use pyo3::prelude::*;

use crate::error::py_err;
use crate::project::{resolve_table, verified_files};
use crate::stream::ArrowStream;

const EXTENSION_NAME: &str = "ARROW:extension:name";
const EXTENSION_METADATA: &str = "ARROW:extension:metadata";

/// The rows of `name` (`PIPELINE.TABLE`, a shard table) with tensor columns
/// as nested lists.
#[pyfunction]
pub(crate) fn hf_table(py: Python<'_>, root: PathBuf, name: String) -> PyResult<ArrowStream> {
    let out = py.detach(|| -> anyhow::Result<_> {
        let table = resolve_table(&root, &name)?;
        verified_files(&root, &table)?;
        let batches = actionbench_shards::read_all(&table.path)?;
        let converted = batches.iter().map(nested_batch).collect::<anyhow::Result<Vec<_>>>()?;
        let schema = match converted.first() {
            Some(b) => b.schema(),
            None => Arc::new(Schema::empty()),
        };
        Ok((schema, converted))
    });
    let (schema, batches) = out.map_err(|e| py_err(py, e))?;
    Ok(ArrowStream::new(schema, batches))
}

/// `batch` with every tensor column as nested lists.
pub(crate) fn nested_batch(batch: &RecordBatch) -> anyhow::Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let (f, c) = match field.metadata().get(EXTENSION_NAME).map(String::as_str) {
            Some("arrow.variable_shape_tensor") => variable_to_nested(field, column)?,
            Some("arrow.fixed_shape_tensor") => fixed_to_nested(field, column)?,
            _ => (field.as_ref().clone(), column.clone()),
        };
        fields.push(f);
        columns.push(c);
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

fn plain(field: &Field, data_type: DataType) -> Field {
    let mut meta = field.metadata().clone();
    meta.remove(EXTENSION_NAME);
    meta.remove(EXTENSION_METADATA);
    Field::new(field.name(), data_type, field.is_nullable()).with_metadata(meta)
}

/// `Struct<data: List<T>, shape: FixedSizeList<int32>[k]>` → `k` nested lists.
fn variable_to_nested(field: &Field, column: &ArrayRef) -> anyhow::Result<(Field, ArrayRef)> {
    let bad = || anyhow::anyhow!("column `{}` is not a valid variable_shape_tensor", field.name());
    let s = column.as_struct_opt().ok_or_else(bad)?;
    let data = s.column(0).as_list_opt::<i32>().ok_or_else(bad)?;
    let shapes = s.column(1).as_fixed_size_list_opt().ok_or_else(bad)?;
    let k = shapes.value_length() as usize;
    let dims = shapes.values().as_primitive_opt::<Int32Type>().ok_or_else(bad)?;
    // offsets[l]: the offsets of level l (level 0: one list per row).
    let mut offsets: Vec<Vec<i32>> = vec![vec![0]; k];
    for row in 0..s.len() {
        let shape: Vec<i32> = (0..k).map(|d| dims.value(row * k + d)).collect();
        let values = data.value_length(row);
        let product: i64 = shape.iter().map(|&d| i64::from(d)).product();
        if shape.iter().any(|&d| d < 0) || product != i64::from(values) {
            anyhow::bail!("column `{}` row {row}: shape {shape:?} does not hold its {values} values", field.name());
        }
        // Elements of level l in this row: d0 * … * d(l-1); each has d_l children.
        let mut count: i64 = 1;
        for (l, &d) in shape.iter().enumerate() {
            let level = &mut offsets[l];
            for _ in 0..count {
                let last = *level.last().expect("starts with 0");
                level.push(last + d);
            }
            count *= i64::from(d);
        }
    }
    let start = data.value_offsets()[0] as usize;
    let end = *data.value_offsets().last().expect("offsets") as usize;
    let mut child: ArrayRef = data.values().slice(start, end - start);
    let mut child_field = Arc::new(Field::new("item", child.data_type().clone(), true));
    for level in offsets.into_iter().rev() {
        let list = ListArray::try_new(child_field.clone(), OffsetBuffer::new(level.into()), child, None)?;
        child_field = Arc::new(Field::new("item", list.data_type().clone(), true));
        child = Arc::new(list);
    }
    Ok((plain(field, child.data_type().clone()), child))
}

/// `FixedSizeList<T>[prod(shape)]` → fixed-size lists, one per dimension.
fn fixed_to_nested(field: &Field, column: &ArrayRef) -> anyhow::Result<(Field, ArrayRef)> {
    let bad = || anyhow::anyhow!("column `{}` is not a valid fixed_shape_tensor", field.name());
    let meta: serde_json::Value =
        serde_json::from_str(field.metadata().get(EXTENSION_METADATA).ok_or_else(bad)?).map_err(|_| bad())?;
    let shape: Vec<i32> = meta["shape"]
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|d| d.as_i64().and_then(|d| i32::try_from(d).ok()).ok_or_else(bad))
        .collect::<anyhow::Result<_>>()?;
    let list = column.as_fixed_size_list_opt().ok_or_else(bad)?;
    let rows = list.len();
    let mut child: ArrayRef =
        list.values().slice(list.offset() * list.value_length() as usize, rows * list.value_length() as usize);
    for &d in shape.iter().rev() {
        let item = Arc::new(Field::new("item", child.data_type().clone(), true));
        child = Arc::new(FixedSizeListArray::try_new(item, d, child, None)?);
    }
    Ok((plain(field, child.data_type().clone()), child))
}
