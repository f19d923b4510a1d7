//! A learnable in-memory skeleton problem: the class decides which hand is
//! raised and waves (or none), plus per-sample noise, speed and phase.

use std::collections::BTreeMap;

use actionbench_loader::{HostTensor, LoaderError, Sample, SampleRng, SampleSource};
use rand::{Rng, SeedableRng};

pub(crate) const FRAMES: usize = 12;
pub(crate) const CLASSES: usize = 3;

pub(crate) struct Waves {
    pub(crate) n: usize,
    pub(crate) seed: u64,
}

impl SampleSource for Waves {
    fn len(&self) -> usize {
        self.n
    }

    /// Samples depend on (seed, index) only; the loader's rng is unused
    /// (no augmentation), so predictions can be checked per sample.
    fn sample(&self, index: usize, _rng: &mut SampleRng) -> Result<Sample, LoaderError> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed * 1_000_003 + index as u64);
        let label = index % CLASSES;
        let (t, v, m) = (FRAMES, 25, 2);
        let mut data = vec![0f32; 3 * t * v * m];
        let speed = rng.random_range(0.8..1.2f32);
        let phase = rng.random_range(0.0..std::f32::consts::TAU);
        for c in 0..3 {
            for f in 0..t {
                for j in 0..v {
                    let mut x = rng.random_range(-0.1..0.1f32) + j as f32 * 0.02;
                    let wave = (speed * f as f32 + phase).sin();
                    // Right arm (joints 9-12, 24, 25) or left arm (5-8, 22, 23).
                    let right = matches!(j, 8..=11 | 23 | 24);
                    let left = matches!(j, 4..=7 | 21 | 22);
                    if c == 1 && ((label == 0 && right) || (label == 1 && left)) {
                        x += 0.5 + 0.5 * wave;
                    }
                    data[((c * t + f) * v + j) * m] = x;
                }
            }
        }
        Ok(Sample {
            id: format!("s{index:04}"),
            tensors: BTreeMap::from([("joints".to_string(), HostTensor::new(vec![3, t, v, m], data)?)]),
            label: label as i64,
            multi_label: None,
            label_masks: BTreeMap::new(),
        })
    }
}
