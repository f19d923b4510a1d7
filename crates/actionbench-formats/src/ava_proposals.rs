//! mmaction2 AVA proposal pickles: `dict["video_id,timestamp" -> float64
//! ndarray (N, 5)]` of `[x1, y1, x2, y2, score]` boxes normalised to [0, 1]
//! (N × 4 without scores also occurs).

use std::path::Path;

use crate::error::{Error, Result};
use crate::joblib::read_joblib;
use crate::pickle::PickleOptions;
use crate::value::PyValue;

/// One proposal box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AvaProposal {
    /// `[x1, y1, x2, y2]`, normalised.
    pub bbox: [f64; 4],
    /// Detector score, when stored.
    pub score: Option<f64>,
}

/// The proposals of one keyframe.
#[derive(Debug, Clone, PartialEq)]
pub struct AvaProposalFrame {
    /// YouTube id (text before the last comma of the key).
    pub video_id: String,
    /// Keyframe timestamp as written (`0902`).
    pub timestamp: String,
    /// The boxes, in file order.
    pub proposals: Vec<AvaProposal>,
}

/// Interprets a decoded pickle as proposals, in file order.
pub fn ava_proposals_from_value(value: &PyValue, path: &Path) -> Result<Vec<AvaProposalFrame>> {
    let entries = value.as_dict().ok_or_else(|| {
        Error::file(path, format!("expected a dict of \"video,timestamp\" -> array, found a {}", value.type_name()))
    })?;
    let mut out = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let key = k.as_str().ok_or_else(|| Error::file(path, format!("key {} is not a string", k.repr())))?;
        let (video_id, timestamp) = key
            .rsplit_once(',')
            .ok_or_else(|| Error::file(path, format!("key `{key}` is not \"video_id,timestamp\"")))?;
        let array = v
            .as_array()
            .ok_or_else(|| Error::file(path, format!("`{key}`: expected an array, found a {}", v.type_name())))?;
        let values = array.to_f64().ok_or_else(|| Error::file(path, format!("`{key}`: the array is not numeric")))?;
        let width = match array.shape.as_slice() {
            [_, w @ (4 | 5)] => *w,
            [0] => 5,
            s => return Err(Error::file(path, format!("`{key}`: expected shape (N, 5) or (N, 4), found {s:?}"))),
        };
        let proposals = values
            .chunks_exact(width)
            .map(|r| AvaProposal { bbox: [r[0], r[1], r[2], r[3]], score: r.get(4).copied() })
            .collect();
        out.push(AvaProposalFrame { video_id: video_id.to_string(), timestamp: timestamp.to_string(), proposals });
    }
    Ok(out)
}

/// Reads a proposal pickle.
pub fn read_ava_proposals(path: &Path) -> Result<Vec<AvaProposalFrame>> {
    ava_proposals_from_value(&read_joblib(path, PickleOptions::default())?, path)
}
