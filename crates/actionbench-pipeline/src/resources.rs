//! `resources = { ... }` of a stage: what it asks of a cluster node when an
//! executor other than the local one runs it (`run --executor slurm`). Not
//! part of the stage's key: where a stage runs does not change its output.

use serde::{Deserialize, Serialize};

/// A stage's resource request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Resources {
    /// CPU cores for the stage's one task.
    pub cpus: Option<u32>,
    /// Memory of the node the stage needs, with a unit: `"32G"`, `"500M"`.
    pub mem: Option<String>,
    /// GPUs.
    pub gpus: Option<u32>,
    /// Wall-time limit: `"MM"`, `"HH:MM:SS"`, `"D-HH"`, `"D-HH:MM:SS"`, …
    pub time: Option<String>,
    /// The cluster partition (queue).
    pub partition: Option<String>,
    /// Further `sbatch` options, each one `--name=value` argument.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sbatch: Vec<String>,
}

/// `sbatch` options the executor sets itself.
const RESERVED: &[&str] =
    &["--array", "--dependency", "--output", "--error", "--job-name", "--parsable", "--wrap", "--chdir"];

impl Resources {
    /// Checks the values; the message says which and how.
    pub(crate) fn check(&self) -> std::result::Result<(), String> {
        if self.cpus == Some(0) {
            return Err("`cpus` must be at least 1".into());
        }
        if let Some(mem) = &self.mem {
            let digits = mem.trim_end_matches(['K', 'M', 'G', 'T']);
            let unit_ok = mem.len() - digits.len() <= 1;
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || !unit_ok {
                return Err(format!(
                    "`mem = \"{mem}\"` is not a size: write a number with K, M, G or T (e.g. \"32G\")"
                ));
            }
        }
        if let Some(time) = &self.time
            && !valid_time(time)
        {
            return Err(format!(
                "`time = \"{time}\"` is not a SLURM time: write MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"
            ));
        }
        if let Some(p) = &self.partition
            && (p.is_empty() || p.contains(char::is_whitespace))
        {
            return Err(format!("`partition = \"{p}\"` must be one word"));
        }
        for arg in &self.sbatch {
            let name = arg.split('=').next().unwrap_or(arg);
            if !arg.starts_with("--") {
                return Err(format!("`sbatch` entry `{arg}` must be one long option, like `--qos=high`"));
            }
            if RESERVED.contains(&name) {
                return Err(format!("`sbatch` entry `{arg}`: the executor sets `{name}` itself"));
            }
        }
        Ok(())
    }
}

/// SLURM's time formats: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`.
fn valid_time(t: &str) -> bool {
    let numbers = |s: &str, max_parts: usize| {
        let parts: Vec<&str> = s.split(':').collect();
        parts.len() <= max_parts && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    };
    match t.split_once('-') {
        Some((days, rest)) => numbers(days, 1) && numbers(rest, 3),
        None => numbers(t, 3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked() {
        let ok = Resources {
            cpus: Some(8),
            mem: Some("32G".into()),
            gpus: Some(1),
            time: Some("1-04:00:00".into()),
            partition: Some("gpu".into()),
            sbatch: vec!["--qos=high".into()],
        };
        assert_eq!(ok.check(), Ok(()));
        for (bad, says) in [
            (Resources { mem: Some("32GB".into()), ..Default::default() }, "not a size"),
            (Resources { mem: Some("G".into()), ..Default::default() }, "not a size"),
            (Resources { time: Some("4h".into()), ..Default::default() }, "not a SLURM time"),
            (Resources { time: Some("1:2:3:4".into()), ..Default::default() }, "not a SLURM time"),
            (Resources { cpus: Some(0), ..Default::default() }, "at least 1"),
            (Resources { sbatch: vec!["-q high".into()], ..Default::default() }, "one long option"),
            (Resources { sbatch: vec!["--dependency=afterok:1".into()], ..Default::default() }, "sets `--dependency`"),
        ] {
            let err = bad.check().unwrap_err();
            assert!(err.contains(says), "{err}");
        }
        for good in ["30", "30:00", "04:00:00", "2-0", "2-12:30", "2-12:30:00"] {
            assert!(valid_time(good), "{good}");
        }
    }
}
