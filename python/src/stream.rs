//! Record batches handed to pyarrow through the Arrow C stream interface.

use arrow::array::{RecordBatch, RecordBatchIterator};
use arrow::datatypes::SchemaRef;
use arrow::ffi_stream::FFI_ArrowArrayStream;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

/// Batches with one schema, exported once through `__arrow_c_stream__`
/// (`pyarrow.table(s)`, `pyarrow.RecordBatchReader.from_stream(s)`): the
/// buffers move to pyarrow without a copy.
#[pyclass(module = "actionbench._native")]
pub(crate) struct ArrowStream {
    inner: std::sync::Mutex<Option<(SchemaRef, Vec<RecordBatch>)>>,
}

impl ArrowStream {
    pub(crate) fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        Self { inner: std::sync::Mutex::new(Some((schema, batches))) }
    }
}

#[pymethods]
impl ArrowStream {
    /// The Arrow PyCapsule protocol: a capsule holding an `ArrowArrayStream`.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        // The schema is the table's own; a requested one is not honoured (allowed by the protocol).
        let _ = requested_schema;
        let taken = self.inner.lock().map_err(|_| crate::error::hinted(py, "stream lock poisoned", "retry"))?.take();
        let Some((schema, batches)) = taken else {
            return Err(crate::error::hinted(
                py,
                "this Arrow stream was already read",
                "ask actionbench again for the result; a stream can be read once",
            ));
        };
        let reader = RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
        let stream = FFI_ArrowArrayStream::new(Box::new(reader));
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }
}
