//! Video clips (`ingest.video`'s `frames`, `ingest.renders`' `rgb`) →
//! `clip` `[3, T, S, S]`, sampled and augmented as PySlowFast does, with the
//! synthetic renders' labels carried through the same frames, crop, resize
//! and flip.
//!
//! Temporal sampling (PySlowFast `get_start_end_idx` + `temporal_sampling`):
//! a window of T·τ source frames — random start in training, the k-th of K
//! uniformly spaced starts (the middle one when K = 1) at test — from which
//! T frames are taken at `linspace(start, start + T·τ − 1, T)`, rounded
//! down. A clip shorter than T·τ starts at frame 0 and the indices past its
//! end repeat its last frame (PySlowFast clamps them the same way).
//!
//! Spatial: in training the short side is scaled to a size drawn uniformly
//! in `jitter-scales`, then a random `crop-size` square is cut and mirrored
//! with probability ½; at test the short side is scaled to `crop-size` and C
//! ∈ {1, 3} squares are cut along the long side (centre; or start, centre,
//! end). Frames are resampled bilinearly (half-pixel centres, as
//! `torch.nn.functional.interpolate(align_corners=False)`), only inside the
//! crop; label maps take the nearest pixel, so classes and depths are never
//! blended.
//!
//! Frames are normalised to f32 on the host (`(v / 255 − mean) / std`): the
//! batches are [`HostTensor`]s of f32 like every other source's, and on the
//! CPU backend the normalisation is one pass over memory either way. (On a
//! GPU, sending uint8 and normalising there would move 4× fewer bytes; that
//! waits for a u8 host tensor.)
//!
//! Test samples are views: with K clips and C crops, sample `i` of the
//! source is view `i % (K·C)` (clip-major, as mmaction2 lays them out) of
//! row `i / (K·C)`, and every view carries the row's id, so `predict` can
//! average consecutive views per sample.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::batch::HostTensor;
use crate::error::LoaderError;
use crate::order::SampleRng;
use crate::sample::{Sample, SampleSource};
use crate::skeleton::NTU_FLIP_PAIRS;
use crate::table::Table;
use crate::tensor::row_f32;

/// How clips are sampled and augmented.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClipConfig {
    /// The frames column: JPEG files (list<binary>) or raw RGB (tensor
    /// uint8 `[F, H, W, 3]`). Default: `frames` (`ingest.video`), else `rgb`
    /// (`ingest.renders`).
    pub frames_column: Option<String>,
    /// Sample id column.
    pub id_column: String,
    /// Class column (0-based; absent or negative = unlabelled).
    pub label_column: Option<String>,
    /// Frames per clip, T.
    pub num_frames: usize,
    /// Source frames between two clip frames, τ.
    pub sampling_rate: usize,
    /// Side of the square crop, S.
    pub crop_size: usize,
    /// Training: the short side is scaled to a size drawn in this range.
    pub jitter_scales: [usize; 2],
    /// Training mode: random window, scale jitter, random crop and flip.
    /// Off: K × C test views.
    pub augment: bool,
    /// Mirror with probability ½ in training.
    pub flip: bool,
    /// Test clips per sample, K.
    pub test_clips: usize,
    /// Test crops per clip, C (1 or 3).
    pub test_crops: usize,
    /// Per-channel mean of the normalisation (RGB, in [0, 1]).
    pub mean: [f32; 3],
    /// Per-channel standard deviation of the normalisation.
    pub std: [f32; 3],
    /// Also output the render labels (`ingest.renders` tables).
    pub render_labels: bool,
    /// Side of the label maps (depth, normals, segmentation); default the crop size.
    pub label_size: Option<usize>,
    /// Depth is clipped to this many metres.
    pub max_depth: f32,
    /// Box slots per frame.
    pub max_boxes: usize,
    /// People slots of the 3D joints.
    pub max_people: usize,
}

impl Default for ClipConfig {
    fn default() -> Self {
        Self {
            frames_column: None,
            id_column: "sample_id".into(),
            label_column: Some("label".into()),
            num_frames: 16,
            sampling_rate: 4,
            crop_size: 224,
            jitter_scales: [256, 320],
            augment: false,
            flip: true,
            test_clips: 1,
            test_crops: 1,
            mean: [0.45; 3],
            std: [0.225; 3],
            render_labels: false,
            label_size: None,
            max_depth: 10.0,
            max_boxes: 4,
            max_people: 2,
        }
    }
}

impl ClipConfig {
    /// The columns this config reads from a table whose columns are
    /// `available` (the frames, id and label; the render labels when asked):
    /// a render table's label columns are most of its bytes, so training on
    /// the frames alone should not decode them.
    pub fn columns(&self, available: &[String]) -> Vec<String> {
        let has = |name: &str| available.iter().any(|a| a == name);
        let frames = match &self.frames_column {
            Some(name) => name.clone(),
            None if !has("frames") && has("rgb") => "rgb".into(),
            None => "frames".into(),
        };
        let mut out = vec![self.id_column.clone(), frames];
        out.extend(self.label_column.clone());
        if self.render_labels {
            for name in ["depth", "normals", "segmentation", "boxes", "joints3d"] {
                out.push(name.into());
                out.push(format!("has_{name}"));
            }
        }
        out
    }
}

/// Clips of a video or render table.
pub struct ClipSource {
    table: Arc<Table>,
    config: ClipConfig,
    frames_column: String,
}

/// Where a view's pixels come from: the sampled source frames and the map
/// from crop pixels to source pixels.
#[derive(Debug, Clone, Copy)]
struct View {
    /// Source frame size.
    width: usize,
    height: usize,
    /// Size after the short-side scaling.
    scaled_w: usize,
    scaled_h: usize,
    /// Crop offset in the scaled frame.
    x0: usize,
    y0: usize,
    /// Crop side.
    size: usize,
    flip: bool,
}

impl View {
    /// Source x (continuous, half-pixel centres) of crop column `j` (after the flip).
    fn src_x(&self, j: f32) -> f32 {
        let j = if self.flip { self.size as f32 - 1.0 - j } else { j };
        (self.x0 as f32 + j + 0.5) * self.width as f32 / self.scaled_w as f32 - 0.5
    }

    fn src_y(&self, i: f32) -> f32 {
        (self.y0 as f32 + i + 0.5) * self.height as f32 / self.scaled_h as f32 - 0.5
    }

    /// The source pixel nearest to the centre of cell (i, j) of an `l × l`
    /// label map covering the crop.
    fn nearest(&self, i: usize, j: usize, l: usize) -> (usize, usize) {
        let scale = self.size as f32 / l as f32;
        let (ci, cj) = ((i as f32 + 0.5) * scale - 0.5, (j as f32 + 0.5) * scale - 0.5);
        let x = self.src_x(cj).round().clamp(0.0, self.width as f32 - 1.0) as usize;
        let y = self.src_y(ci).round().clamp(0.0, self.height as f32 - 1.0) as usize;
        (y, x)
    }

    /// A source point (pixels) in crop coordinates, flip applied.
    fn crop_point(&self, x: f32, y: f32) -> (f32, f32) {
        let cx = x * self.scaled_w as f32 / self.width as f32 - self.x0 as f32;
        let cy = y * self.scaled_h as f32 / self.height as f32 - self.y0 as f32;
        (if self.flip { self.size as f32 - cx } else { cx }, cy)
    }
}

/// PySlowFast's short-side scaling: the short side becomes `size`, the long
/// side `floor(long / short · size)`.
fn scaled(width: usize, height: usize, size: usize) -> (usize, usize) {
    if width <= height {
        (size, ((height as f64 / width as f64) * size as f64).floor() as usize)
    } else {
        (((width as f64 / height as f64) * size as f64).floor() as usize, size)
    }
}

/// The T source frame indices of a window starting at `start` in a clip of
/// `n` frames.
fn frame_indices(n: usize, start: f64, t: usize, rate: usize) -> Vec<usize> {
    let span = (t * rate) as f64 - 1.0;
    (0..t)
        .map(|k| {
            let at = if t > 1 { start + span * k as f64 / (t - 1) as f64 } else { start };
            (at.max(0.0) as usize).min(n - 1)
        })
        .collect()
}

/// Decoded frames of one row: RGB24, `height × width`.
struct Frames {
    width: usize,
    height: usize,
    /// Per sampled frame (by position in the sampled list).
    pixels: Vec<Vec<u8>>,
}

fn decode_jpeg(bytes: &[u8]) -> Result<(Vec<u8>, usize, usize), String> {
    use zune_jpeg::zune_core::{bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions};
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(
        ZCursor::new(bytes),
        DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB),
    );
    let pixels = dec.decode().map_err(|e| format!("not a JPEG: {e}"))?;
    let (w, h) = dec.dimensions().ok_or("a JPEG without dimensions")?;
    Ok((pixels, w, h))
}

impl ClipSource {
    /// Checks the columns and the config.
    pub fn new(table: Arc<Table>, config: ClipConfig) -> Result<Self, LoaderError> {
        let c = &config;
        if c.num_frames == 0 || c.sampling_rate == 0 || c.crop_size == 0 {
            return Err(LoaderError::config(
                "clip num-frames, sampling-rate and crop-size must be at least 1",
                "MViTv2-S takes num-frames = 16, sampling-rate = 4, crop-size = 224",
            ));
        }
        if c.jitter_scales[0] < c.crop_size || c.jitter_scales[0] > c.jitter_scales[1] {
            return Err(LoaderError::config(
                format!(
                    "jitter-scales {:?} must be an increasing range starting at crop-size {} or above",
                    c.jitter_scales, c.crop_size
                ),
                "PySlowFast trains with jitter-scales = [256, 320] and crop-size = 224",
            ));
        }
        if c.test_clips == 0 || !matches!(c.test_crops, 1 | 3) {
            return Err(LoaderError::config(
                format!("test-clips = {} and test-crops = {}", c.test_clips, c.test_crops),
                "test-clips is at least 1 and test-crops is 1 or 3",
            ));
        }
        if c.std.iter().any(|&s| s <= 0.0) || c.label_size == Some(0) || c.max_depth <= 0.0 {
            return Err(LoaderError::config(
                "std, label-size and max-depth must be positive",
                "the defaults are std = [0.225, 0.225, 0.225], max-depth = 10.0",
            ));
        }
        let frames_column = match &c.frames_column {
            Some(name) => name.clone(),
            None => match table.schema() {
                Some(s) if s.field_with_name("frames").is_err() && s.field_with_name("rgb").is_ok() => "rgb".into(),
                _ => "frames".into(),
            },
        };
        table.require(&frames_column)?;
        table.require(&c.id_column)?;
        if let Some(l) = &c.label_column {
            table.require(l)?;
        }
        if c.render_labels {
            for col in ["depth", "normals", "segmentation", "boxes", "joints3d", "has_depth"] {
                table.require(col)?;
            }
        }
        Ok(Self { table, config, frames_column })
    }

    /// Views per row: 1 in training, K × C at test.
    pub fn views(&self) -> usize {
        if self.config.augment { 1 } else { self.config.test_clips * self.config.test_crops }
    }

    fn bad(&self, row: usize, message: impl Into<String>) -> LoaderError {
        let sample = self.table.string(&self.config.id_column, row).unwrap_or_default();
        LoaderError::BadSample { sample, row, message: format!("{} (in {})", message.into(), self.table.origin()) }
    }

    /// The frame count of a row and a way to decode frame `f`.
    fn frame_count(&self, batch: &RecordBatch, r: usize) -> Result<usize, String> {
        let col = batch.column_by_name(&self.frames_column).ok_or("no frames column")?;
        match col.data_type() {
            DataType::List(_) => Ok(col.as_list::<i32>().value(r).len()),
            DataType::LargeList(_) => Ok(col.as_list::<i64>().value(r).len()),
            DataType::Struct(_) => {
                let s = col.as_struct();
                let shape = s.column_by_name("shape").ok_or("a tensor without shape")?;
                let shape = shape.as_fixed_size_list().value(r);
                let shape = arrow::compute::cast(&shape, &DataType::Int64).map_err(|e| e.to_string())?;
                Ok(shape.as_primitive::<arrow::datatypes::Int64Type>().value(0).max(0) as usize)
            }
            other => Err(format!("`{}` has type {other}, not JPEG files or an RGB tensor", self.frames_column)),
        }
    }

    /// Decodes the frames `which` (source indices) of row `r`.
    fn decode(&self, batch: &RecordBatch, r: usize, which: &[usize]) -> Result<Frames, String> {
        let col = batch.column_by_name(&self.frames_column).ok_or("no frames column")?;
        let mut size: Option<(usize, usize)> = None;
        let mut check = |w: usize, h: usize| -> Result<(), String> {
            match size {
                Some(s) if s != (w, h) => Err(format!("frames of {}x{} and {w}x{h} in one clip", s.0, s.1)),
                _ => {
                    size = Some((w, h));
                    Ok(())
                }
            }
        };
        let mut pixels = Vec::with_capacity(which.len());
        match col.data_type() {
            DataType::List(_) | DataType::LargeList(_) => {
                let files = match col.data_type() {
                    DataType::List(_) => col.as_list::<i32>().value(r),
                    _ => col.as_list::<i64>().value(r),
                };
                let files = files.as_binary_opt::<i32>().ok_or("the frames list does not hold binary JPEG files")?;
                // Each distinct frame is decoded once.
                let mut decoded: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
                for &f in which {
                    if let std::collections::btree_map::Entry::Vacant(slot) = decoded.entry(f) {
                        let (p, w, h) = decode_jpeg(files.value(f)).map_err(|e| format!("frame {f}: {e}"))?;
                        check(w, h)?;
                        slot.insert(p);
                    }
                    pixels.push(decoded[&f].clone());
                }
            }
            _ => {
                let (shape, data) = row_f32(batch, &self.frames_column, r)?;
                let [_, h, w, 3] = shape[..] else {
                    return Err(format!(
                        "`{}` has shape {shape:?}, expected [frames, height, width, 3]",
                        self.frames_column
                    ));
                };
                check(w, h)?;
                for &f in which {
                    pixels.push(data[f * h * w * 3..(f + 1) * h * w * 3].iter().map(|&v| v as u8).collect());
                }
            }
        }
        let (width, height) = size.unwrap_or((0, 0));
        if width == 0 || height == 0 {
            return Err("a frame of size 0".into());
        }
        Ok(Frames { width, height, pixels })
    }
}

impl SampleSource for ClipSource {
    fn len(&self) -> usize {
        self.table.len() * self.views()
    }

    fn sample(&self, index: usize, rng: &mut SampleRng) -> Result<Sample, LoaderError> {
        let c = &self.config;
        let (row, view) = (index / self.views(), index % self.views());
        let (batch, r) = self.table.locate(row).ok_or_else(|| self.bad(row, "row out of range"))?;
        let n = self.frame_count(batch, r).map_err(|m| self.bad(row, m))?;
        if n == 0 {
            return Err(self.bad(row, "the clip has no frame"));
        }
        // Temporal window.
        let delta = n.saturating_sub(c.num_frames * c.sampling_rate) as f64;
        let (clip_k, crop_k) = (view / c.test_crops, view % c.test_crops);
        let start = if c.augment {
            if delta > 0.0 { rng.random_range(0.0..=delta) } else { 0.0 }
        } else if c.test_clips > 1 {
            delta * clip_k as f64 / (c.test_clips - 1) as f64
        } else {
            delta / 2.0
        };
        let which = frame_indices(n, start, c.num_frames, c.sampling_rate);
        let frames = self.decode(batch, r, &which).map_err(|m| self.bad(row, m))?;
        let (w, h) = (frames.width, frames.height);

        // Spatial view.
        let s = c.crop_size;
        let (short, flip) = if c.augment {
            let short = rng.random_range(c.jitter_scales[0]..=c.jitter_scales[1]);
            (short, c.flip && rng.random_bool(0.5))
        } else {
            (s, false)
        };
        let (sw, sh) = scaled(w, h, short);
        let (x0, y0) = if c.augment {
            (rng.random_range(0..=sw.saturating_sub(s)), rng.random_range(0..=sh.saturating_sub(s)))
        } else {
            // PySlowFast `uniform_crop`: along the long side, start / centre / end.
            let spatial = if c.test_crops == 1 { 1 } else { crop_k };
            let at = |room: usize| match spatial {
                0 => 0,
                1 => room / 2,
                _ => room,
            };
            if sh > sw {
                (sw.saturating_sub(s) / 2, at(sh.saturating_sub(s)))
            } else {
                (at(sw.saturating_sub(s)), sh.saturating_sub(s) / 2)
            }
        };
        let v = View { width: w, height: h, scaled_w: sw, scaled_h: sh, x0, y0, size: s, flip };

        // Frames: bilinear inside the crop, normalised.
        let t = c.num_frames;
        let mut clip = vec![0f32; 3 * t * s * s];
        let xs: Vec<(usize, usize, f32)> = (0..s).map(|j| taps(v.src_x(j as f32), w)).collect();
        let ys: Vec<(usize, usize, f32)> = (0..s).map(|i| taps(v.src_y(i as f32), h)).collect();
        for (ti, px) in frames.pixels.iter().enumerate() {
            for (i, &(y_a, y_b, fy)) in ys.iter().enumerate() {
                for (j, &(x_a, x_b, fx)) in xs.iter().enumerate() {
                    for ch in 0..3 {
                        let p = |y: usize, x: usize| px[(y * w + x) * 3 + ch] as f32;
                        let top = p(y_a, x_a) * (1.0 - fx) + p(y_a, x_b) * fx;
                        let bottom = p(y_b, x_a) * (1.0 - fx) + p(y_b, x_b) * fx;
                        let value = (top * (1.0 - fy) + bottom * fy) / 255.0;
                        clip[((ch * t + ti) * s + i) * s + j] = (value - c.mean[ch]) / c.std[ch];
                    }
                }
            }
        }
        let mut tensors = BTreeMap::from([("clip".to_string(), HostTensor { shape: vec![3, t, s, s], data: clip })]);
        let label = match &c.label_column {
            Some(col) => self.table.int(col, row)?.unwrap_or(-1),
            None => -1,
        };
        let mut label_masks = BTreeMap::from([("action".to_string(), label >= 0)]);
        if c.render_labels {
            self.render_labels(row, batch, r, &which, &v, &mut tensors, &mut label_masks)?;
        }
        Ok(Sample { id: self.table.string(&c.id_column, row)?, tensors, label, multi_label: None, label_masks })
    }
}

/// The two source pixels around continuous coordinate `x` and the weight of
/// the second (edge pixels repeat, as `interpolate` clamps).
fn taps(x: f32, n: usize) -> (usize, usize, f32) {
    let x = x.clamp(0.0, n as f32 - 1.0);
    let a = x.floor() as usize;
    (a, (a + 1).min(n - 1), x - a as f32)
}

impl ClipSource {
    /// Depth, normals, segmentation, boxes and 3D joints of the sampled
    /// frames, through the view; zeros and a false mask where the clip has
    /// no such label.
    #[allow(clippy::too_many_arguments)]
    fn render_labels(
        &self,
        row: usize,
        batch: &RecordBatch,
        r: usize,
        which: &[usize],
        v: &View,
        tensors: &mut BTreeMap<String, HostTensor>,
        masks: &mut BTreeMap<String, bool>,
    ) -> Result<(), LoaderError> {
        let c = &self.config;
        let (t, l) = (which.len(), c.label_size.unwrap_or(c.crop_size));
        let (w, h) = (v.width, v.height);
        let has = |name: &str| -> Result<bool, LoaderError> { Ok(self.table.int(name, row)?.unwrap_or(0) != 0) };
        let tensor = |name: &str| row_f32(batch, name, r).map_err(|m| self.bad(row, m));
        // A per-pixel map `[F, H, W, k]` sampled at the view's nearest pixels.
        let map = |name: &str, k: usize, value: &dyn Fn(&[f32]) -> Vec<f32>| -> Result<Vec<f32>, LoaderError> {
            let (shape, data) = tensor(name)?;
            let per_pixel: usize = shape.iter().skip(3).product();
            if shape.len() < 3
                || shape[1] != h
                || shape[2] != w
                || per_pixel != k
                || shape[0] <= *which.iter().max().unwrap_or(&0)
            {
                return Err(self.bad(
                    row,
                    format!("`{name}` has shape {shape:?}, not the frames' [{}, {h}, {w}, …]", which.len()),
                ));
            }
            let mut out = vec![0f32; k * t * l * l];
            for (ti, &f) in which.iter().enumerate() {
                for i in 0..l {
                    for j in 0..l {
                        let (y, x) = v.nearest(i, j, l);
                        let at = ((f * h + y) * w + x) * k;
                        for (ch, val) in value(&data[at..at + k]).into_iter().enumerate() {
                            out[((ch * t + ti) * l + i) * l + j] = val;
                        }
                    }
                }
            }
            Ok(out)
        };

        let has_depth = has("has_depth")?;
        let max_depth = c.max_depth;
        let depth =
            if has_depth { map("depth", 1, &|d| vec![(d[0] / 1000.0).min(max_depth)])? } else { vec![0.0; t * l * l] };
        tensors.insert("depth".into(), HostTensor { shape: vec![t, l, l], data: depth });
        masks.insert("depth".into(), has_depth);

        let has_normals = has("has_normals")?;
        let flip = v.flip;
        let normals = if has_normals {
            map("normals", 3, &|n| {
                if n.iter().all(|&b| b == 0.0) {
                    return vec![0.0; 3];
                }
                let x = n[0] / 127.5 - 1.0;
                vec![if flip { -x } else { x }, n[1] / 127.5 - 1.0, n[2] / 127.5 - 1.0]
            })?
        } else {
            vec![0.0; 3 * t * l * l]
        };
        tensors.insert("normals".into(), HostTensor { shape: vec![3, t, l, l], data: normals });
        masks.insert("normals".into(), has_normals);

        let has_seg = has("has_segmentation")?;
        let seg = if has_seg { map("segmentation", 1, &|s| vec![s[0]])? } else { vec![0.0; t * l * l] };
        tensors.insert("segmentation".into(), HostTensor { shape: vec![t, l, l], data: seg });
        masks.insert("segmentation".into(), has_seg);

        // Boxes `[N, 6]`: frame, person, x1, y1, x2, y2 in source pixels →
        // per sampled frame, up to `max-boxes` by person, in [0, 1] of the crop.
        let has_boxes = has("has_boxes")?;
        let slots = c.max_boxes;
        let mut boxes = vec![0f32; t * slots * 4];
        let mut box_mask = vec![0f32; t * slots];
        if has_boxes {
            let (shape, data) = tensor("boxes")?;
            if shape.len() != 2 || shape[1] != 6 {
                return Err(self.bad(row, format!("`boxes` has shape {shape:?}, expected [N, 6]")));
            }
            let s = v.size as f32;
            for (ti, &f) in which.iter().enumerate() {
                let mut found: Vec<(usize, [f32; 4])> = Vec::new();
                for b in data.chunks_exact(6).filter(|b| b[0] as usize == f) {
                    let (ax, ay) = v.crop_point(b[2], b[3]);
                    let (bx, by) = v.crop_point(b[4], b[5]);
                    let (x1, x2) = (ax.min(bx).clamp(0.0, s), ax.max(bx).clamp(0.0, s));
                    let (y1, y2) = (ay.min(by).clamp(0.0, s), ay.max(by).clamp(0.0, s));
                    if x2 > x1 && y2 > y1 {
                        found.push((b[1] as usize, [x1 / s, y1 / s, x2 / s, y2 / s]));
                    }
                }
                found.sort_by_key(|b| b.0);
                for (k, (_, b)) in found.into_iter().take(slots).enumerate() {
                    boxes[(ti * slots + k) * 4..(ti * slots + k + 1) * 4].copy_from_slice(&b);
                    box_mask[ti * slots + k] = 1.0;
                }
            }
        }
        tensors.insert("boxes".into(), HostTensor { shape: vec![t, slots, 4], data: boxes });
        tensors.insert("boxes_mask".into(), HostTensor { shape: vec![t, slots], data: box_mask });
        masks.insert("boxes".into(), has_boxes);

        // 3D joints `[F, P, 25, 3]` (camera frame, NaN where absent): a flip
        // mirrors x and swaps left and right joints.
        let has_joints = has("has_joints3d")?;
        let people = c.max_people;
        let mut joints = vec![0f32; t * people * 25 * 3];
        let mut joint_mask = vec![0f32; t * people];
        if has_joints {
            let (shape, data) = tensor("joints3d")?;
            let [frames, p, 25, 3] = shape[..] else {
                return Err(self.bad(row, format!("`joints3d` has shape {shape:?}, expected [F, P, 25, 3]")));
            };
            let mut mirror: Vec<usize> = (0..25).collect();
            if flip {
                for [a, b] in NTU_FLIP_PAIRS {
                    mirror.swap(a, b);
                }
            }
            for (ti, &f) in which.iter().enumerate().filter(|(_, f)| **f < frames) {
                for pi in 0..p.min(people) {
                    let person = &data[((f * p + pi) * 25) * 3..((f * p + pi + 1) * 25) * 3];
                    if person.iter().any(|x| x.is_nan()) {
                        continue;
                    }
                    joint_mask[ti * people + pi] = 1.0;
                    for (jo, &js) in mirror.iter().enumerate() {
                        let at = ((ti * people + pi) * 25 + jo) * 3;
                        let x = person[js * 3];
                        joints[at] = if flip { -x } else { x };
                        joints[at + 1] = person[js * 3 + 1];
                        joints[at + 2] = person[js * 3 + 2];
                    }
                }
            }
        }
        tensors.insert("joints3d".into(), HostTensor { shape: vec![t, people, 25, 3], data: joints });
        tensors.insert("joints3d_mask".into(), HostTensor { shape: vec![t, people], data: joint_mask });
        masks.insert("joints3d".into(), has_joints);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_pyslowfast() {
        // 64 frames, T = 8, τ = 4: the window is 32 frames.
        assert_eq!(frame_indices(64, 0.0, 8, 4), [0, 4, 8, 13, 17, 22, 26, 31]);
        // A clip shorter than the window repeats its last frame.
        assert_eq!(frame_indices(10, 0.0, 4, 4), [0, 5, 9, 9]);
        assert_eq!(scaled(320, 240, 256), (341, 256));
        assert_eq!(scaled(240, 320, 256), (256, 341));
    }

    #[test]
    fn bilinear_taps_clamp_at_the_edges() {
        assert_eq!(taps(-0.25, 4), (0, 1, 0.0));
        assert_eq!(taps(3.5, 4), (3, 3, 0.0));
        assert_eq!(taps(1.25, 4), (1, 2, 0.25));
    }
}
