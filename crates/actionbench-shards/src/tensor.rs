//! Tensor columns as Arrow canonical extension types.
//!
//! - `arrow.fixed_shape_tensor`: every row has the same shape; storage is a
//!   `FixedSizeList<T>` of `prod(shape)` values, row-major.
//! - `arrow.variable_shape_tensor`: shapes differ per row (e.g. a skeleton
//!   sequence `[frames, bodies, 25, 3]`); storage is
//!   `Struct<data: List<T>, shape: FixedSizeList<int32>[ndim]>`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, FixedSizeListArray, Int32Array, ListArray, PrimitiveArray, StructArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{ArrowPrimitiveType, DataType, Field, Fields, Int32Type};
use arrow_schema::extension::{ExtensionType, FixedShapeTensor, VariableShapeTensor};

use crate::error::{Error, Result};

fn arrow_err(context: &str) -> impl FnOnce(arrow::error::ArrowError) -> Error + '_ {
    move |source| Error::Arrow { context: context.to_string(), source }
}

/// Storage fields use nullable items, the layout pyarrow builds for these
/// types: pyarrow restores an extension type from the Parquet file's Arrow
/// schema only when the storage type matches its own exactly, while arrow-rs
/// insists on non-nullable items. So the metadata is validated with
/// arrow-rs's constructors but attached by hand.
const NULLABLE_ITEMS: bool = true;

/// Attaches canonical extension metadata, leaving out unset optional keys
/// (arrow-rs writes `"dim_names": null`, which pyarrow rejects: "dim_names
/// must be an array, got null").
fn with_extension(field: Field, name: &str, metadata: Option<String>) -> Field {
    let mut object = metadata
        .and_then(|m| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&m).ok())
        .unwrap_or_default();
    object.retain(|_, v| !v.is_null());
    let mut map = field.metadata().clone();
    map.insert("ARROW:extension:name".into(), name.into());
    map.insert("ARROW:extension:metadata".into(), serde_json::Value::Object(object).to_string());
    field.with_metadata(map)
}

/// The field of a fixed-shape tensor column.
pub fn fixed_shape_tensor_field(name: &str, value_type: DataType, shape: &[usize]) -> Result<Field> {
    let size = shape.iter().product::<usize>() as i32;
    let storage = DataType::new_fixed_size_list(value_type.clone(), size, NULLABLE_ITEMS);
    let ext = FixedShapeTensor::try_new(value_type, shape.to_vec(), None, None)
        .map_err(arrow_err("fixed_shape_tensor metadata"))?;
    Ok(with_extension(Field::new(name, storage, false), FixedShapeTensor::NAME, ext.serialize_metadata()))
}

fn variable_storage(value_type: &DataType, ndim: usize) -> DataType {
    DataType::Struct(Fields::from(vec![
        Field::new_list("data", Field::new_list_field(value_type.clone(), NULLABLE_ITEMS), NULLABLE_ITEMS),
        Field::new(
            "shape",
            DataType::new_fixed_size_list(DataType::Int32, ndim as i32, NULLABLE_ITEMS),
            NULLABLE_ITEMS,
        ),
    ]))
}

/// The field of a variable-shape tensor column with `ndim` dimensions;
/// `uniform_shape` gives the sizes that never vary (`None` where they do).
pub fn variable_shape_tensor_field(
    name: &str,
    value_type: DataType,
    ndim: usize,
    dim_names: Option<Vec<String>>,
    uniform_shape: Option<Vec<Option<i32>>>,
) -> Result<Field> {
    let ext = VariableShapeTensor::try_new(value_type.clone(), ndim, dim_names, None, uniform_shape)
        .map_err(arrow_err("variable_shape_tensor metadata"))?;
    let field = Field::new(name, variable_storage(&value_type, ndim), false);
    Ok(with_extension(field, VariableShapeTensor::NAME, ext.serialize_metadata()))
}

/// Builds a fixed-shape tensor column from row-major values.
pub fn fixed_shape_tensor_array<T: ArrowPrimitiveType>(shape: &[usize], values: Vec<T::Native>) -> Result<ArrayRef> {
    let size = shape.iter().product::<usize>();
    let values = PrimitiveArray::<T>::from_iter_values(values);
    let array = FixedSizeListArray::try_new(
        Arc::new(Field::new_list_field(T::DATA_TYPE, NULLABLE_ITEMS)),
        size as i32,
        Arc::new(values),
        None,
    )
    .map_err(arrow_err("fixed_shape_tensor values"))?;
    Ok(Arc::new(array))
}

/// Builds a variable-shape tensor column row by row.
pub struct VariableShapeTensorBuilder<T: ArrowPrimitiveType> {
    ndim: usize,
    values: Vec<T::Native>,
    offsets: Vec<i32>,
    shapes: Vec<i32>,
}

impl<T: ArrowPrimitiveType> VariableShapeTensorBuilder<T> {
    /// A builder for tensors of `ndim` dimensions.
    pub fn new(ndim: usize) -> Self {
        Self { ndim, values: Vec::new(), offsets: vec![0], shapes: Vec::new() }
    }

    /// Appends one tensor (row-major `data` of `shape`).
    pub fn push(&mut self, shape: &[usize], data: &[T::Native]) -> Result<()> {
        let want = shape.iter().product::<usize>();
        if shape.len() != self.ndim || data.len() != want {
            return Err(Error::Arrow {
                context: "variable_shape_tensor row".into(),
                source: arrow::error::ArrowError::InvalidArgumentError(format!(
                    "shape {shape:?} (expected {} dimensions) does not hold {} values",
                    self.ndim,
                    data.len()
                )),
            });
        }
        self.values.extend_from_slice(data);
        self.offsets.push(self.values.len() as i32);
        self.shapes.extend(shape.iter().map(|&d| d as i32));
        Ok(())
    }

    /// Makes room for `rows` more tensors holding `values` more elements,
    /// so pushing them copies each value once (no regrowth).
    pub fn reserve(&mut self, rows: usize, values: usize) {
        self.values.reserve(values);
        self.offsets.reserve(rows);
        self.shapes.reserve(rows * self.ndim);
    }

    /// Rows pushed so far.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether no row was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The storage array (a struct of `data` and `shape`).
    pub fn finish(self) -> Result<ArrayRef> {
        let data = ListArray::try_new(
            Arc::new(Field::new_list_field(T::DATA_TYPE, NULLABLE_ITEMS)),
            OffsetBuffer::new(self.offsets.into()),
            // Takes the Vec's allocation as the buffer: no copy.
            Arc::new(PrimitiveArray::<T>::new(self.values.into(), None)),
            None,
        )
        .map_err(arrow_err("variable_shape_tensor data"))?;
        let shape = FixedSizeListArray::try_new(
            Arc::new(Field::new_list_field(DataType::Int32, NULLABLE_ITEMS)),
            self.ndim as i32,
            Arc::new(Int32Array::from(self.shapes)),
            None,
        )
        .map_err(arrow_err("variable_shape_tensor shape"))?;
        let DataType::Struct(fields) = variable_storage(&T::DATA_TYPE, self.ndim) else { unreachable!("a struct") };
        let array = StructArray::try_new(fields, vec![Arc::new(data), Arc::new(shape)], None)
            .map_err(arrow_err("variable_shape_tensor"))?;
        Ok(Arc::new(array))
    }
}

/// Row `i` of a variable-shape tensor column: its shape and values.
pub fn variable_shape_tensor_row<T: ArrowPrimitiveType>(
    column: &dyn Array,
    i: usize,
) -> Option<(Vec<usize>, Vec<T::Native>)> {
    let s = column.as_struct_opt()?;
    let data = s.column(0).as_list_opt::<i32>()?.value(i);
    let shape = s.column(1).as_fixed_size_list_opt()?.value(i);
    let shape: Vec<usize> = shape.as_primitive_opt::<Int32Type>()?.values().iter().map(|&d| d as usize).collect();
    let values = data.as_primitive_opt::<T>()?.values().to_vec();
    Some((shape, values))
}
