//! Errors of the trainer and its stages.

use std::path::PathBuf;

/// What can go wrong while training or predicting.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A bad config or param value.
    #[error("{message}")]
    Config {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// Reading or writing a file.
    #[error("`{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A checkpoint that cannot be read back.
    #[error("checkpoint `{}`: {message}", path.display())]
    Checkpoint {
        /// The checkpoint directory or file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A batch that does not fit the model.
    #[error("batch starting with sample `{sample}`: {message}")]
    Batch {
        /// The first sample of the batch.
        sample: String,
        /// What is wrong.
        message: String,
    },
    /// The loss stopped being a finite number.
    #[error("step {step}: the loss is {value}")]
    NonFinite {
        /// The step.
        step: u64,
        /// The loss.
        value: f64,
    },
    /// The data loader.
    #[error(transparent)]
    Loader(#[from] actionbench_loader::LoaderError),
    /// Shards.
    #[error(transparent)]
    Shards(#[from] actionbench_shards::Error),
    /// Arrow / Parquet.
    #[error("{0}")]
    Arrow(String),
}

impl TrainError {
    /// A config error with a hint.
    pub fn config(message: impl Into<String>, hint: impl Into<String>) -> Self {
        TrainError::Config { message: message.into(), hint: hint.into() }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrainError::Io { path: path.into(), source }
    }
}

impl From<arrow::error::ArrowError> for TrainError {
    fn from(e: arrow::error::ArrowError) -> Self {
        TrainError::Arrow(e.to_string())
    }
}

impl From<parquet::errors::ParquetError> for TrainError {
    fn from(e: parquet::errors::ParquetError) -> Self {
        TrainError::Arrow(e.to_string())
    }
}

/// Result with [`TrainError`].
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

impl actionbench_core::Diagnose for TrainError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Config { hint, .. } => Some(hint.clone()),
            Self::Checkpoint { .. } => Some(
                "delete that checkpoint directory to start over, or resume with the config it was written with".into(),
            ),
            Self::NonFinite { .. } => Some("lower the learning rate or clip gradients (`clip-norm`)".into()),
            Self::Loader(e) => e.hint(),
            _ => None,
        }
    }
}
