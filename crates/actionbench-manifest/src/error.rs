use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong with a manifest.
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
    /// Something the user asked for is not there or not allowed.
    #[error("{message}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: Option<String>,
    },
    /// A manifest file does not match the hash recorded for it.
    #[error("`{}` was changed after it was published: its blake3 is {found}, the manifest records {expected}", path.display())]
    Tampered {
        /// The file.
        path: PathBuf,
        /// The recorded hash.
        expected: String,
        /// The hash of the file as it is.
        found: String,
    },
    /// A manifest TOML or index cannot be understood.
    #[error("`{}`: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The stage table could not be read.
    #[error(transparent)]
    Shards(#[from] actionbench_shards::Error),
    /// The project catalog could not be read.
    #[error(transparent)]
    Pipeline(#[from] actionbench_pipeline::Error),
    /// Arrow or Parquet failed.
    #[error("{context}: {message}")]
    Data {
        /// What was being done.
        context: String,
        /// The library's message.
        message: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    pub(crate) fn invalid(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Invalid { message: message.into(), hint: Some(hint.into()) }
    }

    pub(crate) fn data(context: impl Into<String>, e: impl std::fmt::Display) -> Self {
        Self::Data { context: context.into(), message: e.to_string() }
    }
}

impl actionbench_core::Diagnose for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Invalid { hint, .. } => hint.clone(),
            Error::Tampered { .. } => Some(
                "Published versions are immutable: restore the file (from version control), or publish a new version"
                    .into(),
            ),
            _ => None,
        }
    }
}
