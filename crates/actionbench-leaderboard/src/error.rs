use std::path::PathBuf;

/// Leaderboard errors; each names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("`{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A benchmark definition or claimed-rows file is invalid.
    #[error("`{path}`: {message}")]
    Definition {
        /// The file.
        path: PathBuf,
        /// What is wrong (TOML errors carry line and column).
        message: String,
    },
    /// A result record is unreadable.
    #[error("`{path}`: not a result record: {message}")]
    Record {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Running a benchmark's pipeline failed, or it left no usable metrics.
    #[error("benchmark `{benchmark}`: {message}")]
    Run {
        /// The benchmark.
        benchmark: String,
        /// What went wrong.
        message: String,
    },
    /// The benchmark's pipeline could not be opened or run.
    #[error(transparent)]
    Pipeline(#[from] actionbench_pipeline::Error),
    /// A shard table could not be read.
    #[error(transparent)]
    Shards(#[from] actionbench_shards::Error),
    /// A dataset manifest a stage is pinned to cannot be opened.
    #[error(transparent)]
    Manifest(#[from] actionbench_manifest::Error),
    /// A plot could not be drawn.
    #[error("plot `{path}`: {message}")]
    Plot {
        /// The PNG being drawn.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;
