use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong writing or reading shards.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("Cannot access `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Parquet encoding or decoding failed.
    #[error("Parquet error in `{}`: {source}", path.display())]
    Parquet {
        /// The shard.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Arrow rejected the data (schema or type mismatch).
    #[error("{context}: {source}")]
    Arrow {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: arrow::error::ArrowError,
    },
    /// A shard's bytes do not match its index entry.
    #[error(
        "Shard `{}` is corrupt: its {what} is {found} but the shard index says {expected}",
        path.display()
    )]
    Corrupt {
        /// The shard.
        path: PathBuf,
        /// `size` or `blake3 checksum`.
        what: &'static str,
        /// From the index.
        expected: String,
        /// On disk.
        found: String,
    },
    /// The shard index is missing or unreadable.
    #[error("Shard index `{}` is invalid: {message}", path.display())]
    BadIndex {
        /// The index file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A batch does not have the schema the writer was opened with.
    #[error("Batch schema does not match the shard schema: expected {expected}, found {found}")]
    SchemaMismatch {
        /// The writer's schema.
        expected: String,
        /// The batch's schema.
        found: String,
    },
}

impl actionbench_core::Diagnose for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Corrupt { .. } => Some(
                "The file changed after its stage wrote it (disk error, or edited by hand): re-create it with \
                 `actionbench run PIPELINE STAGE --force`"
                    .into(),
            ),
            Error::BadIndex { .. } => {
                Some("The index is written with the shards: re-run the stage that wrote them with `--force`".into())
            }
            _ => None,
        }
    }

    fn location(&self) -> Option<actionbench_core::Location> {
        match self {
            Error::Corrupt { path, .. } | Error::BadIndex { path, .. } => {
                Some(actionbench_core::Location { file: path.display().to_string(), line: None, column: None })
            }
            _ => None,
        }
    }
}
