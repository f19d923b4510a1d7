use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong with the remote cache.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A local file could not be read or written.
    #[error("Cannot access `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `actionbench.toml` cannot be understood.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// The project has no `[remote]`.
    #[error("this project has no remote: no `[remote]` table in `{}`", path.display())]
    NoRemote {
        /// The settings file it looked in.
        path: PathBuf,
    },
    /// The object store refused or failed a request.
    #[error("remote `{url}`: {what}: {source}")]
    Store {
        /// The remote.
        url: String,
        /// What was being done.
        what: String,
        /// The store's error.
        source: object_store::Error,
    },
    /// A blob's content is not what its name says: it was damaged on the
    /// remote or on the way.
    #[error(
        "remote `{url}`: blob `{blob}` of stage output {key} is damaged: its blake3 is {found}, its name says {expected}"
    )]
    CorruptBlob {
        /// The remote.
        url: String,
        /// The blob's path on the remote.
        blob: String,
        /// The stage key whose output it belongs to.
        key: String,
        /// What the record says.
        expected: String,
        /// What arrived.
        found: String,
    },
    /// A stage record on the remote cannot be understood or is unsafe.
    #[error("remote `{url}`: record `{record}`: {message}")]
    BadRecord {
        /// The remote.
        url: String,
        /// The record's path on the remote.
        record: String,
        /// What is wrong.
        message: String,
    },
    /// A local stage output cannot be uploaded as it is.
    #[error("stage output `{}`: {message}", path.display())]
    Unsupported {
        /// The output directory or file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The project or its cache could not be read.
    #[error(transparent)]
    Pipeline(#[from] actionbench_pipeline::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}

impl actionbench_core::Diagnose for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Config { hint, .. } => Some(hint.clone()),
            Error::NoRemote { .. } => Some(
                "add `[remote]` with `url = \"s3://BUCKET/PREFIX\"` (and `endpoint` for MinIO/Ceph) to actionbench.toml \
                 at the project root (docs/remote.md)"
                    .into(),
            ),
            Error::Store { source, .. } => Some(match source {
                object_store::Error::Unauthenticated { .. } | object_store::Error::PermissionDenied { .. } => {
                    "check the credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment, or the \
                     profile in ~/.aws/credentials"
                        .into()
                }
                _ => "check `[remote]` in actionbench.toml (url, endpoint, region) and that the server is reachable"
                    .into(),
            }),
            Error::CorruptBlob { blob, .. } => Some(format!(
                "nothing was published locally; delete `{blob}` on the remote and `actionbench push` the stage again \
                 from a machine that has it"
            )),
            Error::BadRecord { record, .. } => Some(format!(
                "delete `{record}` on the remote and `actionbench push` the stage again from a machine that has it"
            )),
            Error::Pipeline(e) => e.hint(),
            _ => None,
        }
    }

    fn location(&self) -> Option<actionbench_core::Location> {
        match self {
            Error::Config { path, line, column, .. } => Some(actionbench_core::Location {
                file: path.display().to_string(),
                line: Some(*line as u64),
                column: Some(*column as u64),
            }),
            Error::Pipeline(e) => e.location(),
            _ => None,
        }
    }
}
