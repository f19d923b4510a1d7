//! `actionbench push` / `pull`: built-in stage outputs to and from the
//! project's remote (`[remote]` in `actionbench.toml`, docs/remote.md).
//! Both work from the lock files, so `pull` needs neither the raw data nor
//! the stage kinds: a machine with the project's files and lock files gets
//! exactly what they record.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use actionbench_core::Fingerprint;
use actionbench_pipeline::{Cache, LockFile, LockedStage, default_cache_dir, find_project_root, project_lock_files};
use actionbench_remote::{Pulled, Pushed, Remote};

use crate::output::{OutputFormat, TextTable, print_json};
use crate::progress::Progress;

/// Arguments of `actionbench push` and `actionbench pull`.
#[derive(clap::Args)]
pub(crate) struct TransferArgs {
    /// Pipeline name (a file in `pipelines/`, without `.toml`); every
    /// pipeline when omitted.
    pipeline: Option<String>,
    /// Only these stages (a matrix table names all its instances) and the
    /// stages they depend on; all when omitted.
    stages: Vec<String>,
}

/// One built-in stage output the lock files record.
struct Wanted {
    pipeline: String,
    stage: String,
    key: Fingerprint,
}

/// The built-in stage outputs `args` selects, from the lock files.
fn wanted(root: &std::path::Path, args: &TransferArgs) -> anyhow::Result<Vec<Wanted>> {
    let locks: Vec<(String, LockFile)> = match &args.pipeline {
        Some(name) => {
            let all = project_lock_files(root)?;
            match all.into_iter().find(|(n, _)| n == name) {
                Some(found) => vec![found],
                None => {
                    let file = root.join("pipelines").join(format!("{name}.toml"));
                    let hint = if file.is_file() {
                        format!("`{name}` has no lock file yet: `actionbench run {name}` first")
                    } else {
                        "pass the name of a pipeline in `pipelines/` (without `.toml`)".to_string()
                    };
                    return Err(actionbench_core::Diagnostic::hinted(
                        format!("no lock file `pipelines/{name}.lock` in this project"),
                        hint,
                    )
                    .into());
                }
            }
        }
        None => project_lock_files(root)?,
    };
    let mut out = Vec::new();
    for (pipeline, lock) in locks {
        let selected = select(&pipeline, &lock, &args.stages)?;
        for (stage, entry) in &lock.stages {
            if selected.as_ref().is_none_or(|s| s.contains(stage)) && entry.definition.kind != "cmd" {
                out.push(Wanted { pipeline: pipeline.clone(), stage: stage.clone(), key: entry.key });
            }
        }
    }
    Ok(out)
}

/// The named stages and their upstream stages (from the lock file); `None`
/// for all.
fn select(pipeline: &str, lock: &LockFile, names: &[String]) -> anyhow::Result<Option<BTreeSet<String>>> {
    if names.is_empty() {
        return Ok(None);
    }
    let stages: &BTreeMap<String, LockedStage> = &lock.stages;
    let mut todo: Vec<String> = Vec::new();
    for name in names {
        let found: Vec<&String> =
            stages.keys().filter(|s| *s == name || s.split_once('@').is_some_and(|(table, _)| table == name)).collect();
        if found.is_empty() {
            let hint =
                actionbench_core::suggest::did_you_mean(name, stages.keys().map(String::as_str)).unwrap_or_else(|| {
                    format!("its lock file records: {}", stages.keys().cloned().collect::<Vec<_>>().join(", "))
                });
            return Err(actionbench_core::Diagnostic::hinted(
                format!("pipeline `{pipeline}` records no stage `{name}` in its lock file"),
                hint,
            )
            .into());
        }
        todo.extend(found.into_iter().cloned());
    }
    let mut selected = BTreeSet::new();
    while let Some(stage) = todo.pop() {
        if selected.insert(stage.clone())
            && let Some(entry) = stages.get(&stage)
        {
            todo.extend(entry.definition.upstream.keys().cloned());
        }
    }
    Ok(Some(selected))
}

fn open(progress: &Progress) -> anyhow::Result<(Remote, Cache, std::path::PathBuf)> {
    progress.clear();
    let root = find_project_root(&std::env::current_dir()?)?;
    let remote = Remote::open(&root)?;
    let cache = Cache::open(&default_cache_dir(&root, None))?;
    Ok((remote, cache, root))
}

/// `actionbench push`.
pub(crate) fn push(args: &TransferArgs, format: OutputFormat, progress: &Progress) -> anyhow::Result<ExitCode> {
    let (remote, cache, root) = open(progress)?;
    let mut rows = Vec::new();
    for w in wanted(&root, args)? {
        let result = remote.push_stage(&cache, &w.key)?;
        rows.push((w, serde_json::to_value(result)?, describe_push(result)));
    }
    print_rows(&remote, rows, format)?;
    Ok(ExitCode::SUCCESS)
}

/// `actionbench pull`.
pub(crate) fn pull(args: &TransferArgs, format: OutputFormat, progress: &Progress) -> anyhow::Result<ExitCode> {
    let (remote, cache, root) = open(progress)?;
    // A run removes work directories it finds; downloads go into one.
    let _guard = cache.lock(progress)?;
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for w in wanted(&root, args)? {
        let result = remote.pull_stage(&cache, &w.key)?;
        if result == Pulled::NotOnRemote {
            missing.push(format!("{}.{}", w.pipeline, w.stage));
        }
        rows.push((w, serde_json::to_value(result)?, describe_pull(result)));
    }
    print_rows(&remote, rows, format)?;
    if !missing.is_empty() {
        eprintln!(
            "note: {} stage output(s) are not on the remote: {} (`actionbench push` them from a machine that has them, \
             or `actionbench run` them here)",
            missing.len(),
            missing.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_push(r: Pushed) -> (String, String, String) {
    match r {
        Pushed::Uploaded { files, blobs, bytes } => {
            ("pushed".into(), format!("{files} ({blobs} new)"), bytes.to_string())
        }
        Pushed::AlreadyThere => ("already on the remote".into(), String::new(), String::new()),
        Pushed::NotLocal => ("not in the local cache".into(), String::new(), String::new()),
    }
}

fn describe_pull(r: Pulled) -> (String, String, String) {
    match r {
        Pulled::Downloaded { files, bytes } => ("pulled".into(), files.to_string(), bytes.to_string()),
        Pulled::AlreadyLocal => ("already local".into(), String::new(), String::new()),
        Pulled::NotOnRemote => ("not on the remote".into(), String::new(), String::new()),
    }
}

fn print_rows(
    remote: &Remote,
    rows: Vec<(Wanted, serde_json::Value, (String, String, String))>,
    format: OutputFormat,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => {
            let doc: Vec<serde_json::Value> = rows
                .into_iter()
                .map(|(w, mut v, _)| {
                    if let Some(obj) = v.as_object_mut() {
                        obj.insert("pipeline".into(), w.pipeline.into());
                        obj.insert("stage".into(), w.stage.into());
                        obj.insert("key".into(), w.key.to_hex().into());
                    }
                    v
                })
                .collect();
            print_json(&serde_json::json!({ "remote": remote.url(), "stages": doc }))
        }
        _ => {
            let mut table = TextTable::new(["pipeline", "stage", "key", "result", "files", "bytes"]);
            for (w, _, (result, files, bytes)) in rows {
                let key = if format == OutputFormat::Csv { w.key.to_hex() } else { w.key.short() };
                table.push(vec![w.pipeline, w.stage, key, result, files, bytes]);
            }
            table.print(format)
        }
    }
}
