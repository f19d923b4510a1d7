//! Errors as `actionbench.ActionbenchError(message, hint, causes)`.

use actionbench_cli::embed::EmbedError;
use actionbench_core::Failure;
use pyo3::prelude::*;

/// The Python exception for `failure`; `needs_ffmpeg` tells the Python side
/// to run the command line instead.
pub(crate) fn to_py(py: Python<'_>, failure: &Failure, needs_ffmpeg: bool) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let class = py.import("actionbench.errors")?.getattr("ActionbenchError")?;
        let value =
            class.call1((failure.message.clone(), failure.hint.clone(), failure.causes.clone(), needs_ffmpeg))?;
        Ok(PyErr::from_value(value))
    })();
    made.unwrap_or_else(|e| e)
}

/// Any error of the toolkit, said as the command line says it.
pub(crate) fn py_err(py: Python<'_>, e: impl Into<anyhow::Error>) -> PyErr {
    to_py(py, &actionbench_cli::embed::failure(&e.into()), false)
}

/// An [`EmbedError`] as the Python exception.
pub(crate) fn embed_err(py: Python<'_>, e: EmbedError) -> PyErr {
    to_py(py, &e.failure, e.needs_ffmpeg)
}

/// A plain message with its fix.
pub(crate) fn hinted(py: Python<'_>, message: impl Into<String>, hint: impl Into<String>) -> PyErr {
    py_err(py, actionbench_core::Diagnostic::hinted(message, hint))
}
