//! Procedural humans, actions, scenes and a rasteriser: the embedded
//! default dataset, written in the real formats.
//!
//! No real dataset can be downloaded where actionbench runs, so the demo,
//! the tests and the benchmarks read data made here — through the same
//! readers and ingest stages as real data. [`generate`] writes, from a
//! [`Preset`] and a seed:
//!
//! | folder | format | made of |
//! | --- | --- | --- |
//! | `ntu/nturgb+d_skeletons/` | NTU `.skeleton` text, names `SsssCcccPpppRrrrAaaa` | each performance seen by 3 NTU-like cameras |
//! | `kinetics/` | ST-GCN Kinetics-skeleton JSON + label index | 2D OpenPose-18 projections with scores |
//! | `h36m/` | VideoPose3D `data_3d_h36m.npz`, `data_2d_h36m_gt.npz`, `data_2d_h36m_cpn_ft_h36m_dbb.npz`, `cameras.json` | 32-joint world poses, 4 cameras of 17-joint 2D (exact and CPN-like noisy), camera extrinsics |
//! | `ava/`, `phalp/results/` | AVA v2.2 CSVs, pbtxt, exclusions; PHALP joblib results | multi-person scenes with tracks |
//! | `renders/` | mp4 + depth/normals/segmentation PNGs + boxes/3D joints JSON | the humans rasterised in simple rooms (or, with [`RenderScene::Layout`], walking past objects; with [`RenderScene::Gestures`], actions and hand gestures with fingers from three datasets) |
//!
//! plus `synth.json` (what was made) and `classes.txt`. Everything is a
//! function of (preset, seed, classes, formats): every sample has its own
//! random stream ([`rng::rng_for`]), samples are made in parallel, and no
//! file holds a timestamp, so the same inputs give byte-identical files.

pub mod ava_out;
pub mod baseline;
pub mod body;
pub mod camera;
mod error;
pub mod gestures;
pub mod h36m_out;
pub mod hands;
pub mod kinetics_out;
pub mod layouts;
pub mod math;
pub mod motion;
pub mod ntu_out;
pub mod perform;
pub mod render;
pub mod rng;
pub mod scene;
pub mod smpl;

use std::collections::BTreeSet;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

pub use error::SynthError;

/// `Result` with this crate's error.
pub type Result<T, E = SynthError> = std::result::Result<T, E>;
pub use motion::CLASSES;

/// Dataset size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Seconds, for tests.
    Tiny,
    /// The demo: enough data for models to learn.
    Small,
    /// Benchmarks: ≥ 50k skeleton sequences, ≥ 2k videos, streamed.
    Large,
}

impl std::str::FromStr for Preset {
    type Err = SynthError;
    fn from_str(s: &str) -> Result<Self, SynthError> {
        match s {
            "tiny" => Ok(Self::Tiny),
            "small" => Ok(Self::Small),
            "large" => Ok(Self::Large),
            other => Err(SynthError::invalid(format!("unknown preset `{other}`"), "Use one of: tiny, small, large")),
        }
    }
}

impl Preset {
    /// `tiny`, `small` or `large`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tiny => "tiny",
            Self::Small => "small",
            Self::Large => "large",
        }
    }

    /// The sizes of this preset.
    pub fn spec(self) -> PresetSpec {
        match self {
            Self::Tiny => PresetSpec {
                ntu_subjects: 4,
                ntu_setup_passes: 1,
                ntu_replications: 1,
                ntu_frame_scale: 0.4,
                kinetics_videos: 24,
                h36m_frame_scale: 0.3,
                ava_videos: 2,
                ava_val_videos: 0,
                ava_seconds: 4,
                ava_fps: 10,
                render_clips: 4,
                render_size: (64, 48),
                render_frames: 8,
            },
            Self::Small => PresetSpec {
                ntu_subjects: 40,
                ntu_setup_passes: 1,
                ntu_replications: 2,
                ntu_frame_scale: 0.8,
                kinetics_videos: 1000,
                h36m_frame_scale: 2.0,
                ava_videos: 109,
                ava_val_videos: 64,
                ava_seconds: 8,
                ava_fps: 30,
                render_clips: 100,
                render_size: (160, 120),
                render_frames: 32,
            },
            Self::Large => PresetSpec {
                ntu_subjects: 106,
                ntu_setup_passes: 4,
                ntu_replications: 2,
                ntu_frame_scale: 1.0,
                kinetics_videos: 20_000,
                h36m_frame_scale: 8.0,
                ava_videos: 100,
                ava_val_videos: 25,
                ava_seconds: 30,
                ava_fps: 30,
                render_clips: 2000,
                render_size: (160, 120),
                render_frames: 48,
            },
        }
    }
}

/// Sizes of a preset.
#[derive(Debug, Clone, Serialize)]
pub struct PresetSpec {
    /// NTU performers (1..=n; ≤ 40 keeps names in NTU60's ranges).
    pub ntu_subjects: u16,
    /// Setups each performer is recorded in.
    pub ntu_setup_passes: u16,
    /// Replications (R001 faces the left camera, R002 the right one).
    pub ntu_replications: u16,
    /// Clip length factor (1 ≈ NTU's lengths at 30 fps).
    pub ntu_frame_scale: f64,
    /// Kinetics-skeleton videos.
    pub kinetics_videos: usize,
    /// Human3.6M sequence length factor (1 ≈ 2 s at 50 Hz).
    pub h36m_frame_scale: f64,
    /// AVA-style videos (each with a PHALP result file), train and val.
    pub ava_videos: usize,
    /// How many of them (the last ones) are the val split. Every video
    /// holds two single-person actions and one two-person action, taken in
    /// turn from the class list, so each class has about the same number
    /// of positives in each split (the `small` preset, 45 train and 64 val
    /// videos: 48 or more val keyframe positives and 30 or more train ones
    /// per AVA class, enough for a class's AP to mean something).
    pub ava_val_videos: usize,
    /// Seconds per AVA-style video.
    pub ava_seconds: u32,
    /// Frames per second of AVA-style videos.
    pub ava_fps: u32,
    /// Render clips.
    pub render_clips: usize,
    /// Render width and height (even).
    pub render_size: (u32, u32),
    /// Frames per render clip.
    pub render_frames: usize,
}

/// One of the output families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// NTU `.skeleton` files.
    Ntu,
    /// Kinetics-skeleton JSON.
    Kinetics,
    /// AVA CSVs and PHALP joblib files.
    Phalp,
    /// VideoPose3D Human3.6M npz files.
    H36m,
    /// Rendered clips with auxiliary labels.
    Renders,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 5] = [Format::Ntu, Format::Kinetics, Format::Phalp, Format::H36m, Format::Renders];

    /// Its name in `--formats` and stage params.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ntu => "ntu",
            Self::Kinetics => "kinetics",
            Self::Phalp => "phalp",
            Self::H36m => "h36m",
            Self::Renders => "renders",
        }
    }

    /// Parses a name (`ava` is accepted for `phalp`).
    pub fn parse(s: &str) -> Result<Self, SynthError> {
        match s.trim() {
            "ntu" => Ok(Self::Ntu),
            "kinetics" => Ok(Self::Kinetics),
            "phalp" | "ava" => Ok(Self::Phalp),
            "h36m" => Ok(Self::H36m),
            "renders" => Ok(Self::Renders),
            other => Err(SynthError::invalid(
                format!("unknown format `{other}`"),
                "Formats are: ntu, kinetics, phalp (with the AVA files), h36m, renders",
            )),
        }
    }
}

/// Which scene set the render clips show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderScene {
    /// The action classes in a simple room (the original set).
    #[default]
    Actions,
    /// One person walking relative to one object: four verbs told apart
    /// by 3D layout, real and synthetic domains ([`scene`]).
    Layout,
    /// Action clips and hand gestures (fingers drawn) from an action set,
    /// a gesture set and an NTU-like set of both ([`gestures`]).
    Gestures,
}

impl RenderScene {
    /// `actions`, `layout` or `gestures`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Actions => "actions",
            Self::Layout => "layout",
            Self::Gestures => "gestures",
        }
    }
}

impl std::str::FromStr for RenderScene {
    type Err = SynthError;
    fn from_str(s: &str) -> Result<Self, SynthError> {
        match s {
            "actions" => Ok(Self::Actions),
            "layout" => Ok(Self::Layout),
            "gestures" => Ok(Self::Gestures),
            other => Err(SynthError::invalid(
                format!("unknown render scene `{other}`"),
                "Use one of: actions (the action classes), layout (approach / retreat / pass in front / pass behind an object), gestures (actions and hand gestures from an action set, a gesture set and an NTU-like set)",
            )),
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// Size preset.
    pub preset: Preset,
    /// Seed of every random stream.
    pub seed: u64,
    /// Class indices to generate (all when empty).
    pub classes: Vec<usize>,
    /// Output families to write.
    pub formats: BTreeSet<Format>,
    /// Render clips instead of the preset's count (a video model needs
    /// more clips than the demo's other parts need renders).
    pub render_clips: Option<usize>,
    /// The render scene set.
    pub render_scene: RenderScene,
    /// Fraction of layout clips in the real domain.
    pub real_fraction: f64,
}

impl SynthConfig {
    /// All classes and formats of `preset`.
    pub fn new(preset: Preset, seed: u64) -> Self {
        Self {
            preset,
            seed,
            classes: Vec::new(),
            formats: Format::ALL.into_iter().collect(),
            render_clips: None,
            render_scene: RenderScene::Actions,
            real_fraction: 0.0,
        }
    }

    /// Selects classes by name; unknown names are an error listing the valid ones.
    pub fn with_class_names<S: AsRef<str>>(mut self, names: &[S]) -> Result<Self, SynthError> {
        let mut out = Vec::new();
        for n in names {
            let n = n.as_ref().trim();
            let i = CLASSES.iter().position(|c| c.name == n).ok_or_else(|| {
                let all: Vec<&str> = CLASSES.iter().map(|c| c.name).collect();
                SynthError::invalid(format!("unknown class `{n}`"), format!("Classes are: {}", all.join(", ")))
            })?;
            out.push(i);
        }
        out.sort_unstable();
        out.dedup();
        self.classes = out;
        Ok(self)
    }

    /// The sizes to generate: the preset's, with the overrides applied.
    pub fn spec(&self) -> PresetSpec {
        let mut spec = self.preset.spec();
        if let Some(n) = self.render_clips {
            spec.render_clips = n;
        }
        spec
    }

    /// Sets the number of render clips (at least 1, at most 1,000,000).
    pub fn with_render_clips(mut self, clips: Option<usize>) -> Result<Self, SynthError> {
        if let Some(n) = clips
            && !(1..=1_000_000).contains(&n)
        {
            return Err(SynthError::invalid(
                format!("render clips must be between 1 and 1000000, got {n}"),
                "Leave it out to use the preset's count",
            ));
        }
        self.render_clips = clips;
        Ok(self)
    }

    /// Sets the render scene set (after the classes: the layout and
    /// gestures scenes have their own vocabularies, so chosen classes are
    /// an error).
    pub fn with_render_scene(mut self, scene: RenderScene) -> Result<Self, SynthError> {
        if scene == RenderScene::Layout && !self.classes.is_empty() {
            return Err(SynthError::invalid(
                "classes cannot be chosen with the layout render scene: it has its own four verbs",
                "Leave `classes` out (the layout verbs are approach, retreat, pass in front, pass behind), or use render-scene = \"actions\"",
            ));
        }
        if scene == RenderScene::Gestures && !self.classes.is_empty() {
            return Err(SynthError::invalid(
                "classes cannot be chosen with the gestures render scene: it has its own action and gesture vocabularies",
                "Leave `classes` out (every dataset of the scene uses its whole class list), or use render-scene = \"actions\"",
            ));
        }
        self.render_scene = scene;
        Ok(self)
    }

    /// Sets the fraction of real-domain clips (layout scene only, in [0, 1]).
    pub fn with_real_fraction(mut self, fraction: Option<f64>) -> Result<Self, SynthError> {
        let Some(f) = fraction else { return Ok(self) };
        if self.render_scene != RenderScene::Layout {
            return Err(SynthError::invalid(
                "a real fraction only applies to the layout render scene",
                "Set render-scene = \"layout\", or leave real-fraction out",
            ));
        }
        if !(0.0..=1.0).contains(&f) {
            return Err(SynthError::invalid(
                format!("real fraction must be between 0 and 1, got {f}"),
                "0.5 makes every other clip real",
            ));
        }
        self.real_fraction = f;
        Ok(self)
    }

    /// The selected class indices.
    pub fn class_indices(&self) -> Vec<usize> {
        if self.classes.is_empty() { (0..CLASSES.len()).collect() } else { self.classes.clone() }
    }
}

/// Progress of a generation run (the CLI draws bars; stages report to the engine).
pub trait Progress: Sync {
    /// A part starts with `total` items.
    fn start(&self, part: &str, total: u64);
    /// `n` more items of the current part are done.
    fn advance(&self, n: u64);
    /// The current part is done.
    fn finish(&self, part: &str);
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self, _: &str) {}
}

/// What a run wrote (`synth.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// `actionbench-synth`.
    pub generator: &'static str,
    /// Bumped when the output for the same config changes.
    pub version: u32,
    /// Preset name.
    pub preset: Preset,
    /// Seed.
    pub seed: u64,
    /// Formats written.
    pub formats: Vec<Format>,
    /// The classes: label (0-based), NTU action number, name, people.
    pub classes: Vec<serde_json::Value>,
    /// Per format: counts and paths.
    pub outputs: serde_json::Map<String, serde_json::Value>,
}

/// Version of the generator's output (part of `synth.json`): 2 since AVA
/// scenes take their classes in turn and `small` has 45 + 64 AVA videos;
/// 3 since `h36m/` holds CPN-like detections and `cameras.json`.
pub const GENERATOR_VERSION: u32 = 3;

/// Items per parallel batch: bounds memory whatever the preset.
const BATCH: usize = 256;

/// Runs `f` over `items` in parallel batches, reporting progress.
pub(crate) fn for_each_batched<T: Sync>(
    items: &[T],
    progress: &dyn Progress,
    f: impl Fn(&T) -> Result<(), SynthError> + Sync,
) -> Result<(), SynthError> {
    for chunk in items.chunks(BATCH) {
        chunk.par_iter().try_for_each(&f)?;
        progress.advance(chunk.len() as u64);
    }
    Ok(())
}

pub(crate) fn create_dir(path: &Path) -> Result<(), SynthError> {
    std::fs::create_dir_all(path).map_err(|e| SynthError::io(path, e))
}

pub(crate) fn write_file(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), SynthError> {
    std::fs::write(path, bytes).map_err(|e| SynthError::io(path, e))
}

/// Generates the dataset into `out` (created if missing) and writes
/// `synth.json`; returns the summary.
pub fn generate(config: &SynthConfig, out: &Path, progress: &dyn Progress) -> Result<Summary, SynthError> {
    create_dir(out)?;
    let spec = config.spec();
    let classes = config.class_indices();
    let mut outputs = serde_json::Map::new();
    let names: String = CLASSES.iter().map(|c| format!("{}\n", c.name)).collect();
    write_file(&out.join("classes.txt"), names)?;
    for format in &config.formats {
        let value = match format {
            Format::Ntu => ntu_out::write_all(config.seed, &spec, &classes, &out.join("ntu"), progress)?,
            Format::Kinetics => kinetics_out::write_all(config.seed, &spec, &classes, &out.join("kinetics"), progress)?,
            Format::H36m => h36m_out::write_all(config.seed, &spec, &out.join("h36m"), progress)?,
            Format::Phalp => ava_out::write_all(config.seed, &spec, &classes, out, progress)?,
            Format::Renders => match config.render_scene {
                RenderScene::Actions => {
                    render::write_all(config.seed, &spec, &classes, &out.join("renders"), progress)?
                }
                RenderScene::Layout => {
                    scene::write_all(config.seed, &spec, config.real_fraction, &out.join("renders"), progress)?
                }
                RenderScene::Gestures => gestures::write_all(config.seed, &spec, &out.join("renders"), progress)?,
            },
        };
        outputs.insert(format.name().to_string(), value);
    }
    let summary = Summary {
        generator: "actionbench-synth",
        version: GENERATOR_VERSION,
        preset: config.preset,
        seed: config.seed,
        formats: config.formats.iter().copied().collect(),
        classes: CLASSES
            .iter()
            .enumerate()
            .filter(|(i, _)| classes.contains(i))
            .map(|(i, c)| serde_json::json!({"label": i, "ntu_action": i + 1, "name": c.name, "persons": c.persons}))
            .collect(),
        outputs,
    };
    let text = serde_json::to_string_pretty(&summary).map_err(|e| SynthError::invalid(e.to_string(), ""))?;
    write_file(&out.join("synth.json"), text + "\n")?;
    Ok(summary)
}
