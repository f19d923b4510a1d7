//! One row of a tensor column as f32 values and a shape.

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};

/// Converts a values array (a row's slice) to f32.
fn values_f32(values: &ArrayRef) -> Option<Vec<f32>> {
    macro_rules! prim {
        ($t:ty) => {
            values.as_primitive::<$t>().values().iter().map(|&v| v as f32).collect()
        };
    }
    Some(match values.data_type() {
        DataType::Float32 => values.as_primitive::<Float32Type>().values().to_vec(),
        DataType::Float64 => prim!(Float64Type),
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Boolean => values.as_boolean().iter().map(|b| if b == Some(true) { 1.0 } else { 0.0 }).collect(),
        _ => return None,
    })
}

/// The shape of a fixed-shape tensor column from its extension metadata.
fn fixed_shape(batch: &RecordBatch, name: &str) -> Option<Vec<usize>> {
    let field = batch.schema().field_with_name(name).ok()?.clone();
    let meta = field.metadata().get("ARROW:extension:metadata")?;
    let v: serde_json::Value = serde_json::from_str(meta).ok()?;
    v.get("shape")?.as_array()?.iter().map(|d| d.as_u64().map(|d| d as usize)).collect()
}

/// Row `r` of tensor column `name`: a variable-shape tensor (struct of
/// `data` and `shape`), a fixed-shape tensor, a list, or a scalar column.
/// `Err` carries a message for the caller to attach the sample to.
pub(crate) fn row_f32(batch: &RecordBatch, name: &str, r: usize) -> Result<(Vec<usize>, Vec<f32>), String> {
    let col = batch.column_by_name(name).ok_or_else(|| format!("no column `{name}`"))?;
    let bad = || format!("column `{name}` has type {} which is not a numeric tensor", col.data_type());
    match col.data_type() {
        DataType::Struct(_) => {
            let s = col.as_struct();
            let data = s.column_by_name("data").ok_or_else(bad)?;
            let shape = s.column_by_name("shape").ok_or_else(bad)?;
            let values = match data.data_type() {
                DataType::List(_) => data.as_list::<i32>().value(r),
                DataType::LargeList(_) => data.as_list::<i64>().value(r),
                _ => return Err(bad()),
            };
            let shape = shape.as_fixed_size_list_opt().ok_or_else(bad)?.value(r);
            let shape = arrow::compute::cast(&shape, &DataType::Int64).map_err(|_| bad())?;
            let shape: Vec<usize> =
                shape.as_primitive::<Int64Type>().values().iter().map(|&d| d.max(0) as usize).collect();
            let data = values_f32(&values).ok_or_else(bad)?;
            if shape.iter().product::<usize>() != data.len() {
                return Err(format!("column `{name}`: shape {shape:?} does not hold {} values", data.len()));
            }
            Ok((shape, data))
        }
        DataType::FixedSizeList(_, _) => {
            let values = col.as_fixed_size_list().value(r);
            let data = values_f32(&values).ok_or_else(bad)?;
            let shape = fixed_shape(batch, name)
                .filter(|s| s.iter().product::<usize>() == data.len())
                .unwrap_or_else(|| vec![data.len()]);
            Ok((shape, data))
        }
        DataType::List(_) => {
            let data = values_f32(&col.as_list::<i32>().value(r)).ok_or_else(bad)?;
            Ok((vec![data.len()], data))
        }
        _ => {
            let data = values_f32(&col.slice(r, 1)).ok_or_else(bad)?;
            Ok((vec![], data))
        }
    }
}
