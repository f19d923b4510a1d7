//! `actionbench._native`: the Rust half of the Python package. The Python
//! API (`python/actionbench/`) wraps these functions and classes; results
//! cross as JSON (run/status), Arrow C streams (`__arrow_c_stream__`:
//! query results and loader batches, read by pyarrow without a copy) or
//! file lists (a table's verified shards).
//!
//! Every error becomes `actionbench.ActionbenchError` with the message,
//! causes and hint the command line prints for it.

mod error;
mod hf;
mod loader;
mod metrics;
mod project;
mod stream;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(project::run, m)?)?;
    m.add_function(wrap_pyfunction!(project::status, m)?)?;
    m.add_function(wrap_pyfunction!(project::sql, m)?)?;
    m.add_function(wrap_pyfunction!(project::table_files, m)?)?;
    m.add_function(wrap_pyfunction!(hf::hf_table, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::log_metrics, m)?)?;
    m.add_class::<loader::NativeLoader>()?;
    m.add_class::<stream::ArrowStream>()?;
    Ok(())
}
