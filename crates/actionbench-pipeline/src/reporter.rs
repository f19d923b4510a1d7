use crate::engine::StageOutcome;

/// Receives progress from the engine. Libraries report; the binary draws
/// (with indicatif in the CLI). Every method has an empty default, and
/// methods are called from worker threads, so implementations must be
/// `Send + Sync` and cheap.
pub trait Reporter: Send + Sync {
    /// A stage starts running.
    fn stage_started(&self, _stage: &str) {}
    /// Progress inside a stage; `total` is `None` when unknown.
    fn stage_progress(&self, _stage: &str, _done: u64, _total: Option<u64>) {}
    /// A stage finished, whatever the outcome.
    fn stage_finished(&self, _stage: &str, _outcome: &StageOutcome, _seconds: f64) {}
    /// Another `run` holds the project lock; this one waits.
    fn waiting_for_lock(&self, _lock: &std::path::Path) {}
}

/// A reporter that reports nothing.
pub struct NoopReporter;

impl Reporter for NoopReporter {}
