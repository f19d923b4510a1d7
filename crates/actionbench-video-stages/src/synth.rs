//! `synth`: the procedural dataset as a stage, so generated data is
//! content-hashed and cached like any source.
//!
//! ```toml
//! [stages.data]
//! uses = "synth"
//! params = { preset = "small", seed = 0 }   # classes = ["clapping", …], formats = ["ntu", "renders", …], render-clips = 1000
//! ```
//!
//! `render-scene = "layout"` (with `real-fraction`) renders the layout
//! scene set instead of the action classes (see `actionbench_synth::scene`);
//! `render-scene = "gestures"` renders action and hand-gesture clips from
//! an action set, a gesture set and an NTU-like set of both, each clip with
//! its `task`, `dataset` and cross-subject `split` (see
//! `actionbench_synth::gestures`).
//!
//! The output folder holds the generator's tree (`ntu/`, `kinetics/`,
//! `h36m/`, `ava/`, `phalp/results/`, `renders/`, `classes.txt`) and
//! `synth.json`, the summary. Downstream stages read it with
//! `inputs = ["@data"]` (for example `ingest.ntu` on
//! `{@data}/ntu/nturgb+d_skeletons`). The output depends only on the
//! params: same params, same bytes.

use std::sync::atomic::{AtomicU64, Ordering};

use actionbench_pipeline::{ParamError, StageContext, StageError, StageKind};
use actionbench_synth::{Format, Preset, RenderScene, SynthConfig};
use serde::{Deserialize, Serialize};

/// Params of `synth`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SynthParams {
    /// `tiny`, `small` or `large`.
    #[serde(default = "tiny")]
    preset: String,
    /// Seed of every random stream.
    #[serde(default)]
    seed: u64,
    /// Class names to generate (all when empty).
    #[serde(default)]
    classes: Vec<String>,
    /// Output families: `ntu`, `kinetics`, `phalp` (with the AVA files), `h36m`, `renders` (all when empty).
    #[serde(default)]
    formats: Vec<String>,
    /// Render clips instead of the preset's count (`small`: 100), e.g. to train a video model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    render_clips: Option<usize>,
    /// Render scene set: `actions` (the action classes), `layout` (one person approaching, retreating from, or passing in front of or behind an object; real and synthetic domains, its own four verbs, so no `classes`) or `gestures` (action clips and hand gestures with fingers from a UCF-like action set, an IsoGD-like close-up gesture set and an NTU-like set of both by the same performers; `task`, `dataset` and cross-subject `split` per clip; its own action and gesture vocabularies, so no `classes`). Left at `actions`, the stage's key is unchanged.
    #[serde(default = "actions", skip_serializing_if = "is_actions")]
    render_scene: String,
    /// Fraction of `layout` clips in the "real" domain (0–1, default 0): textured, relit, noisy, no auxiliary labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    real_fraction: Option<f64>,
}

fn tiny() -> String {
    "tiny".into()
}

fn actions() -> String {
    "actions".into()
}

fn is_actions(s: &str) -> bool {
    s == "actions"
}

impl SynthParams {
    fn config(&self) -> Result<SynthConfig, String> {
        let show = |e: actionbench_synth::SynthError| match actionbench_core::Diagnose::hint(&e) {
            Some(h) => format!("{e} ({h})"),
            None => e.to_string(),
        };
        let preset: Preset = self.preset.parse().map_err(|e| format!("`preset`: {}", show(e)))?;
        let mut config = SynthConfig::new(preset, self.seed)
            .with_class_names(&self.classes)
            .map_err(|e| format!("`classes`: {}", show(e)))?
            .with_render_clips(self.render_clips)
            .map_err(|e| format!("`render-clips`: {}", show(e)))?;
        let scene: RenderScene = self.render_scene.parse().map_err(|e| format!("`render-scene`: {}", show(e)))?;
        config = config.with_render_scene(scene).map_err(|e| format!("`classes`: {}", show(e)))?;
        config = config.with_real_fraction(self.real_fraction).map_err(|e| format!("`real-fraction`: {}", show(e)))?;
        if !self.formats.is_empty() {
            config.formats = self
                .formats
                .iter()
                .map(|f| Format::parse(f))
                .collect::<Result<_, _>>()
                .map_err(|e| format!("`formats`: {}", show(e)))?;
        }
        Ok(config)
    }
}

/// The `synth` kind.
pub struct Synth;

/// Forwards the generator's progress to the engine: one count over all
/// parts, whose total grows as each part starts.
struct StageProgress<'a> {
    ctx: &'a StageContext<'a>,
    done: AtomicU64,
    total: AtomicU64,
}

impl actionbench_synth::Progress for StageProgress<'_> {
    fn start(&self, _part: &str, total: u64) {
        self.total.fetch_add(total, Ordering::Relaxed);
    }
    fn advance(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        self.ctx.progress(done, Some(self.total.load(Ordering::Relaxed)));
    }
    fn finish(&self, _part: &str) {}
}

impl StageKind for Synth {
    fn name(&self) -> &'static str {
        "synth"
    }

    fn implementation_version(&self) -> u32 {
        actionbench_synth::GENERATOR_VERSION
    }
    fn description(&self) -> &'static str {
        "The procedural dataset as a stage, so generated data is content-hashed and cached like any source."
    }

    type Params = SynthParams;
    fn check(&self, p: &SynthParams) -> Result<(), ParamError> {
        p.config()?;
        Ok(())
    }
    fn canonical(&self, p: &SynthParams) -> Result<toml::Table, ParamError> {
        let config = p.config()?;
        let mut canonical = actionbench_pipeline::to_table(p)?;
        // Canonical lists: sorted, no duplicates, so equivalent params hash alike.
        let classes: Vec<toml::Value> =
            config.classes.iter().map(|&i| toml::Value::String(actionbench_synth::CLASSES[i].name.into())).collect();
        canonical.insert("classes".into(), toml::Value::Array(classes));
        let formats: Vec<toml::Value> = if p.formats.is_empty() {
            Vec::new()
        } else {
            config.formats.iter().map(|f| toml::Value::String(f.name().into())).collect()
        };
        canonical.insert("formats".into(), toml::Value::Array(formats));
        // 0 is the default: written out or not, the same key.
        if config.real_fraction == 0.0 {
            canonical.remove("real-fraction");
        }
        Ok(canonical)
    }

    fn run(&self, ctx: &StageContext<'_>, p: &SynthParams) -> Result<(), StageError> {
        if !ctx.inputs.is_empty() {
            return Err("`synth` takes no inputs: everything it writes follows from its params".into());
        }
        let config = p.config()?;
        let progress = StageProgress { ctx, done: AtomicU64::new(0), total: AtomicU64::new(0) };
        actionbench_synth::generate(&config, ctx.out_dir, &progress)?;
        Ok(())
    }
}
