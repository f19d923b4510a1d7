//! A nearest-centroid classifier over skeleton sequences: the floor a
//! learned temporal model must beat on the generated data.
//!
//! Features are the first body's 25 joints at a fixed number of frames
//! sampled uniformly over the clip, flattened. [`FeatureMode::Raw`] uses
//! camera coordinates as written; [`FeatureMode::BodyCentric`] first moves
//! the first frame's SpineBase to the origin and turns the body so its
//! hips lie along x (the usual skeleton pre-processing), which shows how
//! much of the difficulty is viewpoint and placement.

use actionbench_formats::ntu::NtuSkeleton;

/// How joints are normalised before sampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureMode {
    /// Camera coordinates as written.
    Raw,
    /// Centred on the first SpineBase and rotated to face +z.
    BodyCentric,
}

/// The feature vector of a sample: `frames × 25 × 3` values.
pub fn features(sk: &NtuSkeleton, frames: usize, mode: FeatureMode) -> Vec<f32> {
    let with_body: Vec<&[actionbench_formats::ntu::NtuJoint]> =
        sk.frames.iter().filter_map(|f| f.bodies.first()).map(|b| b.joints.as_slice()).collect();
    let mut out = Vec::with_capacity(frames * 75);
    if with_body.is_empty() {
        out.resize(frames * 75, 0.0);
        return out;
    }
    let first = with_body[0];
    let origin = first[0].position;
    let hips = [first[16].position[0] - first[12].position[0], first[16].position[2] - first[12].position[2]];
    let angle = hips[1].atan2(hips[0]);
    let (s, c) = angle.sin_cos();
    for i in 0..frames {
        let at = if frames > 1 { i * (with_body.len() - 1) / (frames - 1) } else { 0 };
        for joint in with_body[at].iter().take(25) {
            let p = joint.position;
            match mode {
                FeatureMode::Raw => out.extend(p),
                FeatureMode::BodyCentric => {
                    let (x, y, z) = (p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]);
                    out.extend([c * x + s * z, y, -s * x + c * z]);
                }
            }
        }
    }
    out.resize(frames * 75, 0.0);
    out
}

/// Class means of training features.
#[derive(Debug, Clone)]
pub struct NearestCentroid {
    centroids: Vec<(usize, Vec<f64>)>,
}

impl NearestCentroid {
    /// Fits on `(features, label)` pairs.
    pub fn fit(samples: &[(Vec<f32>, usize)]) -> Self {
        let mut sums: std::collections::BTreeMap<usize, (Vec<f64>, usize)> = Default::default();
        for (x, y) in samples {
            let e = sums.entry(*y).or_insert_with(|| (vec![0.0; x.len()], 0));
            for (a, b) in e.0.iter_mut().zip(x) {
                *a += *b as f64;
            }
            e.1 += 1;
        }
        let centroids =
            sums.into_iter().map(|(y, (s, n))| (y, s.into_iter().map(|v| v / n as f64).collect())).collect();
        Self { centroids }
    }

    /// The label of the nearest centroid (Euclidean).
    pub fn predict(&self, x: &[f32]) -> Option<usize> {
        self.centroids
            .iter()
            .map(|(y, c)| (*y, c.iter().zip(x).map(|(a, b)| (a - *b as f64).powi(2)).sum::<f64>()))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(y, _)| y)
    }

    /// Top-1 accuracy on `(features, label)` pairs.
    pub fn accuracy(&self, samples: &[(Vec<f32>, usize)]) -> f64 {
        if samples.is_empty() {
            return 0.0;
        }
        let hits = samples.iter().filter(|(x, y)| self.predict(x) == Some(*y)).count();
        hits as f64 / samples.len() as f64
    }
}
