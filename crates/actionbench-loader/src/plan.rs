//! Which (source, sample) sits at each position of an epoch.

use std::ops::Range;

use crate::error::LoaderError;
use crate::order::EpochOrder;

/// Maps positions of an epoch to `(source, sample index)`: a pure function
/// of `(seed, epoch, position)`.
pub trait Plan: Send + Sync {
    /// Positions (samples) in one epoch.
    fn epoch_len(&self) -> u64;

    /// The picks of positions `range` of `epoch`.
    fn picks(&self, seed: u64, epoch: u64, range: Range<u64>) -> Vec<(usize, u64)>;
}

/// One source, every sample once per epoch, shuffled or in table order,
/// optionally split across `world` ranks (rank `r` takes global positions
/// `r, r + world, …`; the `n mod world` last positions are dropped so every
/// rank sees the same number of samples).
#[derive(Debug, Clone)]
pub struct Sequential {
    n: u64,
    shuffle: bool,
    rank: u64,
    world: u64,
}

impl Sequential {
    /// A plan over `n` samples for one process.
    pub fn new(n: usize, shuffle: bool) -> Self {
        Self { n: n as u64, shuffle, rank: 0, world: 1 }
    }

    /// The slice of rank `rank` of `world`.
    pub fn sharded(mut self, rank: usize, world: usize) -> Result<Self, LoaderError> {
        if world == 0 || rank >= world {
            return Err(LoaderError::config(
                format!("rank {rank} is not in a world of size {world}"),
                "ranks are 0-based and below the world size",
            ));
        }
        self.rank = rank as u64;
        self.world = world as u64;
        Ok(self)
    }
}

impl Plan for Sequential {
    fn epoch_len(&self) -> u64 {
        self.n / self.world
    }

    fn picks(&self, seed: u64, epoch: u64, range: Range<u64>) -> Vec<(usize, u64)> {
        let order = self.shuffle.then(|| EpochOrder::new(self.n, seed, epoch));
        range
            .map(|p| {
                let global = p * self.world + self.rank;
                (0, order.as_ref().map_or(global, |o| o.get(global)))
            })
            .collect()
    }
}
