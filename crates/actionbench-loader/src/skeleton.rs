//! Skeleton sequences (`joints` `[F, B, J, 3]`, as `ingest.ntu` writes them)
//! → `[3, T, J, M]` (ST-GCN's layout) with a body mask `[T, M]`.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::batch::HostTensor;
use crate::error::LoaderError;
use crate::order::SampleRng;
use crate::sample::{Sample, SampleSource};
use crate::table::Table;
use crate::tensor::row_f32;

/// How skeleton samples are decoded and augmented.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct SkeletonConfig {
    /// Tensor column `[F, B, J, C]`.
    pub joints_column: String,
    /// Sample id column.
    pub id_column: String,
    /// Class column (0-based; absent or negative = unlabelled).
    pub label_column: Option<String>,
    /// Output frames T.
    pub frames: usize,
    /// Output bodies M (more are dropped, fewer zero-padded).
    pub bodies: usize,
    /// Joint whose position in the first frame becomes the origin
    /// (NTU: 1, the middle of the spine); `None` leaves coordinates as they are.
    pub center_joint: Option<usize>,
    /// Random augmentation (training); off = deterministic centre sampling.
    pub augment: bool,
    /// Temporal crop: fraction of the sequence kept, drawn in this range.
    pub crop: [f32; 2],
    /// Largest rotation about the vertical (y) axis, degrees.
    pub rotate_degrees: f32,
    /// Scale drawn in `[1 - scale, 1 + scale]`.
    pub scale: f32,
    /// Mirror x with probability 1/2 and swap left/right joints (`flip_pairs`).
    pub flip: bool,
    /// Left/right joint pairs swapped by a flip (NTU's 25 joints by default).
    pub flip_pairs: Vec<[usize; 2]>,
    /// Early action prediction: only the first `ceil(r · frames)` frames
    /// are observed, `r` drawn from this list per sample (one value: that
    /// ratio always). Empty: the whole sequence.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub observe: Vec<f32>,
}

/// NTU RGB+D 25-joint left/right pairs (0-based).
pub const NTU_FLIP_PAIRS: [[usize; 2]; 10] =
    [[4, 8], [5, 9], [6, 10], [7, 11], [12, 16], [13, 17], [14, 18], [15, 19], [21, 23], [22, 24]];

impl Default for SkeletonConfig {
    fn default() -> Self {
        Self {
            joints_column: "joints".into(),
            id_column: "sample_id".into(),
            label_column: Some("label".into()),
            frames: 64,
            bodies: 2,
            center_joint: Some(1),
            augment: false,
            crop: [0.5, 1.0],
            rotate_degrees: 30.0,
            scale: 0.1,
            flip: false,
            flip_pairs: NTU_FLIP_PAIRS.to_vec(),
            observe: Vec::new(),
        }
    }
}

/// Leading frames observed at ratio `r` of `f`: `ceil(r · f)`, at least one
/// (the rule of `actionbench_metrics::early::observed_frames`).
fn observed(f: usize, r: f32) -> usize {
    ((f64::from(r) * f as f64 - 1e-9).ceil() as usize).clamp(1, f)
}

/// Skeleton samples of a table.
pub struct SkeletonSource {
    table: Arc<Table>,
    config: SkeletonConfig,
}

impl SkeletonSource {
    /// Checks the columns and the config.
    pub fn new(table: Arc<Table>, config: SkeletonConfig) -> Result<Self, LoaderError> {
        if config.frames == 0 || config.bodies == 0 {
            return Err(LoaderError::config(
                "skeleton frames and bodies must be at least 1",
                "set frames = 64, bodies = 2",
            ));
        }
        if let Some(r) = config.observe.iter().find(|r| !(**r > 0.0 && **r <= 1.0)) {
            return Err(LoaderError::config(
                format!("observation ratio {r} is not in (0, 1]"),
                "use fractions of the sequence, e.g. observe = [0.2, 0.4, 0.6]",
            ));
        }
        let [lo, hi] = config.crop;
        if !(0.0 < lo && lo <= hi && hi <= 1.0) {
            return Err(LoaderError::config(
                format!("crop range [{lo}, {hi}] is not within (0, 1]"),
                "use e.g. crop = [0.5, 1.0]",
            ));
        }
        table.require(&config.joints_column)?;
        table.require(&config.id_column)?;
        if let Some(l) = &config.label_column {
            table.require(l)?;
        }
        Ok(Self { table, config })
    }

    fn bad(&self, index: usize, message: String) -> LoaderError {
        let sample = self.table.string(&self.config.id_column, index).unwrap_or_default();
        LoaderError::BadSample { sample, row: index, message: format!("{message} (in {})", self.table.origin()) }
    }
}

impl SampleSource for SkeletonSource {
    fn len(&self) -> usize {
        self.table.len()
    }

    fn sample(&self, index: usize, rng: &mut SampleRng) -> Result<Sample, LoaderError> {
        let c = &self.config;
        let (batch, r) = self.table.locate(index).ok_or_else(|| self.bad(index, "row out of range".into()))?;
        let (shape, data) = row_f32(batch, &c.joints_column, r).map_err(|m| self.bad(index, m))?;
        let [f, b, j, ch] = shape[..] else {
            return Err(self.bad(
                index,
                format!("`{}` has shape {shape:?}, expected [frames, bodies, joints, 3]", c.joints_column),
            ));
        };
        if f == 0 || ch == 0 || j == 0 {
            return Err(self.bad(index, format!("`{}` has shape {shape:?}: no frame to sample", c.joints_column)));
        }
        if let Some(cj) = c.center_joint
            && cj >= j
        {
            return Err(self.bad(index, format!("centre joint {cj} is not among its {j} joints")));
        }
        let (t_out, m_out) = (c.frames, c.bodies);
        let at = |fi: usize, bi: usize, ji: usize| ((fi * b + bi) * j + ji) * ch;
        // Early prediction: the frames after the observed part do not exist.
        let f = match c.observe.as_slice() {
            [] => f,
            [r] => observed(f, *r),
            many => observed(f, many[rng.random_range(0..many.len())]),
        };
        let present = |fi: usize, bi: usize| data[at(fi, bi, 0)..at(fi, bi, 0) + j * ch].iter().any(|&v| v != 0.0);

        // Temporal crop, then uniform resampling to T frames (random offset
        // inside each segment when augmenting, the segment centre otherwise).
        let (start, len) = if c.augment {
            let frac = if c.crop[0] < c.crop[1] { rng.random_range(c.crop[0]..=c.crop[1]) } else { c.crop[0] };
            let len = ((f as f32 * frac).round() as usize).clamp(1, f);
            (rng.random_range(0..=f - len), len)
        } else {
            (0, f)
        };
        let frames: Vec<usize> = (0..t_out)
            .map(|t| {
                let u: f32 = if c.augment { rng.random() } else { 0.5 };
                start + (((t as f32 + u) * len as f32 / t_out as f32) as usize).min(len - 1)
            })
            .collect();

        let origin: [f32; 3] = match c.center_joint {
            Some(cj) => {
                let fi = (0..f).find(|&fi| present(fi, 0)).unwrap_or(0);
                let o = at(fi, 0, cj);
                [data[o], if ch > 1 { data[o + 1] } else { 0.0 }, if ch > 2 { data[o + 2] } else { 0.0 }]
            }
            None => [0.0; 3],
        };
        let (cos, sin, scale, flip) = if c.augment {
            let max = c.rotate_degrees.abs().to_radians();
            let a = if max > 0.0 { rng.random_range(-max..=max) } else { 0.0 };
            let s = if c.scale > 0.0 { rng.random_range(1.0 - c.scale..=1.0 + c.scale) } else { 1.0 };
            let flip = c.flip && rng.random_bool(0.5);
            (a.cos(), a.sin(), s, flip)
        } else {
            (1.0, 0.0, 1.0, false)
        };
        let mut mirror: Vec<usize> = (0..j).collect();
        if flip {
            for &[l, r] in &c.flip_pairs {
                if l < j && r < j {
                    mirror.swap(l, r);
                }
            }
        }

        // Output [C, T, J, M] and mask [T, M].
        let mut out = vec![0.0f32; ch * t_out * j * m_out];
        let mut mask = vec![0.0f32; t_out * m_out];
        let idx = |ci: usize, t: usize, ji: usize, mi: usize| ((ci * t_out + t) * j + ji) * m_out + mi;
        for (t, &fi) in frames.iter().enumerate() {
            for mi in 0..m_out.min(b) {
                if !present(fi, mi) {
                    continue;
                }
                mask[t * m_out + mi] = 1.0;
                for (ji, &src_j) in mirror.iter().enumerate() {
                    let o = at(fi, mi, src_j);
                    let mut p = [0.0f32; 3];
                    for (k, v) in p.iter_mut().enumerate().take(ch.min(3)) {
                        *v = data[o + k] - origin[k];
                    }
                    if flip {
                        p[0] = -p[0];
                    }
                    // Rotation about y: x' = x cos + z sin, z' = -x sin + z cos.
                    let (x, z) = (p[0] * cos + p[2] * sin, -p[0] * sin + p[2] * cos);
                    p[0] = x;
                    p[2] = z;
                    for (k, v) in p.iter().enumerate().take(ch.min(3)) {
                        out[idx(k, t, ji, mi)] = v * scale;
                    }
                    for k in 3..ch {
                        out[idx(k, t, ji, mi)] = data[o + k];
                    }
                }
            }
        }
        let label = match &c.label_column {
            Some(col) => self.table.int(col, index)?.unwrap_or(-1),
            None => -1,
        };
        let mut tensors = BTreeMap::new();
        tensors.insert("joints".to_string(), HostTensor { shape: vec![ch, t_out, j, m_out], data: out });
        tensors.insert("body_mask".to_string(), HostTensor { shape: vec![t_out, m_out], data: mask });
        Ok(Sample {
            id: self.table.string(&c.id_column, index)?,
            tensors,
            label,
            multi_label: None,
            label_masks: BTreeMap::from([("action".to_string(), label >= 0)]),
        })
    }
}
