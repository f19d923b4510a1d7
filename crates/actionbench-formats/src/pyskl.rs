//! mmaction2 / pyskl skeleton annotation pickles (docs/formats.md §2.2).
//!
//! Two generations: the current `dict(split=dict[str, list[str]],
//! annotations=list[dict])` and mmaction2 0.x's bare `list[dict]`. Each
//! annotation becomes a [`PysklRecord`]: the well-known fields typed,
//! everything else (`frame_inds`, `box_score`, `valid`, `raw_file`…) kept
//! in [`PysklRecord::other`] as decoded values.

use std::path::Path;

use crate::error::{Error, Result};
use crate::joblib::read_joblib;
use crate::pickle::PickleOptions;
use crate::value::{NdArray, PyValue};

/// Which generation the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PysklLayout {
    /// `{"split": …, "annotations": […]}` (mmaction2 ≥ 1.0, pyskl).
    SplitAndAnnotations,
    /// A bare list of annotations (mmaction2 0.x).
    BareList,
}

/// One annotation (one video or skeleton sequence).
#[derive(Debug, Clone, PartialEq)]
pub struct PysklRecord {
    /// Sample id (`frame_dir`).
    pub frame_dir: String,
    /// 0-based class (absent in unlabelled test sets).
    pub label: Option<i64>,
    /// Number of frames T.
    pub total_frames: Option<i64>,
    /// `(height, width)`.
    pub img_shape: Option<(i64, i64)>,
    /// `(height, width)` of the original video.
    pub original_shape: Option<(i64, i64)>,
    /// `[M, T, V, C]` keypoints, when stored inline.
    pub keypoint: Option<NdArray>,
    /// `[M, T, V]` keypoint scores (2D only).
    pub keypoint_score: Option<NdArray>,
    /// Every other key, in file order.
    pub other: Vec<(String, PyValue)>,
}

/// A decoded annotation file.
#[derive(Debug, Clone, PartialEq)]
pub struct PysklAnnotations {
    /// The generation.
    pub layout: PysklLayout,
    /// Split name → sample ids (`frame_dir`), in file order (empty for a
    /// bare list).
    pub split: Vec<(String, Vec<String>)>,
    /// The annotations, in file order.
    pub annotations: Vec<PysklRecord>,
}

fn shape_pair(v: &PyValue) -> Option<(i64, i64)> {
    match v.as_seq()? {
        [h, w] => Some((h.as_i64()?, w.as_i64()?)),
        _ => None,
    }
}

/// Interprets a decoded pickle as annotations; `path` is used in errors.
pub fn pyskl_from_value(value: PyValue, path: &Path) -> Result<PysklAnnotations> {
    let (layout, split, list) = match value {
        PyValue::List(list) => (PysklLayout::BareList, Vec::new(), list),
        PyValue::Dict(entries) => {
            let mut split = Vec::new();
            let mut list = None;
            for (k, v) in entries {
                match (k.as_str(), v) {
                    (Some("annotations"), PyValue::List(l)) => list = Some(l),
                    (Some("split"), PyValue::Dict(splits)) => {
                        for (name, ids) in splits {
                            let name = name.key_text();
                            let ids = ids
                                .as_seq()
                                .and_then(|ids| {
                                    ids.iter().map(|i| i.as_str().map(str::to_string)).collect::<Option<Vec<_>>>()
                                })
                                .ok_or_else(|| {
                                    Error::file(path, format!("`split[{name:?}]` must be a list of sample names"))
                                })?;
                            split.push((name, ids));
                        }
                    }
                    (Some(key @ ("annotations" | "split")), other) => {
                        return Err(Error::file(path, format!("`{key}` has the wrong type ({})", other.type_name())));
                    }
                    _ => {}
                }
            }
            let list = list.ok_or_else(|| {
                Error::file(path, "a dict without an `annotations` list: not an mmaction2/pyskl annotation file")
            })?;
            (PysklLayout::SplitAndAnnotations, split, list)
        }
        other => {
            return Err(Error::file(
                path,
                format!("expected a list of annotations or a dict with `annotations`, found a {}", other.type_name()),
            ));
        }
    };
    let mut annotations = Vec::with_capacity(list.len());
    for (i, item) in list.into_iter().enumerate() {
        let PyValue::Dict(entries) = item else {
            return Err(Error::file(path, format!("annotation {i} is a {}, expected a dict", item.type_name())));
        };
        let mut record = PysklRecord {
            frame_dir: String::new(),
            label: None,
            total_frames: None,
            img_shape: None,
            original_shape: None,
            keypoint: None,
            keypoint_score: None,
            other: Vec::new(),
        };
        let mut frame_dir = None;
        for (k, v) in entries {
            let key = k.key_text();
            let wrong = |expected: &str, v: &PyValue| {
                Error::file(path, format!("annotation {i}: `{key}` is a {}, expected {expected}", v.type_name()))
            };
            match key.as_str() {
                "frame_dir" => frame_dir = Some(v.as_str().ok_or_else(|| wrong("a str", &v))?.to_string()),
                "label" => record.label = Some(v.as_i64().ok_or_else(|| wrong("an int", &v))?),
                "total_frames" => record.total_frames = Some(v.as_i64().ok_or_else(|| wrong("an int", &v))?),
                "img_shape" => record.img_shape = Some(shape_pair(&v).ok_or_else(|| wrong("(height, width)", &v))?),
                "original_shape" => {
                    record.original_shape = Some(shape_pair(&v).ok_or_else(|| wrong("(height, width)", &v))?)
                }
                "keypoint" => match v {
                    PyValue::Array(a) => record.keypoint = Some(a),
                    other => return Err(wrong("an ndarray [M, T, V, C]", &other)),
                },
                "keypoint_score" => match v {
                    PyValue::Array(a) => record.keypoint_score = Some(a),
                    other => return Err(wrong("an ndarray [M, T, V]", &other)),
                },
                _ => record.other.push((key, v)),
            }
        }
        record.frame_dir = frame_dir.ok_or_else(|| Error::file(path, format!("annotation {i} has no `frame_dir`")))?;
        if let Some(k) = &record.keypoint
            && k.shape.len() != 4
        {
            return Err(Error::file(
                path,
                format!(
                    "annotation {i} (`{}`): `keypoint` has shape {:?}, expected [M, T, V, C]",
                    record.frame_dir, k.shape
                ),
            ));
        }
        annotations.push(record);
    }
    Ok(PysklAnnotations { layout, split, annotations })
}

/// Reads an annotation pickle (plain or joblib-compressed).
pub fn read_pyskl(path: &Path) -> Result<PysklAnnotations> {
    pyskl_from_value(read_joblib(path, PickleOptions::default())?, path)
}
