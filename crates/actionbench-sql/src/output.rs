//! Query results as text: an aligned table, CSV, or one JSON document.
//!
//! Tensor columns (the Arrow canonical fixed- and variable-shape tensor
//! extension types of our shards) hold hundreds of KB per row, so the
//! table and CSV show each one as its type and shape, `float32[100, 3, 25,
//! 3]`, as DuckDB and Polars summarise nested values. Other nested values
//! (lists, structs) are printed in full in CSV as JSON, and elided in the
//! table past [`MAX_CELL`] characters. JSON keeps every value.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::error::{Error, Result};

/// Longest nested value the table prints before eliding the rest.
pub const MAX_CELL: usize = 60;

/// How CSV writes nested cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NestedCells {
    /// Tensors as `float32[100, 3, 25, 3]`, other nested values as JSON.
    #[default]
    Summary,
    /// Every nested value, tensors included, as JSON (`{"data": […],
    /// "shape": […]}` for a variable-shape tensor).
    Json,
}

/// An aligned table (arrow's pretty printer), tensors summarised.
pub fn render_table(batches: &[RecordBatch]) -> Result<String> {
    let batches = batches.iter().map(|b| flatten(b, Cell::Table)).collect::<Result<Vec<_>>>()?;
    arrow::util::pretty::pretty_format_batches(&batches).map(|t| t.to_string()).map_err(output_error)
}

/// CSV with a header row; tensors summarised.
pub fn render_csv(batches: &[RecordBatch]) -> Result<String> {
    render_csv_with(batches, NestedCells::Summary)
}

/// CSV with a header row, nested cells written as `nested` says.
pub fn render_csv_with(batches: &[RecordBatch], nested: NestedCells) -> Result<String> {
    let cell = match nested {
        NestedCells::Summary => Cell::Csv,
        NestedCells::Json => Cell::Json,
    };
    let mut out = Vec::new();
    {
        let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(&mut out);
        for b in batches {
            writer.write(&flatten(b, cell)?).map_err(output_error)?;
        }
    }
    String::from_utf8(out).map_err(output_error)
}

/// One JSON document: an array of row objects.
pub fn render_json(batches: &[RecordBatch]) -> Result<String> {
    let mut out = Vec::new();
    {
        let mut writer = arrow::json::ArrayWriter::new(&mut out);
        let refs: Vec<&RecordBatch> = batches.iter().collect();
        writer.write_batches(&refs).map_err(output_error)?;
        writer.finish().map_err(output_error)?;
    }
    let text = String::from_utf8(out).map_err(output_error)?;
    // arrow writes nothing for zero rows; a document is always an array.
    Ok(if text.trim().is_empty() { "[]".to_string() } else { text })
}

fn output_error(e: impl std::fmt::Display) -> Error {
    Error::Output(e.to_string())
}

/// What a nested cell becomes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// Tensors summarised, other values elided past [`MAX_CELL`].
    Table,
    /// Tensors summarised, other values as JSON.
    Csv,
    /// Everything as JSON.
    Json,
}

/// The batch with every nested column replaced by a text column.
fn flatten(batch: &RecordBatch, cell: Cell) -> Result<RecordBatch> {
    let schema = batch.schema();
    if !schema.fields().iter().any(|f| f.data_type().is_nested()) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        if !field.data_type().is_nested() {
            fields.push(field.clone());
            columns.push(column.clone());
            continue;
        }
        let text: StringArray = match (tensor_kind(field), cell) {
            (Some(kind), Cell::Table | Cell::Csv) => summaries(field, column, kind),
            (_, Cell::Json) | (None, Cell::Csv) => json_cells(field, column)?,
            (None, Cell::Table) => elided(column)?,
        };
        fields.push(Arc::new(Field::new(field.name(), DataType::Utf8, true)));
        columns.push(Arc::new(text) as ArrayRef);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(output_error)
}

#[derive(Clone, Copy)]
enum TensorKind {
    /// `FixedSizeList` storage; the shape is in the extension metadata.
    Fixed,
    /// `Struct { data: List, shape: FixedSizeList<Int32> }` storage.
    Variable,
}

/// Whether a column is a tensor: by its extension name, or by the storage
/// layout when a query dropped the field's metadata.
fn tensor_kind(field: &Field) -> Option<TensorKind> {
    match field.metadata().get("ARROW:extension:name").map(String::as_str) {
        Some("arrow.fixed_shape_tensor") => return Some(TensorKind::Fixed),
        Some("arrow.variable_shape_tensor") => return Some(TensorKind::Variable),
        _ => {}
    }
    match field.data_type() {
        DataType::FixedSizeList(item, _) if item.data_type().is_primitive() => Some(TensorKind::Fixed),
        DataType::Struct(fields) => {
            let data = fields.find("data").map(|(_, f)| f.data_type().clone());
            let shape = fields.find("shape").map(|(_, f)| f.data_type().clone());
            match (data, shape) {
                (Some(DataType::List(item) | DataType::LargeList(item)), Some(DataType::FixedSizeList(dims, _)))
                    if item.data_type().is_primitive() && dims.data_type() == &DataType::Int32 =>
                {
                    Some(TensorKind::Variable)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// `float32[100, 3, 25, 3]` per row (null rows stay null).
fn summaries(field: &Field, column: &ArrayRef, kind: TensorKind) -> StringArray {
    let shown = |dims: &[i64], value_type: &DataType| {
        let dims: Vec<String> = dims.iter().map(i64::to_string).collect();
        format!("{}[{}]", value_type.to_string().to_lowercase(), dims.join(", "))
    };
    match kind {
        TensorKind::Fixed => {
            let list = column.as_fixed_size_list();
            let value_type = list.value_type();
            let shape = fixed_shape(field).unwrap_or_else(|| vec![list.value_length() as i64]);
            let text = shown(&shape, &value_type);
            (0..list.len()).map(|i| list.is_valid(i).then(|| text.clone())).collect()
        }
        TensorKind::Variable => {
            let s = column.as_struct();
            let data = s.column_by_name("data").expect("checked by tensor_kind");
            let value_type = match data.data_type() {
                DataType::List(item) | DataType::LargeList(item) => item.data_type().clone(),
                other => other.clone(),
            };
            let shapes = s.column_by_name("shape").expect("checked by tensor_kind").as_fixed_size_list();
            (0..s.len())
                .map(|i| {
                    s.is_valid(i).then(|| {
                        let dims = shapes.value(i);
                        let dims: Vec<i64> =
                            dims.as_primitive::<Int32Type>().iter().map(|d| d.unwrap_or(0) as i64).collect();
                        shown(&dims, &value_type)
                    })
                })
                .collect()
        }
    }
}

/// The `shape` of a fixed-shape tensor's extension metadata.
fn fixed_shape(field: &Field) -> Option<Vec<i64>> {
    let meta: serde_json::Value = serde_json::from_str(field.metadata().get("ARROW:extension:metadata")?).ok()?;
    meta.get("shape")?.as_array()?.iter().map(serde_json::Value::as_i64).collect()
}

/// Each value as JSON text (arrow's JSON writer, one row at a time).
fn json_cells(field: &Field, column: &ArrayRef) -> Result<StringArray> {
    let single = Arc::new(Schema::new(vec![Field::new("v", field.data_type().clone(), true)]));
    let batch = RecordBatch::try_new(single, vec![column.clone()]).map_err(output_error)?;
    let mut out = Vec::new();
    {
        let mut writer = arrow::json::LineDelimitedWriter::new(&mut out);
        writer.write(&batch).map_err(output_error)?;
        writer.finish().map_err(output_error)?;
    }
    let text = String::from_utf8(out).map_err(output_error)?;
    let cells = text
        .lines()
        .map(|line| {
            let row: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).map_err(output_error)?;
            Ok(row.get("v").map(serde_json::Value::to_string))
        })
        .collect::<Result<Vec<_>>>()?;
    if cells.len() != column.len() {
        return Err(Error::Output(format!("{} JSON rows for {} values", cells.len(), column.len())));
    }
    Ok(cells.into_iter().collect())
}

/// Arrow's display of each value, cut at [`MAX_CELL`] characters with the
/// number of items left out.
fn elided(column: &ArrayRef) -> Result<StringArray> {
    let formatter = ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default()).map_err(output_error)?;
    Ok((0..column.len())
        .map(|i| {
            column.is_valid(i).then(|| {
                let full = formatter.value(i).to_string();
                if full.chars().count() <= MAX_CELL {
                    return full;
                }
                let cut: String = full.chars().take(MAX_CELL - 1).collect();
                match item_count(column, i) {
                    Some(n) => format!("{cut}… ({n} items)"),
                    None => format!("{cut}…"),
                }
            })
        })
        .collect())
}

/// The number of items of a list value.
fn item_count(column: &ArrayRef, i: usize) -> Option<usize> {
    match column.data_type() {
        DataType::List(_) => Some(column.as_list::<i32>().value(i).len()),
        DataType::LargeList(_) => Some(column.as_list::<i64>().value(i).len()),
        DataType::FixedSizeList(_, n) => Some(*n as usize),
        _ => None,
    }
}
