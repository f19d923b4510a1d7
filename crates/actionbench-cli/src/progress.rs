//! Progress bars on stderr (indicatif), one per running stage. Hidden when
//! stderr is not a terminal, with `--quiet`, or when `ACTIONBENCH_NO_PROGRESS`
//! or `NO_COLOR` is set.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use actionbench_core::EnvVars;
use actionbench_pipeline::{Reporter, StageOutcome};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) struct Progress {
    multi: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Progress {
    pub(crate) fn new(quiet: bool) -> Self {
        let hidden = quiet
            || !std::io::stderr().is_terminal()
            || std::env::var_os(EnvVars::ACTIONBENCH_NO_PROGRESS).is_some()
            || std::env::var_os(EnvVars::NO_COLOR).is_some();
        let multi = (!hidden).then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self { multi, bars: Mutex::new(HashMap::new()) }
    }

    /// Removes every bar (before printing an error).
    pub(crate) fn clear(&self) {
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {elapsed:>4} {msg}").expect("valid template")
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {elapsed:>4} [{bar:30.cyan/blue}] {pos}/{len} ({eta})")
        .expect("valid template")
        .progress_chars("=> ")
}

impl Reporter for Progress {
    fn stage_started(&self, stage: &str) {
        let Some(multi) = &self.multi else { return };
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(spinner_style());
        bar.set_prefix(stage.to_string());
        bar.set_message("running");
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bars.lock().expect("progress lock").insert(stage.to_string(), bar);
    }

    fn stage_progress(&self, stage: &str, done: u64, total: Option<u64>) {
        let bars = self.bars.lock().expect("progress lock");
        if let Some(bar) = bars.get(stage) {
            if let Some(total) = total
                && bar.length() != Some(total)
            {
                bar.set_length(total);
                bar.set_style(bar_style());
            }
            bar.set_position(done);
        }
    }

    fn stage_finished(&self, stage: &str, outcome: &StageOutcome, seconds: f64) {
        let Some(multi) = &self.multi else { return };
        let bar = self.bars.lock().expect("progress lock").remove(stage);
        let line = format!("{:>7} {stage} ({seconds:.2}s)", outcome.label());
        match bar {
            Some(bar) => {
                bar.finish_and_clear();
                let _ = multi.println(line);
            }
            None => {
                let _ = multi.println(line);
            }
        }
    }

    fn waiting_for_lock(&self, lock: &std::path::Path) {
        // Not a progress bar: always worth saying.
        eprintln!("Waiting for another `actionbench run` to release `{}`…", lock.display());
    }
}
