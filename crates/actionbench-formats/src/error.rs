//! The one error type of this crate: every variant names the file, and the
//! line (text formats) or byte offset (binary formats) where reading stopped.

use std::path::{Path, PathBuf};

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read.
    #[error("Failed to read `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A text file has something unexpected on a line.
    #[error("`{}` line {line}: {message}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What was expected and what was found.
        message: String,
        /// How to fix it, when that is obvious.
        hint: Option<String>,
    },
    /// A binary file has something unexpected at a byte offset.
    #[error("`{}` byte {offset}: {message}", path.display())]
    Bytes {
        /// The file.
        path: PathBuf,
        /// 0-based byte offset.
        offset: u64,
        /// What was expected and what was found.
        message: String,
        /// How to fix it, when that is obvious.
        hint: Option<String>,
    },
    /// A problem with the file as a whole (no entries, an unusable schema,
    /// a Parquet decoding error).
    #[error("`{}`: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What was expected and what was found.
        message: String,
        /// How to fix it, when that is obvious.
        hint: Option<String>,
    },
}

impl actionbench_core::Diagnose for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Io { .. } => None,
            Self::Line { hint, .. } | Self::Bytes { hint, .. } | Self::File { hint, .. } => hint.clone(),
        }
    }

    fn location(&self) -> Option<actionbench_core::Location> {
        let line = match self {
            Self::Line { line, .. } => Some(*line),
            _ => None,
        };
        Some(actionbench_core::Location { file: self.path().display().to_string(), line, column: None })
    }
}

impl Error {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. } | Self::Line { path, .. } | Self::Bytes { path, .. } | Self::File { path, .. } => {
                path
            }
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_path_buf(), source }
    }

    pub(crate) fn line(path: &Path, line: u64, message: impl Into<String>) -> Self {
        Self::Line { path: path.to_path_buf(), line, message: message.into(), hint: None }
    }

    pub(crate) fn bytes(path: &Path, offset: u64, message: impl Into<String>) -> Self {
        Self::Bytes { path: path.to_path_buf(), offset, message: message.into(), hint: None }
    }

    pub(crate) fn file(path: &Path, message: impl Into<String>) -> Self {
        Self::File { path: path.to_path_buf(), message: message.into(), hint: None }
    }

    /// Adds (or replaces) the hint.
    pub(crate) fn with_hint(mut self, text: impl Into<String>) -> Self {
        match &mut self {
            Self::Io { .. } => {}
            Self::Line { hint, .. } | Self::Bytes { hint, .. } | Self::File { hint, .. } => {
                *hint = Some(text.into());
            }
        }
        self
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Reads a whole file.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Reads a whole file as UTF-8 text; invalid UTF-8 is reported with its
/// byte offset.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = read_bytes(path)?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to() as u64;
        Error::bytes(path, offset, "invalid UTF-8 in a text file")
    })
}
