//! The one error type of this crate: every variant names the file, and where
//! libav stopped (packet or frame index) when that is known.

use std::path::{Path, PathBuf};

/// Why a video could not be probed, decoded or written.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// The file could not be opened, read or written by the OS.
    #[error("`{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// libav refused the file as a whole (open, probe, no video stream, codec missing).
    #[error("`{}`: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong, libav's message included.
        message: String,
        /// How to fix it, when that is obvious.
        hint: Option<String>,
    },
    /// libav failed on one packet while demuxing or decoding.
    #[error("`{}` packet {packet}: {message}", path.display())]
    Packet {
        /// The file.
        path: PathBuf,
        /// 0-based index of the video packet that failed.
        packet: u64,
        /// What went wrong, libav's message included.
        message: String,
    },
    /// Something failed on one frame (scaling, encoding, writing a JPEG).
    #[error("`{}` frame {frame}: {message}", path.display())]
    Frame {
        /// The file.
        path: PathBuf,
        /// 0-based index of the decoded (or pushed) frame.
        frame: u64,
        /// What went wrong.
        message: String,
    },
    /// The caller asked for something impossible (odd size for yuv420p, wrong buffer length, bad params).
    #[error("`{}`: invalid argument: {message}", path.display())]
    Invalid {
        /// The file being read or written.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
}

impl VideoError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. }
            | Self::File { path, .. }
            | Self::Packet { path, .. }
            | Self::Frame { path, .. }
            | Self::Invalid { path, .. } => path,
        }
    }

    /// A suggestion for the user (see [`actionbench_core::Diagnose`]).
    fn hint_text(&self) -> Option<String> {
        match self {
            Self::File { hint, .. } => hint.clone(),
            Self::Packet { .. } | Self::Frame { .. } => {
                Some("the file is truncated or corrupt; re-download it, or run with `--on-error skip`".into())
            }
            _ => None,
        }
    }

    pub(crate) fn file(path: &Path, message: impl Into<String>) -> Self {
        Self::File { path: path.to_path_buf(), message: message.into(), hint: None }
    }

    pub(crate) fn packet(path: &Path, packet: u64, message: impl Into<String>) -> Self {
        Self::Packet { path: path.to_path_buf(), packet, message: message.into() }
    }

    pub(crate) fn frame(path: &Path, frame: u64, message: impl Into<String>) -> Self {
        Self::Frame { path: path.to_path_buf(), frame, message: message.into() }
    }

    pub(crate) fn invalid(path: &Path, message: impl Into<String>) -> Self {
        Self::Invalid { path: path.to_path_buf(), message: message.into() }
    }
}

impl actionbench_core::Diagnose for VideoError {
    fn hint(&self) -> Option<String> {
        self.hint_text()
    }

    fn location(&self) -> Option<actionbench_core::Location> {
        Some(actionbench_core::Location { file: self.path().display().to_string(), line: None, column: None })
    }
}
