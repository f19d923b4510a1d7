//! The regression rules of the four tiers (docs/peers.md §4.2), applied to
//! one result record against its benchmark definition.

use serde::Serialize;

use crate::definition::{BenchmarkDef, MetricSpec, Tier};
use crate::record::ResultRecord;

/// What a check concluded about one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Within tolerance.
    Pass,
    /// Worse than expected by more than the tolerance.
    Regressed,
    /// Better than expected by more than the band (tier 2): a leak or a
    /// protocol change until shown otherwise.
    SuspiciouslyBetter,
    /// Within 5–10 % of a throughput reference: reported, not failed.
    Warn,
    /// The record does not have the metric, or not enough values.
    Missing,
    /// Measured on another machine class (tier 3) or with another data
    /// order (tier 1).
    NotComparable,
}

impl Verdict {
    /// Whether `leaderboard check` should fail on it.
    pub fn fails(self) -> bool {
        matches!(self, Self::Regressed | Self::SuspiciouslyBetter | Self::Missing | Self::NotComparable)
    }
}

/// One metric's check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricCheck {
    /// The metric.
    pub metric: String,
    /// Expected value.
    pub expected: f64,
    /// The compared statistic (the value, mean or median).
    pub observed: Option<f64>,
    /// Spread of the values (std over seeds), when several.
    pub std: Option<f64>,
    /// Allowed distance from `expected` (tier 3: a fraction of it).
    pub tolerance: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// One sentence: which rule, by how much.
    pub detail: String,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample standard deviation (n − 1), 0 for one value.
fn std_dev(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = mean(v);
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 }
}

/// Checks every expected metric of `def` against `record`.
pub fn check(def: &BenchmarkDef, record: &ResultRecord) -> Vec<MetricCheck> {
    def.metrics.iter().map(|spec| check_metric(def, spec, record)).collect()
}

fn check_metric(def: &BenchmarkDef, spec: &MetricSpec, record: &ResultRecord) -> MetricCheck {
    let values = record.values.get(&spec.name).map(Vec::as_slice).unwrap_or(&[]);
    let unit = spec.unit.label();
    let mut out = MetricCheck {
        metric: spec.name.clone(),
        expected: spec.expected,
        observed: None,
        std: None,
        tolerance: 0.0,
        verdict: Verdict::Missing,
        detail: String::new(),
    };
    let needed = match def.tier {
        Tier::Training => def.seeds.len().max(3),
        Tier::Throughput => def.repeat.unwrap_or(5).max(5),
        Tier::Evaluator | Tier::Inference => 1,
    };
    if values.len() < needed || values.iter().any(|v| !v.is_finite()) {
        out.detail = format!(
            "needs {needed} finite value{} of `{}`, the record has {}",
            if needed == 1 { "" } else { "s" },
            spec.name,
            values.len()
        );
        return out;
    }
    // Signed distance in the "better" direction.
    let gain = |observed: f64| if spec.higher_is_better { observed - spec.expected } else { spec.expected - observed };
    match def.tier {
        Tier::Evaluator => {
            let observed = values[0];
            out.observed = Some(observed);
            out.tolerance = spec.tolerance.unwrap_or(0.0);
            let exact = values.iter().all(|v| (v - spec.expected).abs() <= out.tolerance);
            out.verdict = if exact { Verdict::Pass } else { Verdict::Regressed };
            out.detail = if exact {
                "bit-identical to the frozen value".into()
            } else {
                format!("{observed:?} differs from {:?}: evaluator output must not move", spec.expected)
            };
        }
        Tier::Inference => {
            let observed = values[0];
            out.observed = Some(observed);
            out.tolerance = spec.tolerance.unwrap_or(0.1 * spec.unit.per_point());
            let order_ok = match (&def.data_order_hash, &record.data_order_hash) {
                (Some(want), Some(got)) => want == got,
                (Some(_), None) => false,
                (None, _) => true,
            };
            let delta = observed - spec.expected;
            if !order_ok {
                out.verdict = Verdict::NotComparable;
                out.detail = format!(
                    "data order hash {} differs from the expected {}: the loader's order changed",
                    record.data_order_hash.as_deref().unwrap_or("(none)"),
                    def.data_order_hash.as_deref().unwrap_or("")
                );
            } else if delta.abs() <= out.tolerance {
                out.verdict = Verdict::Pass;
                out.detail = format!("moved {delta:+.4}{unit}, within ±{}{unit}", out.tolerance);
            } else {
                out.verdict = Verdict::Regressed;
                out.detail = format!("moved {delta:+.4}{unit}, beyond ±{}{unit}", out.tolerance);
            }
        }
        Tier::Training => {
            let m = mean(values);
            let sd = std_dev(values);
            out.observed = Some(m);
            out.std = Some(sd);
            let recorded = spec.std.unwrap_or(sd);
            out.tolerance = spec.tolerance.unwrap_or((0.5 * spec.unit.per_point()).max(2.0 * recorded));
            let g = gain(m);
            let n = values.len();
            if g < -out.tolerance {
                out.verdict = Verdict::Regressed;
                out.detail = format!(
                    "mean of {n} seeds {m:.4} ± {sd:.4} is {:.4}{unit} worse, beyond the band {:.4}{unit}",
                    -g, out.tolerance
                );
            } else if g > out.tolerance {
                out.verdict = Verdict::SuspiciouslyBetter;
                out.detail = format!(
                    "mean of {n} seeds {m:.4} ± {sd:.4} is {g:.4}{unit} better, beyond the band {:.4}{unit}: \
                     check for a data leak or a protocol change",
                    out.tolerance
                );
            } else {
                out.verdict = Verdict::Pass;
                out.detail = format!("mean of {n} seeds {m:.4} ± {sd:.4}, within ±{:.4}{unit}", out.tolerance);
            }
        }
        Tier::Throughput => {
            let med = median(values);
            out.observed = Some(med);
            out.tolerance = spec.tolerance.unwrap_or(0.10);
            let same_class = def.machine_class.as_deref() == Some(record.provenance.machine_class.as_str());
            // Slowdown as a fraction of the reference (positive = worse).
            let slowdown = -gain(med) / spec.expected;
            if !same_class {
                out.verdict = Verdict::NotComparable;
                out.detail = format!(
                    "measured on `{}`, the reference is for `{}`: throughput compares within one machine class",
                    record.provenance.machine_class,
                    def.machine_class.as_deref().unwrap_or("")
                );
            } else if slowdown > out.tolerance {
                out.verdict = Verdict::Regressed;
                out.detail = format!(
                    "median of {} runs {med:.4}{unit} is {:.1} % slower than {:.4}{unit} (limit {:.0} %)",
                    values.len(),
                    slowdown * 100.0,
                    spec.expected,
                    out.tolerance * 100.0
                );
            } else {
                out.verdict = if slowdown > out.tolerance / 2.0 { Verdict::Warn } else { Verdict::Pass };
                out.detail = format!(
                    "median of {} runs {med:.4}{unit}, {:+.1} % against {:.4}{unit}",
                    values.len(),
                    -slowdown * 100.0,
                    spec.expected
                );
            }
        }
    }
    out
}
