//! The error of a generation run: which file could not be written, or
//! which parameter is wrong, with a hint.

use std::path::{Path, PathBuf};

/// Why generation stopped.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A file or folder could not be written.
    #[error("Failed to write `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A writer of the formats crate failed.
    #[error(transparent)]
    Format(#[from] actionbench_formats::Error),
    /// The video encoder failed.
    #[error("`{}`: {message}", path.display())]
    Video {
        /// The video file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A parameter is wrong.
    #[error("{message}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
}

impl SynthError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_path_buf(), source }
    }

    pub(crate) fn invalid(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Invalid { message: message.into(), hint: hint.into() }
    }
}

impl actionbench_core::Diagnose for SynthError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Invalid { hint, .. } if !hint.is_empty() => Some(hint.clone()),
            Self::Format(e) => e.hint(),
            _ => None,
        }
    }
}
