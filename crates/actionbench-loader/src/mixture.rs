//! Drawing batches from several sources: by ratio (e.g. real:synthetic 1:1)
//! or by task rotation, with iteration-based epochs and per-sample
//! label-availability masks.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::LoaderError;
use crate::loader::{Loader, LoaderConfig, LoaderState};
use crate::order::{EpochOrder, SampleRng};
use crate::plan::Plan;
use crate::sample::{Sample, SampleSource};

/// How a mixture picks the source of each sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MixtureMode {
    /// Integer weights, one per source: every run of `sum(weights)`
    /// positions holds exactly `weights[s]` samples of source `s`, in a
    /// shuffled order (so a batch's make-up varies but the ratio holds).
    Ratio(Vec<u32>),
    /// Whole batches from one source at a time, in turn (multi-task training).
    TaskRotation,
}

/// One source of a mixture.
#[derive(Clone)]
pub struct MixtureSource {
    /// Name (for errors and logs).
    pub name: String,
    /// The samples.
    pub source: Arc<dyn SampleSource>,
    /// Tasks this source has labels for; its samples get `true` masks for
    /// these (unless the sample itself says otherwise) and `false` for the
    /// other sources' tasks.
    pub tasks: Vec<String>,
}

/// Several sources with a fixed number of iterations per epoch: a source is
/// walked in a fresh shuffled order each time it runs out, so small and
/// large sources mix without the small one ending the epoch.
pub struct Mixture {
    sources: Vec<MixtureSource>,
    mode: MixtureMode,
    iterations: u64,
    batch_size: u64,
}

impl Mixture {
    /// Checks the sources and the mode.
    pub fn new(
        sources: Vec<MixtureSource>,
        mode: MixtureMode,
        iterations_per_epoch: u64,
        batch_size: usize,
    ) -> Result<Self, LoaderError> {
        if sources.is_empty() {
            return Err(LoaderError::config("a mixture needs at least one source", "list the sources to draw from"));
        }
        if let Some(s) = sources.iter().find(|s| s.source.is_empty()) {
            return Err(LoaderError::config(
                format!("mixture source `{}` has no sample", s.name),
                "check its filter: it selects no row",
            ));
        }
        if batch_size == 0 {
            return Err(LoaderError::config("batch size 0", "use a batch size of at least 1"));
        }
        if let MixtureMode::Ratio(w) = &mode
            && (w.len() != sources.len() || w.iter().all(|&x| x == 0))
        {
            return Err(LoaderError::config(
                format!("{} ratio weights for {} sources", w.len(), sources.len()),
                "give one weight per source, not all zero, e.g. [1, 1]",
            ));
        }
        Ok(Self { sources, mode, iterations: iterations_per_epoch, batch_size: batch_size as u64 })
    }

    /// A loader over the mixture (`config.batch_size` must be the mixture's).
    pub fn into_loader(self, config: &LoaderConfig, state: LoaderState) -> Result<Loader, LoaderError> {
        if config.batch_size as u64 != self.batch_size {
            return Err(LoaderError::config(
                format!("loader batch size {} differs from the mixture's {}", config.batch_size, self.batch_size),
                "use the same batch size for both",
            ));
        }
        let all_tasks: Vec<String> = {
            let mut t: Vec<String> = self.sources.iter().flat_map(|s| s.tasks.iter().cloned()).collect();
            t.sort();
            t.dedup();
            t
        };
        let lens: Vec<u64> = self.sources.iter().map(|s| s.source.len() as u64).collect();
        let sources: Vec<Arc<dyn SampleSource>> = self
            .sources
            .into_iter()
            .map(|s| {
                Arc::new(Tasked { inner: s.source, own: s.tasks, all: all_tasks.clone() }) as Arc<dyn SampleSource>
            })
            .collect();
        let plan = MixturePlan::new(self.mode, lens, self.iterations, self.batch_size);
        Loader::with_plan(sources, Arc::new(plan), config, state)
    }
}

/// Sets a source's label-availability masks.
struct Tasked {
    inner: Arc<dyn SampleSource>,
    own: Vec<String>,
    all: Vec<String>,
}

impl SampleSource for Tasked {
    fn len(&self) -> usize {
        self.inner.len()
    }

    fn sample(&self, index: usize, rng: &mut SampleRng) -> Result<Sample, LoaderError> {
        let mut s = self.inner.sample(index, rng)?;
        let mut masks = BTreeMap::new();
        for t in &self.all {
            let has = self.own.contains(t) && s.label_masks.get(t).copied().unwrap_or(true);
            masks.insert(t.clone(), has);
        }
        for (t, v) in s.label_masks {
            masks.entry(t).or_insert(v);
        }
        s.label_masks = masks;
        Ok(s)
    }
}

/// The plan of a mixture.
#[derive(Debug, Clone)]
pub struct MixturePlan {
    mode: MixtureMode,
    lens: Vec<u64>,
    iterations: u64,
    batch_size: u64,
    /// Ratio mode: weights divided by their gcd, and the period (their sum).
    weights: Vec<u64>,
    period: u64,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl MixturePlan {
    /// A plan over sources of `lens` samples.
    pub fn new(mode: MixtureMode, lens: Vec<u64>, iterations: u64, batch_size: u64) -> Self {
        let weights: Vec<u64> = match &mode {
            MixtureMode::Ratio(w) => {
                let g = w.iter().fold(0u64, |g, &x| gcd(g, x as u64)).max(1);
                w.iter().map(|&x| x as u64 / g).collect()
            }
            MixtureMode::TaskRotation => vec![1; lens.len()],
        };
        let period = weights.iter().sum();
        Self { mode, lens, iterations, batch_size, weights, period }
    }

    fn source_of_slot(&self, slot: u64) -> usize {
        let mut acc = 0;
        for (s, &w) in self.weights.iter().enumerate() {
            acc += w;
            if slot < acc {
                return s;
            }
        }
        self.weights.len() - 1
    }

    /// The source at `position` and how many of its samples came before it this epoch.
    fn slot(&self, seed: u64, epoch: u64, position: u64) -> (usize, u64) {
        match self.mode {
            MixtureMode::Ratio(_) => {
                let (j, r) = (position / self.period, position % self.period);
                let perm = EpochOrder::keyed(self.period, "mixture-slots", &[seed, epoch, j]);
                let s = self.source_of_slot(perm.get(r));
                let before = (0..r).filter(|&q| self.source_of_slot(perm.get(q)) == s).count() as u64;
                (s, j * self.weights[s] + before)
            }
            MixtureMode::TaskRotation => {
                let n = self.lens.len() as u64;
                let b = position / self.batch_size;
                ((b % n) as usize, (b / n) * self.batch_size + position % self.batch_size)
            }
        }
    }
}

impl Plan for MixturePlan {
    fn epoch_len(&self) -> u64 {
        self.iterations * self.batch_size
    }

    fn picks(&self, seed: u64, epoch: u64, range: Range<u64>) -> Vec<(usize, u64)> {
        let mut orders: BTreeMap<(usize, u64), EpochOrder> = BTreeMap::new();
        range
            .map(|p| {
                let (s, k) = self.slot(seed, epoch, p);
                let n = self.lens[s];
                let pass = k / n;
                let order = orders
                    .entry((s, pass))
                    .or_insert_with(|| EpochOrder::keyed(n, "mixture-source", &[seed, epoch, s as u64, pass]));
                (s, order.get(k % n))
            })
            .collect()
    }
}
