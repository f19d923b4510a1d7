/// Every environment variable actionbench reads, in one place (one registry,
/// so docs and `--help` can list them and nobody invents a second spelling).
pub struct EnvVars;

impl EnvVars {
    /// Where the content-addressed cache lives (default: `<project>/.actionbench`).
    pub const ACTIONBENCH_CACHE_DIR: &'static str = "ACTIONBENCH_CACHE_DIR";
    /// Set to any value to hide progress bars.
    pub const ACTIONBENCH_NO_PROGRESS: &'static str = "ACTIONBENCH_NO_PROGRESS";
    /// The common convention to disable colour; also hides progress bars.
    pub const NO_COLOR: &'static str = "NO_COLOR";
    /// The most bytes a compressed input (zlib/gzip joblib) may inflate to,
    /// in bytes (default 4 GiB): a guard against compression bombs.
    pub const ACTIONBENCH_MAX_DECOMPRESSED_BYTES: &'static str = "ACTIONBENCH_MAX_DECOMPRESSED_BYTES";
    /// Path of `actionbench-ffmpeg`, which `actionbench` starts for the
    /// commands that need FFmpeg (default: next to `actionbench`).
    pub const ACTIONBENCH_FFMPEG_BIN: &'static str = "ACTIONBENCH_FFMPEG_BIN";
    /// Set by the engine for a command stage: the stage's name.
    pub const ACTIONBENCH_STAGE: &'static str = "ACTIONBENCH_STAGE";
    /// Set by the engine for a command stage: the pipeline's name.
    pub const ACTIONBENCH_PIPELINE: &'static str = "ACTIONBENCH_PIPELINE";
    /// Set by the engine for a command stage: the stage key being produced.
    pub const ACTIONBENCH_STAGE_KEY: &'static str = "ACTIONBENCH_STAGE_KEY";
    /// Set by the engine for a command stage: the project root (absolute).
    pub const ACTIONBENCH_PROJECT: &'static str = "ACTIONBENCH_PROJECT";
    /// Set by the engine for a command stage that declares an out named
    /// `metrics`: where `actionbench.log_metrics` (Python) writes the
    /// stage's `metrics` table (absolute).
    pub const ACTIONBENCH_METRICS_DIR: &'static str = "ACTIONBENCH_METRICS_DIR";
    /// `run --executor slurm`: milliseconds between two status polls of
    /// the submitted jobs (default 5000).
    pub const ACTIONBENCH_SLURM_POLL_MS: &'static str = "ACTIONBENCH_SLURM_POLL_MS";
    /// `run --executor slurm`: seconds an ended job's exit marker is waited
    /// for (NFS attribute caching can delay it) before the job is called
    /// lost (default 60).
    pub const ACTIONBENCH_SLURM_MARKER_GRACE_S: &'static str = "ACTIONBENCH_SLURM_MARKER_GRACE_S";
    /// Testing hook of the remote cache: `push` aborts the process (as
    /// `kill -9` would) after uploading this many blobs.
    pub const ACTIONBENCH_FAULT_ABORT_AFTER_BLOBS: &'static str = "ACTIONBENCH_FAULT_ABORT_AFTER_BLOBS";
}
