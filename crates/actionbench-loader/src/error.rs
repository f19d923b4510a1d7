use std::path::PathBuf;

/// What can go wrong loading samples.
#[derive(Debug, thiserror::Error)]
pub enum LoaderError {
    /// A shard could not be read or failed its checksum.
    #[error(transparent)]
    Shards(#[from] actionbench_shards::Error),
    /// A file could not be read.
    #[error("Cannot access `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Parquet decoding failed.
    #[error("Parquet error in `{}`: {source}", path.display())]
    Parquet {
        /// The shard.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Arrow rejected an operation.
    #[error("{context}: {source}")]
    Arrow {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: arrow::error::ArrowError,
    },
    /// The SQL filter does not parse or cannot be evaluated.
    #[error("Filter `{filter}`: {message}")]
    Filter {
        /// The WHERE clause as given.
        filter: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// A query through `actionbench-sql` failed.
    #[error(transparent)]
    #[cfg(feature = "sql")]
    Sql(#[from] actionbench_sql::Error),
    /// A column is missing or has the wrong type.
    #[error("Column `{column}` {message}")]
    Column {
        /// The column.
        column: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// One row's data is unusable (names the sample and, where it applies, the frame).
    #[error("Sample `{sample}` (row {row}): {message}")]
    BadSample {
        /// The sample id.
        sample: String,
        /// Its row in the (filtered) dataset.
        row: usize,
        /// What is wrong.
        message: String,
    },
    /// Samples of one batch do not collate (different shapes or tensor sets).
    #[error("Cannot collate batch: {0}")]
    Collate(String),
    /// A tensor's shape does not have the rank a caller asked for.
    #[error("Tensor `{name}` has shape {shape:?} ({} dimensions) but {want} were asked for", shape.len())]
    Rank {
        /// The tensor.
        name: String,
        /// Its shape.
        shape: Vec<usize>,
        /// The rank asked for.
        want: usize,
    },
    /// A batch has no tensor of that name.
    #[error("Batch has no tensor `{name}` (it has: {available})")]
    NoTensor {
        /// The name asked for.
        name: String,
        /// The names present.
        available: String,
    },
    /// A configuration or state is inconsistent.
    #[error("{message}")]
    Config {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// The background prefetch thread stopped unexpectedly.
    #[error("The prefetch thread stopped: {0}")]
    Prefetch(String),
}

impl LoaderError {
    pub(crate) fn config(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Config { message: message.into(), hint: hint.into() }
    }
}

impl actionbench_core::Diagnose for LoaderError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Filter { hint, .. } | Self::Column { hint, .. } | Self::Config { hint, .. } => Some(hint.clone()),
            #[cfg(feature = "sql")]
            Self::Sql(e) => e.hint(),
            _ => None,
        }
    }
}
