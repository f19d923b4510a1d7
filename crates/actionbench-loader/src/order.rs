//! Sample order as a pure function of (seed, epoch, position).
//!
//! A keyed Feistel permutation maps each position of an epoch to a sample
//! index in O(1) without materialising the order, so any rank of a future
//! multi-process run computes its own slice of the same global order, and a
//! resumed run lands exactly where it stopped. The round function is a
//! 64-bit finaliser (splitmix64's), hand-written because it is four lines and
//! a crate for it would be heavier than the code.

use actionbench_core::Fingerprint;
use rand::SeedableRng;

/// The RNG handed to per-sample decode and augmentation.
pub type SampleRng = rand_chacha::ChaCha8Rng;

/// Feistel rounds: 6 is plenty for shuffling (not cryptography).
const ROUNDS: usize = 6;

/// A bijection of `0..n` chosen by (seed, epoch).
#[derive(Debug, Clone)]
pub struct EpochOrder {
    n: u64,
    half_bits: u32,
    keys: [u64; ROUNDS],
}

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 32 bytes of blake3 over the tagged numbers: the root of every derived key.
fn derive(tag: &str, parts: &[u64]) -> [u8; 32] {
    let mut bytes = Vec::with_capacity(tag.len() + 8 * parts.len());
    bytes.extend_from_slice(tag.as_bytes());
    for p in parts {
        bytes.extend_from_slice(&p.to_le_bytes());
    }
    *Fingerprint::of_bytes(&bytes).as_bytes()
}

impl EpochOrder {
    /// The permutation of `0..n` for `(seed, epoch)`.
    pub fn new(n: u64, seed: u64, epoch: u64) -> Self {
        Self::keyed(n, "order", &[seed, epoch])
    }

    /// The permutation of `0..n` for a purpose (`tag`) and key material.
    pub(crate) fn keyed(n: u64, tag: &str, key: &[u64]) -> Self {
        let bits = 64 - n.saturating_sub(1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        let root = derive(&format!("actionbench.loader.{tag}"), key);
        let mut keys = [0u64; ROUNDS];
        for (r, k) in keys.iter_mut().enumerate() {
            let chunk = u64::from_le_bytes(root[(r % 4) * 8..(r % 4) * 8 + 8].try_into().expect("8 bytes"));
            *k = mix64(chunk ^ (r as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
        Self { n, half_bits, keys }
    }

    /// Number of elements permuted.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// Whether it permutes nothing.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn encrypt(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut l, mut r) = (x >> self.half_bits, x & mask);
        for k in self.keys {
            let f = mix64(r ^ k) & mask;
            (l, r) = (r, l ^ f);
        }
        (l << self.half_bits) | r
    }

    /// The sample index at `position` (< n). Cycle-walking keeps the
    /// result in `0..n`: the Feistel domain is at most 4n, so a few steps.
    pub fn get(&self, position: u64) -> u64 {
        debug_assert!(position < self.n, "position {position} out of 0..{}", self.n);
        let mut x = self.encrypt(position);
        while x >= self.n {
            x = self.encrypt(x);
        }
        x
    }
}

/// The RNG of one sample's decode and augmentation: a function of (seed,
/// epoch, sample index, source) only, so thread count and batch placement
/// cannot change it.
pub fn sample_rng(seed: u64, epoch: u64, source: u64, index: u64) -> SampleRng {
    SampleRng::from_seed(derive("actionbench.loader.sample", &[seed, epoch, source, index]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_permutation_for_many_sizes() {
        for n in [1u64, 2, 3, 5, 16, 17, 100, 1000, 4097] {
            let o = EpochOrder::new(n, 7, 3);
            let mut seen = vec![false; n as usize];
            for p in 0..n {
                let i = o.get(p) as usize;
                assert!(!seen[i], "n={n}: {i} twice");
                seen[i] = true;
            }
        }
    }

    #[test]
    fn order_depends_on_seed_and_epoch() {
        let a: Vec<u64> = (0..100).map(|p| EpochOrder::new(100, 1, 0).get(p)).collect();
        let b: Vec<u64> = (0..100).map(|p| EpochOrder::new(100, 1, 1).get(p)).collect();
        let c: Vec<u64> = (0..100).map(|p| EpochOrder::new(100, 2, 0).get(p)).collect();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, (0..100).collect::<Vec<_>>());
    }
}
