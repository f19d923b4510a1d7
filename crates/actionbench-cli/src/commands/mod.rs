//! One module per subcommand.

pub(crate) mod demo;
pub(crate) mod eval;
pub(crate) mod gc;
pub(crate) mod inspect;
pub(crate) mod kinds;
pub(crate) mod leaderboard;
pub(crate) mod run;
pub(crate) mod sql;
pub(crate) mod status;
pub(crate) mod synth;

use std::path::PathBuf;

use actionbench_pipeline::{Engine, PipelineDef, Registry};

/// Prints an error as `error: …`, its causes as `  Caused by: …`, and a
/// `hint: …` when the error knows an obvious fix.
pub(crate) fn print_error(err: &anyhow::Error) {
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  Caused by: {cause}");
    }
    let hint = err.chain().find_map(|e| e.downcast_ref::<actionbench_pipeline::Error>()).and_then(|e| e.hint());
    if let Some(hint) = hint {
        eprintln!("\nhint: {hint}");
    }
}

/// Loads a pipeline (name or path) and binds it to `registry`'s kinds.
pub(crate) fn open_engine(pipeline: &str, registry: Registry) -> anyhow::Result<Engine> {
    let cwd = std::env::current_dir()?;
    let def = PipelineDef::load(pipeline, &cwd)?;
    Ok(Engine::new(def, registry, None::<PathBuf>)?)
}

/// `stages` (the built-in kinds a binary has) plus the trainer's kinds.
pub(crate) fn registry(stages: Registry) -> Registry {
    let mut registry = stages;
    actionbench_train::register(&mut registry);
    registry
}

/// Every stage kind, FFmpeg's included (only `actionbench-ffmpeg` calls it).
pub(crate) fn registry_with_ffmpeg() -> Registry {
    registry(actionbench_stages::registry())
}
