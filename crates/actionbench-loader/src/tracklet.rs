//! Tracklets (one row per (video, track), PHALP-style) → windows of W frames
//! around keyframes, with the other tracks of the video as context persons
//! and validity masks (LART's input).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::batch::HostTensor;
use crate::error::LoaderError;
use crate::order::SampleRng;
use crate::sample::{Sample, SampleSource};
use crate::table::Table;
use crate::tensor::row_f32;

/// Which frames of a track are samples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Keyframes {
    /// Frames with ground truth (`has_gt` ≠ 0): training and evaluation on AVA keyframes.
    Labelled,
    /// Every `n`-th detected frame (prediction over whole tracks).
    Every(usize),
    /// Detected frames where this column (`[T]`) is non-zero, e.g.
    /// `ingest.ava`'s `is_keyframe`: prediction at the evaluated keyframes.
    Marked(String),
}

/// Columns and window of tracklet samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrackletConfig {
    /// Row id column.
    pub id_column: String,
    /// Video column: tracks of the same video are each other's context.
    pub video_column: Option<String>,
    /// Frame numbers `[T]` (ascending).
    pub frame_column: String,
    /// Per-frame features `[T, D]` (PHALP's 229-d pose).
    pub pose_column: String,
    /// Detection flags `[T]` (a frame without a detection is padding).
    pub detection_column: Option<String>,
    /// Multi-hot labels `[T, K]`.
    pub labels_column: Option<String>,
    /// Ground-truth flags `[T]` (LART: 2 = ground truth, 1 = pseudo label, 0 = none).
    pub has_gt_column: Option<String>,
    /// Smallest `has_gt` value that counts as labelled (1: pseudo labels too; 2: ground truth only).
    pub min_gt: f32,
    /// Window length W (frames, centred on the keyframe).
    pub window: usize,
    /// Persons per window P: the track itself, then up to P-1 others.
    pub persons: usize,
    /// Which frames become samples.
    pub keyframes: Keyframes,
}

impl Default for TrackletConfig {
    fn default() -> Self {
        Self {
            id_column: "sample_id".into(),
            video_column: Some("video_id".into()),
            frame_column: "frame".into(),
            pose_column: "pose229".into(),
            detection_column: Some("has_detection".into()),
            labels_column: Some("labels".into()),
            has_gt_column: Some("has_gt".into()),
            min_gt: 1.0,
            window: 12,
            persons: 1,
            keyframes: Keyframes::Labelled,
        }
    }
}

/// Per-row index built once: frame numbers and flags.
struct TrackMeta {
    frames: Vec<i64>,
    detected: Vec<bool>,
    has_gt: Vec<bool>,
}

/// Windowed tracklet samples of a table.
pub struct TrackletSource {
    table: Arc<Table>,
    config: TrackletConfig,
    tracks: Vec<TrackMeta>,
    /// (row, index into the row's frames) of every sample.
    samples: Vec<(u32, u32)>,
    /// Rows of the same video, per row (itself excluded), in row order.
    peers: Vec<Arc<Vec<u32>>>,
}

impl TrackletSource {
    /// Reads the frame and flag columns of every row and lists the keyframes.
    pub fn new(table: Arc<Table>, config: TrackletConfig) -> Result<Self, LoaderError> {
        if config.window == 0 || config.persons == 0 {
            return Err(LoaderError::config(
                "tracklet window and persons must be at least 1",
                "e.g. window = 12, persons = 1",
            ));
        }
        if let Keyframes::Every(0) = config.keyframes {
            return Err(LoaderError::config("keyframes every 0 frames", "use every = 1 or more"));
        }
        let marked = match &config.keyframes {
            Keyframes::Marked(c) => Some(c.clone()),
            _ => None,
        };
        for c in [Some(&config.id_column), Some(&config.frame_column), Some(&config.pose_column)]
            .into_iter()
            .chain([marked.as_ref()])
            .chain([config.video_column.as_ref(), config.detection_column.as_ref()])
            .chain([config.labels_column.as_ref(), config.has_gt_column.as_ref()])
            .flatten()
        {
            table.require(c)?;
        }
        let flags = |col: &Option<String>,
                     i: usize,
                     n: usize,
                     default: bool,
                     min: f32|
         -> Result<Vec<bool>, LoaderError> {
            match col {
                None => Ok(vec![default; n]),
                Some(c) => {
                    let (b, r) = table.locate(i).expect("in range");
                    let (_, v) = row_f32(b, c, r).map_err(|m| bad(&table, &config, i, m))?;
                    if v.len() != n {
                        return Err(bad(&table, &config, i, format!("`{c}` has {} values for {n} frames", v.len())));
                    }
                    Ok(v.into_iter().map(|x| x >= min).collect())
                }
            }
        };
        let mut tracks = Vec::with_capacity(table.len());
        let mut samples = Vec::new();
        let mut videos: HashMap<String, Vec<u32>> = HashMap::new();
        for i in 0..table.len() {
            let (b, r) = table.locate(i).expect("in range");
            let (_, frames) = row_f32(b, &config.frame_column, r).map_err(|m| bad(&table, &config, i, m))?;
            let frames: Vec<i64> = frames.into_iter().map(|f| f as i64).collect();
            if let Some(w) = frames.windows(2).position(|w| w[1] <= w[0]) {
                return Err(bad(&table, &config, i, format!("frame numbers are not increasing at index {}", w + 1)));
            }
            let n = frames.len();
            let detected = flags(&config.detection_column, i, n, true, 0.5)?;
            let has_gt = flags(&config.has_gt_column, i, n, config.labels_column.is_some(), config.min_gt)?;
            let is_key = flags(&marked, i, n, false, 0.5)?;
            for t in 0..n {
                let take = match config.keyframes {
                    Keyframes::Labelled => has_gt[t],
                    Keyframes::Every(k) => detected[t] && t % k == 0,
                    Keyframes::Marked(_) => detected[t] && is_key[t],
                };
                if take {
                    samples.push((i as u32, t as u32));
                }
            }
            let video = match &config.video_column {
                Some(v) => table.string(v, i)?,
                None => String::new(),
            };
            videos.entry(video).or_default().push(i as u32);
            tracks.push(TrackMeta { frames, detected, has_gt });
        }
        let mut peers: Vec<Arc<Vec<u32>>> = (0..table.len()).map(|_| Arc::new(Vec::new())).collect();
        if config.video_column.is_some() {
            for rows in videos.into_values() {
                let rows = Arc::new(rows);
                for &r in rows.iter() {
                    peers[r as usize] = Arc::clone(&rows);
                }
            }
        }
        Ok(Self { table, config, tracks, samples, peers })
    }

    /// The (row, frame number) of sample `index`.
    pub fn keyframe(&self, index: usize) -> Option<(usize, i64)> {
        let &(r, t) = self.samples.get(index)?;
        Some((r as usize, self.tracks[r as usize].frames[t as usize]))
    }

    /// The (row, position in the row's per-frame arrays) of sample `index`.
    pub fn keyframe_index(&self, index: usize) -> Option<(usize, usize)> {
        let &(r, t) = self.samples.get(index)?;
        Some((r as usize, t as usize))
    }

    /// The id sample `index` carries in batches: `<row id>@<frame>`.
    pub fn sample_id(&self, index: usize) -> Result<String, LoaderError> {
        let (row, frame) = self
            .keyframe(index)
            .ok_or_else(|| LoaderError::config(format!("no sample {index}"), "indices run from 0 to len() - 1"))?;
        Ok(format!("{}@{frame}", self.table.string(&self.config.id_column, row)?))
    }

    /// The table the tracks come from.
    pub fn table(&self) -> &Table {
        &self.table
    }
}

fn bad(table: &Table, config: &TrackletConfig, row: usize, message: String) -> LoaderError {
    let sample = table.string(&config.id_column, row).unwrap_or_default();
    LoaderError::BadSample { sample, row, message: format!("{message} (in {})", table.origin()) }
}

impl SampleSource for TrackletSource {
    fn len(&self) -> usize {
        self.samples.len()
    }

    fn sample(&self, index: usize, _rng: &mut SampleRng) -> Result<Sample, LoaderError> {
        let c = &self.config;
        let (row, t) = self.samples[index];
        let row = row as usize;
        let key = self.tracks[row].frames[t as usize];
        let w = c.window;
        let first = key - (w / 2) as i64;
        let wanted: Vec<i64> = (0..w as i64).map(|k| first + k).collect();

        // Context: other tracks of the video detected inside the window, in row order.
        let mut persons = vec![row];
        for &p in self.peers[row].iter() {
            let p = p as usize;
            if persons.len() == c.persons {
                break;
            }
            if p == row {
                continue;
            }
            let m = &self.tracks[p];
            let overlaps = wanted.iter().any(|f| m.frames.binary_search(f).is_ok_and(|i| m.detected[i]));
            if overlaps {
                persons.push(p);
            }
        }

        let mut pose: Vec<f32> = Vec::new();
        let mut dim = 0;
        let mut valid = vec![0.0f32; w * c.persons];
        let mut per_person: Vec<(Vec<Option<usize>>, Vec<f32>)> = Vec::new();
        for &p in &persons {
            let (b, r) = self.table.locate(p).expect("in range");
            let (shape, data) = row_f32(b, &c.pose_column, r).map_err(|m| bad(&self.table, c, p, m))?;
            let m = &self.tracks[p];
            let [n, d] = shape[..] else {
                return Err(bad(
                    &self.table,
                    c,
                    p,
                    format!("`{}` has shape {shape:?}, expected [frames, features]", c.pose_column),
                ));
            };
            if n != m.frames.len() {
                return Err(bad(
                    &self.table,
                    c,
                    p,
                    format!("`{}` has {n} frames but `{}` has {}", c.pose_column, c.frame_column, m.frames.len()),
                ));
            }
            if dim == 0 {
                dim = d;
            } else if d != dim {
                return Err(bad(
                    &self.table,
                    c,
                    p,
                    format!("`{}` has {d} features, other tracks {dim}", c.pose_column),
                ));
            }
            let at: Vec<Option<usize>> = wanted.iter().map(|f| m.frames.binary_search(f).ok()).collect();
            per_person.push((at, data));
        }
        pose.resize(w * c.persons * dim, 0.0);
        for (pi, (at, data)) in per_person.iter().enumerate() {
            let m = &self.tracks[persons[pi]];
            for (k, i) in at.iter().enumerate() {
                if let Some(i) = *i
                    && m.detected[i]
                {
                    valid[k * c.persons + pi] = 1.0;
                    let o = (k * c.persons + pi) * dim;
                    pose[o..o + dim].copy_from_slice(&data[i * dim..(i + 1) * dim]);
                }
            }
        }

        let target = &self.tracks[row];
        let mut label_valid = vec![0.0f32; w];
        let multi_label = match &c.labels_column {
            Some(col) => {
                let (b, r) = self.table.locate(row).expect("in range");
                let (shape, data) = row_f32(b, col, r).map_err(|m| bad(&self.table, c, row, m))?;
                let [n, k] = shape[..] else {
                    return Err(bad(
                        &self.table,
                        c,
                        row,
                        format!("`{col}` has shape {shape:?}, expected [frames, classes]"),
                    ));
                };
                if n != target.frames.len() {
                    return Err(bad(
                        &self.table,
                        c,
                        row,
                        format!("`{col}` has {n} frames, the track {}", target.frames.len()),
                    ));
                }
                let mut out = vec![0.0f32; w * k];
                for (j, f) in wanted.iter().enumerate() {
                    if let Ok(i) = target.frames.binary_search(f)
                        && target.has_gt[i]
                    {
                        label_valid[j] = 1.0;
                        out[j * k..(j + 1) * k].copy_from_slice(&data[i * k..(i + 1) * k]);
                    }
                }
                Some(HostTensor { shape: vec![w, k], data: out })
            }
            None => None,
        };
        let mut tensors = BTreeMap::new();
        tensors.insert("pose".into(), HostTensor { shape: vec![w, c.persons, dim], data: pose });
        tensors.insert("valid".into(), HostTensor { shape: vec![w, c.persons], data: valid });
        tensors.insert("label_valid".into(), HostTensor { shape: vec![w], data: label_valid });
        Ok(Sample {
            id: self.sample_id(index)?,
            tensors,
            label: -1,
            multi_label,
            label_masks: BTreeMap::from([("action".to_string(), target.has_gt[t as usize])]),
        })
    }
}
