//! Run records: one small file per stage run (`v1/runs/PIPELINE/STAGE/KEY.toml`
//! in the cache), so `actionbench exp show` and `actionbench.runs` list every
//! run — including runs with `-S` overrides, which leave the lock file as
//! it was — with what defined it.

use std::path::{Path, PathBuf};

use actionbench_core::Fingerprint;
use serde::{Deserialize, Serialize};

use crate::cache::{Cache, write_atomic};
use crate::error::{Error, Result};
use crate::matrix::Combo;
use crate::stage_key::StageKey;

/// One run of one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RunRecord {
    /// The pipeline.
    pub pipeline: String,
    /// The stage (`train@seed=0` for an instance of a matrix).
    pub stage: String,
    /// The stage's table in the pipeline file.
    pub table: String,
    /// Its key.
    pub key: Fingerprint,
    /// `ran`, `cached` when it was first seen already computed, or `pulled`
    /// when `run --remote` fetched it from the remote.
    pub outcome: String,
    /// When it finished, in milliseconds since 1970 (UTC).
    pub finished_ms: u64,
    /// Wall time.
    pub seconds: f64,
    /// `-S` overrides it ran with: its own and its upstream stages'.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    /// Its matrix values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<Combo>,
    /// What the key is made of (kind, params, inputs, upstream keys, tools).
    pub definition: StageKey,
}

impl Cache {
    /// Where run records live.
    pub fn runs_dir(&self) -> PathBuf {
        self.state_file("runs")
    }
}

fn record_path(cache: &Cache, pipeline: &str, stage: &str, key: &Fingerprint) -> PathBuf {
    cache.runs_dir().join(pipeline).join(stage).join(format!("{}.toml", key.to_hex()))
}

impl RunRecord {
    /// Writes the record (atomically). A `cached` outcome never replaces a
    /// record of the same key: the run that computed it is kept.
    pub fn save(&self, cache: &Cache) -> Result<()> {
        let path = record_path(cache, &self.pipeline, &self.stage, &self.key);
        if matches!(self.outcome.as_str(), "cached" | "pulled") && path.exists() {
            return Ok(());
        }
        let text = toml::to_string(self).map_err(|e| Error::Internal(e.to_string()))?;
        write_atomic(&path, text.as_bytes())
    }

    /// Every record of `pipeline` (all pipelines when `None`), oldest first.
    pub fn list(cache: &Cache, pipeline: Option<&str>) -> Result<Vec<RunRecord>> {
        let dir = cache.runs_dir();
        let dir = match pipeline {
            Some(p) => dir.join(p),
            None => dir,
        };
        let mut out = Vec::new();
        if !dir.is_dir() {
            return Ok(out);
        }
        for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
            let entry = entry.map_err(|e| Error::io(&dir, e.into()))?;
            let path = entry.path();
            if !entry.file_type().is_file() || path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            out.push(Self::read(path)?);
        }
        out.sort_by(|a, b| (a.finished_ms, &a.pipeline, &a.stage).cmp(&(b.finished_ms, &b.pipeline, &b.stage)));
        Ok(out)
    }

    fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        toml::from_str(&text)
            .map_err(|e| Error::RunRecord { path: path.to_path_buf(), message: e.message().trim().to_string() })
    }

    /// `finished_ms` as `YYYY-MM-DD HH:MM:SS` (UTC).
    pub fn finished_text(&self) -> String {
        utc_text(self.finished_ms / 1000)
    }
}

/// Seconds since 1970 as `YYYY-MM-DD HH:MM:SS` UTC (days to civil date:
/// Howard Hinnant's algorithm; no date crate for one format).
pub fn utc_text(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_matches_known_dates() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00");
        assert_eq!(utc_text(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc_text(1_796_486_719), "2026-12-05 16:05:19");
    }
}
