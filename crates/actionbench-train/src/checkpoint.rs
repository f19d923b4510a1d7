//! Checkpoints: `DIR/step-00000100/{model.mpk, optim.mpk, state.json}`,
//! written into a temporary directory and renamed into place, so a crash
//! leaves either the previous checkpoint or the new one complete, never a
//! partial one. `state.json` is written last and marks a checkpoint as
//! complete.

use std::path::{Path, PathBuf};

use actionbench_loader::LoaderState;
use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::multitask::DwaTracker;

/// Everything besides weights and optimiser state that a resumed run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TrainState {
    /// Optimiser steps done.
    pub step: u64,
    /// Where the loader is (epoch, position).
    pub loader: LoaderState,
    /// DWA loss history.
    pub dwa: DwaTracker,
    /// Hash of the training config; a checkpoint of another config is refused.
    pub config_hash: String,
    /// Chained hash of the sample ids fed so far ([`crate::trainer::chain_order`]).
    #[serde(default)]
    pub data_order: String,
    /// The metrics rows logged so far, so that a resumed run's `metrics`
    /// table has every step, not only those after the resume (checkpoints
    /// written before this field resume with the later steps only).
    #[serde(default)]
    pub metrics: Vec<crate::trainer::MetricRow>,
    /// The running sums of the epoch the checkpoint falls in.
    #[serde(default)]
    pub epoch: crate::trainer::EpochSums,
}

const STATE: &str = "state.json";
const MODEL: &str = "model.mpk";
const OPTIM: &str = "optim.mpk";

fn step_dir(dir: &Path, step: u64) -> PathBuf {
    dir.join(format!("step-{step:08}"))
}

/// A module's weights as bytes (named MessagePack, full precision).
pub fn module_bytes<B: Backend, M: Module<B>>(module: &M) -> Result<Vec<u8>> {
    NamedMpkBytesRecorder::<FullPrecisionSettings>::new()
        .record(module.clone().into_record(), ())
        .map_err(|e| TrainError::Arrow(format!("cannot serialise the model: {e}")))
}

/// Every float parameter of a module, flattened in visiting order: what
/// two runs must agree on (records also carry parameter ids, which differ
/// between runs).
pub fn parameter_values<B: Backend, M: Module<B>>(module: &M) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl<B: Backend> burn::module::ModuleVisitor<B> for Collect {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<burn::tensor::Tensor<B, D>>) {
            self.0.extend(param.val().into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default());
        }
    }
    let mut c = Collect(Vec::new());
    module.visit(&mut c);
    c.0
}

/// Loads weights written by [`module_bytes`] into `module`.
pub fn load_module_bytes<B: Backend, M: Module<B>>(
    module: M,
    bytes: Vec<u8>,
    device: &B::Device,
    path: &Path,
) -> Result<M> {
    let record = NamedMpkBytesRecorder::<FullPrecisionSettings>::new().load(bytes, device).map_err(|e| {
        TrainError::Checkpoint { path: path.to_path_buf(), message: format!("unreadable weights: {e}") }
    })?;
    Ok(module.load_record(record))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).map_err(|e| TrainError::io(path, e))?;
    f.write_all(bytes).map_err(|e| TrainError::io(path, e))?;
    f.sync_all().map_err(|e| TrainError::io(path, e))
}

/// Writes checkpoint `state.step` atomically and keeps only the newest `keep`.
pub fn save(dir: &Path, model: &[u8], optim: &[u8], state: &TrainState, keep: usize) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    let final_dir = step_dir(dir, state.step);
    let tmp = dir.join(format!(".tmp-step-{:08}-{}", state.step, std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    }
    std::fs::create_dir(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    write(&tmp.join(MODEL), model)?;
    write(&tmp.join(OPTIM), optim)?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| TrainError::Arrow(e.to_string()))?;
    write(&tmp.join(STATE), &json)?;
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir).map_err(|e| TrainError::io(&final_dir, e))?;
    }
    std::fs::rename(&tmp, &final_dir).map_err(|e| TrainError::io(&final_dir, e))?;
    // Older checkpoints beyond `keep`, and leftovers of crashed writes.
    let mut steps = list(dir)?;
    steps.sort_unstable();
    let drop_n = steps.len().saturating_sub(keep.max(1));
    for s in &steps[..drop_n] {
        let p = step_dir(dir, *s);
        std::fs::remove_dir_all(&p).map_err(|e| TrainError::io(&p, e))?;
    }
    Ok(final_dir)
}

/// Steps of the complete checkpoints in `dir`.
fn list(dir: &Path) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(TrainError::io(dir, e)),
    };
    for e in entries {
        let e = e.map_err(|e| TrainError::io(dir, e))?;
        let name = e.file_name();
        if let Some(step) = name.to_str().and_then(|n| n.strip_prefix("step-")).and_then(|s| s.parse().ok())
            && e.path().join(STATE).is_file()
        {
            out.push(step);
        }
    }
    Ok(out)
}

/// A checkpoint read back.
#[derive(Debug)]
pub struct Loaded {
    /// Its directory.
    pub path: PathBuf,
    /// Weights.
    pub model: Vec<u8>,
    /// Optimiser state.
    pub optim: Vec<u8>,
    /// Step, loader position, DWA history.
    pub state: TrainState,
}

/// The newest complete checkpoint in `dir`, if any.
pub fn latest(dir: &Path) -> Result<Option<Loaded>> {
    let Some(step) = list(dir)?.into_iter().max() else { return Ok(None) };
    let path = step_dir(dir, step);
    let read = |name: &str| std::fs::read(path.join(name)).map_err(|e| TrainError::io(path.join(name), e));
    let state: TrainState = serde_json::from_slice(&read(STATE)?)
        .map_err(|e| TrainError::Checkpoint { path: path.join(STATE), message: e.to_string() })?;
    Ok(Some(Loaded { model: read(MODEL)?, optim: read(OPTIM)?, state, path }))
}
