//! The SLURM command-line tools (`sbatch`, `squeue`, `sacct`, `scancel`),
//! called as processes: they are the interface every site supports, and
//! they read the site's configuration (`SLURM_CONF`) as users expect.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use actionbench_pipeline::Resources;

use crate::error::{Error, Result};

/// `sbatch` options for a stage's `resources`. GPUs are requested as a
/// generic resource (`--gres=gpu:N`), which every SLURM version since 2.x
/// understands, unlike `--gpus`.
pub fn resource_args(r: &Resources) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(cpus) = r.cpus {
        args.push(format!("--cpus-per-task={cpus}"));
    }
    if let Some(mem) = &r.mem {
        args.push(format!("--mem={mem}"));
    }
    if let Some(gpus) = r.gpus {
        args.push(format!("--gres=gpu:{gpus}"));
    }
    if let Some(time) = &r.time {
        args.push(format!("--time={time}"));
    }
    if let Some(partition) = &r.partition {
        args.push(format!("--partition={partition}"));
    }
    args.extend(r.sbatch.iter().cloned());
    args
}

fn run(tool: &'static str, args: &[String]) -> Result<std::process::Output> {
    Command::new(tool).args(args).output().map_err(|source| Error::Tool { tool, source })
}

/// Submits `script`; returns the job id.
pub(crate) fn sbatch(stage: &str, script: &Path, args: &[String]) -> Result<String> {
    let mut all = vec!["--parsable".to_string()];
    all.extend(args.iter().cloned());
    all.push(script.display().to_string());
    let out = run("sbatch", &all)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    // `--parsable` prints `ID` or `ID;CLUSTER`.
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    if !out.status.success() || id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::Submit {
            stage: stage.to_string(),
            message: format!("{}{}", String::from_utf8_lossy(&out.stderr).trim(), stdout.trim()),
        });
    }
    Ok(id)
}

/// A job as `squeue` (or `sacct`) last described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobState {
    /// `PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `CANCELLED`, …
    pub(crate) state: String,
    /// Why it is pending or why it ended (`Dependency`, `DependencyNeverSatisfied`, …).
    pub(crate) reason: String,
}

impl JobState {
    /// Whether the job will not run (any more).
    pub(crate) fn is_final(&self) -> bool {
        !matches!(
            self.state.as_str(),
            "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING" | "REQUEUED" | "RESIZING" | "SUSPENDED" | "STAGE_OUT"
        )
    }
}

/// States of `ids` that `squeue` still knows (ended jobs stay listed for
/// the cluster's `MinJobAge`). `None` when `squeue` itself failed (a busy
/// controller): the caller asks again later.
pub(crate) fn squeue(ids: &[String]) -> Option<HashMap<String, JobState>> {
    if ids.is_empty() {
        return Some(HashMap::new());
    }
    // `-r`: one line per array task (`ID_I`), pending ones included.
    let args = ["-h", "-r", "-t", "all", "-o", "%i|%T|%r", "-j", &ids.join(",")].map(String::from);
    let out = run("squeue", &args).ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        // Every id already purged from the controller's memory.
        return stderr.contains("Invalid job id").then(HashMap::new);
    }
    Some(parse_squeue(&String::from_utf8_lossy(&out.stdout)))
}

fn parse_squeue(text: &str) -> HashMap<String, JobState> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.trim().splitn(3, '|');
            let id = parts.next()?.to_string();
            let state = parts.next()?.to_string();
            let reason = parts.next().unwrap_or("").to_string();
            Some((id, JobState { state, reason }))
        })
        .collect()
}

/// The final state of job `id` from accounting, when the site has it
/// (`sacct` exits non-zero when accounting storage is disabled).
pub(crate) fn sacct(id: &str) -> Option<JobState> {
    let args = ["-n", "-X", "-P", "-o", "JobID,State,ExitCode", "-j", id].map(String::from);
    let out = run("sacct", &args).ok().filter(|o| o.status.success())?;
    String::from_utf8_lossy(&out.stdout).lines().find_map(|line| {
        let mut parts = line.split('|');
        (parts.next()? == id).then(|| {
            // `CANCELLED by 0` → `CANCELLED`.
            let state = parts.next().unwrap_or("").split_whitespace().next().unwrap_or("").to_string();
            JobState { state, reason: format!("exit code {}", parts.next().unwrap_or("?")) }
        })
    })
}

/// Cancels jobs (best effort: a job that already ended is not an error).
pub(crate) fn scancel(ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    run("scancel", ids).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_map_to_the_sbatch_options_slurm_documents() {
        let r = Resources {
            cpus: Some(8),
            mem: Some("32G".into()),
            gpus: Some(2),
            time: Some("04:00:00".into()),
            partition: Some("gpu".into()),
            sbatch: vec!["--qos=high".into(), "--constraint=a100".into()],
        };
        assert_eq!(
            resource_args(&r),
            [
                "--cpus-per-task=8",
                "--mem=32G",
                "--gres=gpu:2",
                "--time=04:00:00",
                "--partition=gpu",
                "--qos=high",
                "--constraint=a100"
            ]
        );
        assert!(resource_args(&Resources::default()).is_empty());
    }

    #[test]
    fn squeue_lines() {
        let states = parse_squeue("12|RUNNING|None\n13|PENDING|Dependency\n14|CANCELLED|DependencyNeverSatisfied\n");
        assert_eq!(states["13"], JobState { state: "PENDING".into(), reason: "Dependency".into() });
        assert!(!states["12"].is_final() && !states["13"].is_final() && states["14"].is_final());
    }
}
