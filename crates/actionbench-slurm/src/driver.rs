//! `actionbench run --executor slurm`: every stale stage becomes one batch
//! job that runs `actionbench run PIPELINE STAGE` on a compute node, with
//! `afterok` dependencies between jobs, so the cluster schedules the graph.
//!
//! A stage with `partitions = N` becomes two submissions: a job array of N
//! tasks, each running `actionbench run PIPELINE STAGE --part I` (the
//! parts land in the cache, which must be on a shared file system), and
//! the stage's job, which depends on the whole array and merges.
//!
//! Status comes from three places, because each can fail on a real site
//! (the complaints about Snakemake's and Nextflow's executors):
//! - `squeue` (with `-t all`, which also lists jobs that ended within the
//!   cluster's `MinJobAge`);
//! - `sacct`, when the site keeps accounting (many do not);
//! - the job's own exit marker, written by its script into the shared cache
//!   after `actionbench` returns: the ground truth for how it ended. On NFS
//!   a marker can appear late (attribute caching), so an ended job without
//!   one is waited for during a grace period before it is called lost.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use actionbench_core::Fingerprint;
use actionbench_pipeline::{Engine, Reporter, StageOutcome, StageReport, StageState};
use serde::Serialize;

use crate::commands::{self, JobState};
use crate::error::{Error, Result};

/// How `run --executor slurm` runs.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// Stages to bring up to date (with what they need); all when empty.
    pub targets: Vec<String>,
    /// Re-run the targets (all stages when none is named) even if fresh.
    pub force: bool,
    /// `-S` overrides, passed on to every job.
    pub overrides: Vec<String>,
    /// Whether the stage jobs run with `--remote` (array tasks never do:
    /// parts stay in the shared cache for their merge).
    pub remote: bool,
    /// The `actionbench` the jobs run (it must be at this path on the nodes).
    pub binary: PathBuf,
    /// Time between two status polls.
    pub poll: Duration,
    /// How long an ended job's exit marker is waited for.
    pub marker_grace: Duration,
    /// Set by Ctrl-C: the submitted jobs are cancelled.
    pub interrupted: Arc<AtomicBool>,
}

/// One stage's result in a SLURM run.
#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    /// What happened, as `run` reports it.
    #[serde(flatten)]
    pub report: StageReport,
    /// The batch job (none for a stage that was fresh).
    pub job: Option<String>,
    /// Every state the cluster reported for the job, in order.
    pub states: Vec<String>,
    /// The job's log (its stdout and stderr).
    pub log: Option<PathBuf>,
    /// The job array that ran its parts (`partitions = N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array: Option<ArrayReport>,
}

/// The job array of a partitioned stage.
#[derive(Debug, Clone, Serialize)]
pub struct ArrayReport {
    /// The array's job id (its tasks are `ID_0` … `ID_{N-1}`).
    pub job: String,
    /// How many parts (tasks).
    pub parts: u32,
    /// Every state the cluster reported for each task, in order, by task id.
    pub tasks: BTreeMap<String, Vec<String>>,
}

/// The result of a SLURM run.
#[derive(Debug, Clone, Serialize)]
pub struct SlurmRun {
    /// One report per stage considered, in dependency order.
    pub stages: Vec<JobReport>,
    /// Ctrl-C stopped the run and cancelled its jobs.
    pub interrupted: bool,
    /// Where the jobs' scripts, logs and markers are.
    pub dir: PathBuf,
}

/// A submitted job.
struct Job {
    stage: String,
    id: String,
    upstream: Vec<String>,
    files: JobFiles,
    states: Vec<String>,
    started: bool,
    ended_at: Option<Instant>,
    done: Option<JobReport>,
    submitted: Instant,
    array: Option<ArrayJob>,
}

impl Job {
    /// Its job id, and its array's.
    fn ids(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(self.id.clone()).chain(self.array.as_ref().map(|a| a.id.clone()))
    }
}

/// `sbatch` options making a job wait for `deps` to succeed.
fn dependency_args(deps: &[&str]) -> Vec<String> {
    if deps.is_empty() {
        return Vec::new();
    }
    // A job whose upstream failed is removed, not left pending forever.
    vec![format!("--dependency=afterok:{}", deps.join(":")), "--kill-on-invalid-dep=yes".into()]
}

/// The job array of a partitioned stage, and where its tasks write.
struct ArrayJob {
    id: String,
    parts: u32,
    tasks: BTreeMap<String, Vec<String>>,
    /// `DIR/STAGE.part-`: each task's `I.log`, `I.json` and `I.exit` follow.
    prefix: String,
}

impl ArrayJob {
    fn file(&self, index: u32, ext: &str) -> PathBuf {
        PathBuf::from(format!("{}{index}.{ext}", self.prefix))
    }

    fn report(&self) -> ArrayReport {
        ArrayReport { job: self.id.clone(), parts: self.parts, tasks: self.tasks.clone() }
    }

    /// The first part that failed: its own error (or what the cluster
    /// says) with its log tail, and its hint.
    fn failure(&self) -> Option<(String, Option<String>)> {
        (0..self.parts).find_map(|index| {
            let rc = read_marker(&self.file(index, "exit"));
            if rc == Some(0) {
                return None;
            }
            let task = format!("{}_{index}", self.id);
            let state = self.tasks.get(&task).and_then(|s| s.last()).map_or("unknown to squeue", String::as_str);
            let own = std::fs::read_to_string(self.file(index, "json"))
                .ok()
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
            let exit = rc.map_or_else(|| "no exit marker".to_string(), |rc| format!("exit {rc}"));
            let log = log_note(&self.file(index, "log"));
            Some(match own.as_ref().and_then(|r| r["error"].as_str()) {
                // The part's error says which part it is.
                Some(error) => (
                    format!("job {task} ({state}, {exit}): {error}\n{log}"),
                    own.as_ref().and_then(|r| r["hint"].as_str()).map(str::to_string),
                ),
                None => (
                    format!("part {index} of {} (job {task}, {state}, {exit}) left no result\n{log}", self.parts),
                    None,
                ),
            })
        })
    }
}

struct JobFiles {
    script: PathBuf,
    log: PathBuf,
    result: PathBuf,
    marker: PathBuf,
}

/// States in which a job was stopped before its script could write its
/// marker: no marker will come.
const KILLED: &[&str] =
    &["CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "REVOKED"];

/// The last lines of a job's log, said.
fn log_note(log: &Path) -> String {
    let t = tail(log, 15);
    if t.is_empty() {
        format!("its log ({}) is empty", log.display())
    } else {
        format!("last lines of its log ({}):\n{t}", log.display())
    }
}

/// A job script: runs `command` (writing its JSON result to `result`), then
/// the exit marker.
fn job_script(what: &str, root: &Path, command: &str, result: &str, marker: &str) -> String {
    format!(
        "#!/bin/sh\n\
         # {what}, submitted by `actionbench run --executor slurm`.\n\
         export ACTIONBENCH_NO_PROGRESS=1\n\
         # The worker pool gets the CPUs the job was given (sites without CPU\n\
         # binding would otherwise let every job use every core of its node).\n\
         if [ -n \"${{SLURM_CPUS_PER_TASK:-}}\" ]; then export RAYON_NUM_THREADS=\"$SLURM_CPUS_PER_TASK\"; fi\n\
         cd {root} || exit 1\n\
         {command} > {result}.part\n\
         rc=$?\n\
         mv -f {result}.part {result}\n\
         # The exit marker: how the job ended, whatever squeue or sacct say.\n\
         echo \"$rc\" > {marker}.part && mv -f {marker}.part {marker}\n\
         exit \"$rc\"\n",
        root = quote(&root.display().to_string()),
    )
}

fn quote(s: &str) -> String {
    shlex::try_quote(s).map(|q| q.into_owned()).unwrap_or_else(|_| s.replace('\0', ""))
}

/// Runs the stale stages among `opts.targets` (and what they need) as SLURM jobs.
pub fn run_on_slurm(engine: &Engine, opts: &SlurmOptions, reporter: &dyn Reporter) -> Result<SlurmRun> {
    let pipeline = engine.pipeline();
    let statuses = engine.status(&opts.targets)?;
    let forced: HashSet<String> = statuses
        .iter()
        .filter(|s| {
            opts.force
                && (opts.targets.is_empty()
                    || opts.targets.iter().any(|t| {
                        *t == s.stage || pipeline.stage(&s.stage).is_some_and(|d| d.matrix.is_some() && d.table == *t)
                    }))
        })
        .map(|s| s.stage.clone())
        .collect();
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let dir = engine.cache().state_file("slurm").join(&pipeline.name).join(format!("{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let root = std::path::absolute(&pipeline.root).unwrap_or_else(|_| pipeline.root.clone());
    let pipeline_file = std::path::absolute(&pipeline.path).unwrap_or_else(|_| pipeline.path.clone());

    let mut fresh: BTreeMap<String, JobReport> = BTreeMap::new();
    let mut jobs: Vec<Job> = Vec::new();
    for s in &statuses {
        if s.state == StageState::Fresh && !forced.contains(&s.stage) {
            let report =
                StageReport { stage: s.stage.clone(), outcome: StageOutcome::Cached, key: s.key, seconds: 0.0 };
            reporter.stage_finished(&s.stage, &report.outcome, 0.0);
            fresh.insert(s.stage.clone(), JobReport { report, job: None, states: Vec::new(), log: None, array: None });
            continue;
        }
        let upstream = engine.upstream(&s.stage);
        let deps: Vec<&str> = jobs.iter().filter(|j| upstream.contains(&j.stage)).map(|j| j.id.as_str()).collect();
        let file_stem = s.stage.replace(['/', '\0'], "_");
        let files = JobFiles {
            script: dir.join(format!("{file_stem}.sh")),
            log: dir.join(format!("{file_stem}.log")),
            result: dir.join(format!("{file_stem}.json")),
            marker: dir.join(format!("{file_stem}.exit")),
        };
        let definition = pipeline.stage(&s.stage);
        let resources = definition.map(|d| d.resources.clone()).unwrap_or_default();
        let partitions = match definition.map(|d| &d.body) {
            Some(actionbench_pipeline::StageBody::Builtin { partitions, .. }) => *partitions,
            _ => 1,
        };
        let base = |extra: &[&str]| -> Vec<String> {
            let mut command = vec![
                quote(&opts.binary.display().to_string()),
                "run".into(),
                quote(&pipeline_file.display().to_string()),
                quote(&s.stage),
                "--format".into(),
                "json".into(),
            ];
            command.extend(extra.iter().map(|a| a.to_string()));
            for o in &opts.overrides {
                command.extend(["-S".to_string(), quote(o)]);
            }
            command
        };
        let cancel_submitted = |jobs: &[Job]| commands::scancel(&jobs.iter().flat_map(Job::ids).collect::<Vec<_>>());
        // The parts first, as a job array; the stage's job merges them.
        let array = if partitions > 1 {
            let prefix = dir.join(format!("{file_stem}.part-")).display().to_string();
            let script_path = PathBuf::from(format!("{prefix}sh"));
            let task = "\"$SLURM_ARRAY_TASK_ID\"";
            let result = format!("{}{task}.json", quote(&prefix));
            let marker = format!("{}{task}.exit", quote(&prefix));
            let command = base(&["--part", task]).join(" ");
            let what = format!("Parts of stage `{}` of pipeline `{}` (one per array task)", s.stage, pipeline.name);
            let script = job_script(&what, &root, &command, &result, &marker);
            std::fs::write(&script_path, script).map_err(|e| Error::io(&script_path, e))?;
            let mut args = vec![
                format!("--array=0-{}", partitions - 1),
                format!("--job-name=ab:{}:{}:part", pipeline.name, s.stage),
                format!("--output={prefix}%a.log"),
                format!("--chdir={}", root.display()),
            ];
            args.extend(dependency_args(&deps));
            args.extend(commands::resource_args(&resources));
            match commands::sbatch(&s.stage, &script_path, &args) {
                Ok(id) => Some(ArrayJob { id, parts: partitions, tasks: BTreeMap::new(), prefix }),
                Err(e) => {
                    cancel_submitted(&jobs)?;
                    return Err(e);
                }
            }
        } else {
            None
        };
        let mut deps: Vec<&str> = deps;
        if let Some(a) = &array {
            deps.push(a.id.as_str());
        }
        let mut extra: Vec<&str> = Vec::new();
        if forced.contains(&s.stage) {
            extra.push("--force");
        }
        if opts.remote {
            extra.push("--remote");
        }
        let command = base(&extra).join(" ");
        let result = quote(&files.result.display().to_string());
        let marker = quote(&files.marker.display().to_string());
        let what = format!("Stage `{}` of pipeline `{}`", s.stage, pipeline.name);
        let script = job_script(&what, &root, &command, &result, &marker);
        std::fs::write(&files.script, script).map_err(|e| Error::io(&files.script, e))?;
        let mut args = vec![
            format!("--job-name=ab:{}:{}", pipeline.name, s.stage),
            format!("--output={}", files.log.display()),
            format!("--chdir={}", root.display()),
        ];
        args.extend(dependency_args(&deps));
        args.extend(commands::resource_args(&resources));
        let id = match commands::sbatch(&s.stage, &files.script, &args) {
            Ok(id) => id,
            Err(e) => {
                if let Some(a) = &array {
                    commands::scancel(std::slice::from_ref(&a.id))?;
                }
                cancel_submitted(&jobs)?;
                return Err(e);
            }
        };
        jobs.push(Job {
            stage: s.stage.clone(),
            id,
            upstream,
            files,
            states: Vec::new(),
            started: false,
            ended_at: None,
            done: None,
            submitted: Instant::now(),
            array,
        });
    }

    let interrupted = wait(&mut jobs, opts, reporter)?;
    let mut stages = Vec::with_capacity(statuses.len());
    for s in &statuses {
        if let Some(report) = fresh.remove(&s.stage) {
            stages.push(report);
        } else if let Some(job) = jobs.iter_mut().find(|j| j.stage == s.stage) {
            stages.push(job.done.take().expect("every job is done when wait returns"));
        }
    }
    Ok(SlurmRun { stages, interrupted, dir })
}

/// Polls until every job has ended (or Ctrl-C cancelled them); true when
/// interrupted.
fn wait(jobs: &mut [Job], opts: &SlurmOptions, reporter: &dyn Reporter) -> Result<bool> {
    loop {
        let open: Vec<usize> = (0..jobs.len()).filter(|&i| jobs[i].done.is_none()).collect();
        if open.is_empty() {
            return Ok(false);
        }
        if opts.interrupted.load(Ordering::SeqCst) {
            let ids: Vec<String> = open.iter().flat_map(|&i| jobs[i].ids()).collect();
            commands::scancel(&ids)?;
            for &i in &open {
                let job = &mut jobs[i];
                let outcome = StageOutcome::Failed {
                    error: format!("interrupted: job {} was cancelled (`scancel {}`)", job.id, job.id),
                    hint: None,
                    location: None,
                };
                reporter.stage_finished(&job.stage, &outcome, 0.0);
                job.done = Some(report(job, outcome, None, 0.0));
            }
            return Ok(true);
        }
        let ids: Vec<String> = open.iter().flat_map(|&i| jobs[i].ids()).collect();
        let listed = commands::squeue(&ids);
        for &i in &open {
            if let (Some(array), Some(map)) = (jobs[i].array.as_mut(), &listed) {
                let tasks = map.iter().filter(|(id, _)| id.strip_prefix(&array.id).is_some_and(|t| t.starts_with('_')));
                for (task, st) in tasks {
                    let seen = array.tasks.entry(task.clone()).or_default();
                    if seen.last() != Some(&st.state) {
                        seen.push(st.state.clone());
                    }
                }
            }
            if let Some(rc) = read_marker(&jobs[i].files.marker) {
                finish(jobs, i, Some(rc), reporter);
                continue;
            }
            let job = &mut jobs[i];
            let state = match &listed {
                Some(map) => map.get(&job.id).cloned().or_else(|| commands::sacct(&job.id)),
                // squeue failed this time (a busy controller): ask again.
                None => continue,
            };
            if let Some(st) = &state {
                if job.states.last() != Some(&st.state) {
                    job.states.push(st.state.clone());
                }
                if st.state == "RUNNING" && !job.started {
                    job.started = true;
                    reporter.stage_started(&job.stage);
                }
            }
            let ended = state.as_ref().is_none_or(JobState::is_final);
            if !ended {
                continue;
            }
            let killed = state.as_ref().is_some_and(|s| KILLED.contains(&s.state.as_str()));
            let since = *job.ended_at.get_or_insert_with(Instant::now);
            if killed || since.elapsed() >= opts.marker_grace {
                finish(jobs, i, None, reporter);
            }
        }
        // Sleep in short steps so Ctrl-C is answered at once.
        let until = Instant::now() + opts.poll;
        while Instant::now() < until && !opts.interrupted.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20).min(opts.poll));
        }
    }
}

fn read_marker(path: &Path) -> Option<i32> {
    // Opening the file (not a stat) makes NFS revalidate it.
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn report(job: &Job, outcome: StageOutcome, key: Option<Fingerprint>, seconds: f64) -> JobReport {
    JobReport {
        report: StageReport { stage: job.stage.clone(), outcome, key, seconds },
        job: Some(job.id.clone()),
        states: job.states.clone(),
        log: Some(job.files.log.clone()),
        array: job.array.as_ref().map(ArrayJob::report),
    }
}

/// The last `n` lines of a log.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Records how job `i` ended: from its `run --format json` result when it
/// wrote one, else from the cluster's state and its log.
fn finish(jobs: &mut [Job], i: usize, rc: Option<i32>, reporter: &dyn Reporter) {
    let failed_upstream: Option<String> = jobs[i]
        .upstream
        .iter()
        .find(|u| {
            jobs.iter().any(|j| {
                &j.stage == *u
                    && j.done.as_ref().is_some_and(|d| {
                        matches!(d.report.outcome, StageOutcome::Failed { .. } | StageOutcome::Skipped { .. })
                    })
            })
        })
        .cloned();
    let job = &jobs[i];
    let seconds = job.submitted.elapsed().as_secs_f64();
    let last_state = job.states.last().cloned().unwrap_or_else(|| "unknown to squeue and sacct".into());
    let own = std::fs::read_to_string(&job.files.result)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|doc| doc.as_array()?.iter().find(|r| r["stage"] == job.stage.as_str()).cloned());
    let key = own.as_ref().and_then(|r| r["key"].as_str()).and_then(Fingerprint::from_hex);
    let log_note = || log_note(&job.files.log);
    let array_failure = match (&job.array, rc, &failed_upstream) {
        (Some(array), None, None) => array.failure(),
        _ => None,
    };
    let outcome = match (&own, rc) {
        (Some(r), Some(_)) => match r["status"].as_str() {
            Some("ran") => StageOutcome::Ran,
            Some("cached") => StageOutcome::Cached,
            Some("pulled") => StageOutcome::Pulled,
            Some("skipped") => StageOutcome::Skipped { reason: r["reason"].as_str().unwrap_or("").to_string() },
            _ => StageOutcome::Failed {
                error: format!(
                    "job {} ({last_state}, exit {}): {}\n{}",
                    job.id,
                    rc.unwrap_or(-1),
                    r["error"].as_str().unwrap_or("failed"),
                    log_note()
                ),
                hint: r["hint"].as_str().map(str::to_string),
                location: serde_json::from_value(r["location"].clone()).ok(),
            },
        },
        // The array failed, so the cluster removed the merge: say which part and why.
        (_, None) if let Some((why, hint)) = array_failure => StageOutcome::Failed {
            error: format!("job {} ({last_state}) did not run: {why}", job.id),
            hint,
            location: None,
        },
        _ if failed_upstream.is_some() && rc.is_none() => StageOutcome::Skipped {
            reason: format!(
                "upstream stage `{}` did not complete; the cluster removed job {} ({last_state})",
                failed_upstream.unwrap_or_default(),
                job.id
            ),
        },
        (_, Some(rc)) => StageOutcome::failed(format!(
            "job {} ({last_state}) exited with {rc} without a result; {}",
            job.id,
            log_note()
        )),
        (_, None) => StageOutcome::failed(format!(
            "job {} ended as {last_state} and left no exit marker at {}; {}",
            job.id,
            job.files.marker.display(),
            log_note()
        )),
    };
    let seconds = own.as_ref().and_then(|r| r["seconds"].as_f64()).unwrap_or(seconds);
    reporter.stage_finished(&job.stage, &outcome, seconds);
    let done = report(job, outcome, key, seconds);
    jobs[i].done = Some(done);
}
