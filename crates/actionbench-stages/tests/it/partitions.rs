//! `partitions = N`: an ingest split into parts (threads here, array tasks
//! on a cluster) and merged writes the bytes of the single run, under the
//! same key.

use std::collections::BTreeMap;
use std::path::Path;

use actionbench_pipeline::{Engine, NoopReporter, PipelineDef, RunOptions, StageOutcome};

use crate::ingest::skeleton;

/// Samples in the test set: enough for several read chunks of `ingest.ntu`
/// (128, then smaller toward the end).
const SAMPLES: usize = 300;

/// The pipeline, with `partitions = N` when given.
fn pipeline(partitions: Option<u32>) -> String {
    let line = partitions.map(|n| format!("partitions = {n}\n")).unwrap_or_default();
    format!(
        "[stages.ntu]\nuses = \"ingest.ntu\"\ninputs = [\"data/ntu\"]\n\
         params = {{ dataset = \"ntu60\", on-error = \"skip\", rows-per-shard = 1000 }}\n{line}"
    )
}

/// A `.skeleton` text of `frames` frames of two bodies whose numbers all
/// differ (seeded by `seed`): Parquet pages then fill up (about 1 MB of
/// joint orientations per row group), so where the batches are cut shows
/// in the bytes.
fn noisy_skeleton(seed: u64, frames: usize) -> String {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 40) as f64 / (1u64 << 24) as f64
    };
    let mut s = format!("{frames}\n");
    for _ in 0..frames {
        s.push_str("2\n");
        for body in 0..2 {
            s.push_str(&format!("{} 0 1 1 1 1 0 {:.6} {:.6} 2\n25\n", seed * 2 + body + 1, next(), next()));
            for j in 0..25 {
                let v: Vec<String> = (0..11).map(|_| format!("{:.7}", next())).collect();
                s.push_str(&format!("{} {}\n", v.join(" "), j % 3));
            }
        }
    }
    s
}

/// A project of `SAMPLES` good files (10 to 13 frames of two bodies), three
/// corrupt ones, two of NTU120 and one of the official missing list.
fn project(partitions: Option<u32>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: String, text: String| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("pipelines/p.toml".into(), pipeline(partitions));
    for i in 0..SAMPLES {
        let name = format!("S001C001P{:03}R001A{:03}", 1 + i / 60, 1 + i % 60);
        write(format!("data/ntu/{name}.skeleton"), noisy_skeleton(i as u64, 10 + i % 4));
    }
    let full = skeleton(&[1], &[5], "\n");
    for (k, name) in ["S002C001P001R001A007", "S003C002P010R002A020", "S004C003P020R001A050"].iter().enumerate() {
        let truncated: String = full.lines().take(5 + k).map(|l| format!("{l}\n")).collect();
        write(format!("data/ntu/bad/{name}.skeleton"), truncated);
    }
    write("data/ntu/S018C001P045R001A061.skeleton".into(), skeleton(&[1], &[5], "\n"));
    write("data/ntu/S019C001P045R001A062.skeleton".into(), skeleton(&[1], &[5], "\n"));
    write("data/ntu/S001C002P005R002A008.skeleton".into(), skeleton(&[1], &[5], "\n"));
    dir
}

fn engine(root: &Path) -> Engine {
    Engine::new(PipelineDef::load("p", root).unwrap(), actionbench_stages::registry(), None).unwrap()
}

/// Runs the pipeline; the stage's key and every file of its output.
fn run(root: &Path) -> (actionbench_core::Fingerprint, BTreeMap<String, Vec<u8>>) {
    let engine = engine(root);
    let reports = engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap();
    assert_eq!(reports[0].outcome, StageOutcome::Ran, "{reports:?}");
    let key = reports[0].key.unwrap();
    (key, tree(&engine.cache().stage_dir(&key)))
}

fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(dir).unwrap().display().to_string(), std::fs::read(e.path()).unwrap()))
        .collect()
}

fn parts_dir(root: &Path, key: &actionbench_core::Fingerprint) -> std::path::PathBuf {
    engine(root).cache().state_file("parts").join(key.to_hex())
}

#[test]
fn partitioned_ingest_writes_the_single_runs_bytes_under_its_key() {
    let single = project(None);
    let (key, expected) = run(single.path());
    let shards = expected.keys().filter(|f| f.ends_with(".parquet") && !f.starts_with("rejects")).count();
    assert_eq!(shards, SAMPLES.div_ceil(1000), "{:?}", expected.keys());
    let summary: serde_json::Value = serde_json::from_slice(&expected["_ingest.json"]).unwrap();
    assert_eq!(summary["rows"], SAMPLES as u64);
    assert_eq!(summary["rejected"], 3);
    assert_eq!(summary["dropped_missing"], 1, "{summary}");
    // 9 parts: more than `ingest.ntu` makes read chunks of 300 samples, so
    // some parts are empty.
    for n in [2, 4, 9] {
        let split = project(Some(n));
        let (split_key, files) = run(split.path());
        assert_eq!(split_key, key, "partitions = {n} changed the key");
        assert_eq!(files.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "partitions = {n}");
        for (name, bytes) in &files {
            assert!(bytes == &expected[name], "partitions = {n}: `{name}` differs from the single run's");
        }
        assert!(!parts_dir(split.path(), &key).exists(), "the merged parts are removed");
    }
}

#[test]
fn parts_run_apart_without_the_lock_then_merge() {
    let single = project(None);
    let (key, expected) = run(single.path());
    let split = project(Some(3));
    let root = split.path();
    let engine = engine(root);
    // Hold the run lock: parts do not take it.
    let _lock = engine.cache().lock(&NoopReporter).unwrap();
    let reports: Vec<_> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..3)
            .map(|i| {
                s.spawn({
                    let engine = &engine;
                    move || engine.run_part("ntu", i, &NoopReporter)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap().unwrap()).collect()
    });
    for (i, r) in reports.iter().enumerate() {
        assert_eq!((r.part, r.parts, r.key, &r.outcome), (i as u32, 3, key, &StageOutcome::Ran), "{r:?}");
    }
    assert_eq!(engine.run_part("ntu", 1, &NoopReporter).unwrap().outcome, StageOutcome::Cached);
    drop(_lock);

    // The merge reads the parts: one whose summary lies is refused by name.
    let part1 = parts_dir(root, &key).join("1-of-3");
    let summary_path = part1.join("part.json");
    let mut summary: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary_path).unwrap()).unwrap();
    summary["sources"] = 999.into();
    std::fs::write(&summary_path, summary.to_string()).unwrap();
    let reports = engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap();
    let StageOutcome::Failed { error, .. } = &reports[0].outcome else { panic!("{reports:?}") };
    assert!(error.contains("part 1 of 3") && error.contains("1-of-3") && error.contains("read 999 sources"), "{error}");
    assert!(!engine.cache().stage_dir(&key).exists(), "nothing published");

    // Without it, the run makes that part again and merges.
    std::fs::remove_dir_all(&part1).unwrap();
    let reports = engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap();
    assert_eq!(reports[0].outcome, StageOutcome::Ran, "{reports:?}");
    assert_eq!(tree(&engine.cache().stage_dir(&key)), expected);
    assert!(!parts_dir(root, &key).exists());
}

#[test]
fn partitions_are_refused_where_they_cannot_work() {
    // A kind that sorts samples found inside its files.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
    std::fs::write(
        dir.path().join("pipelines/p.toml"),
        "[stages.k]\nuses = \"ingest.pyskl\"\ninputs = [\"data\"]\npartitions = 2\n",
    )
    .unwrap();
    let err = Engine::new(PipelineDef::load("p", dir.path()).unwrap(), actionbench_stages::registry(), None)
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("p.toml:4: stage `k`: `partitions = 2`: `ingest.pyskl` finds its sample ids inside"),
        "{text}"
    );

    // Not a whole number from 1.
    for bad in ["0", "-3", "\"4\""] {
        std::fs::write(
            dir.path().join("pipelines/p.toml"),
            format!("[stages.k]\nuses = \"ingest.ntu\"\ninputs = [\"data\"]\npartitions = {bad}\n"),
        )
        .unwrap();
        let err = PipelineDef::load("p", dir.path()).expect_err("refused").to_string();
        assert!(err.contains("p.toml:4") && err.contains("partitions"), "{bad}: {err}");
    }

    // `run --part` of a part that does not exist, or of a stage without parts.
    let split = project(Some(3));
    let err = engine(split.path()).run_part("ntu", 3, &NoopReporter).unwrap_err().to_string();
    assert_eq!(err, "stage `ntu`: has 3 parts, numbered 0 to 2; there is no part 3");
    let whole = project(None);
    let err = engine(whole.path()).run_part("ntu", 0, &NoopReporter).unwrap_err().to_string();
    assert_eq!(err, "stage `ntu`: has no `partitions`, so it has no parts to run");

    // A part of a stage whose input another stage has not made yet.
    let late = project(None);
    std::fs::write(
        late.path().join("pipelines/p.toml"),
        "[stages.copy]\ncmd = \"cp -r data/ntu out\"\ndeps = [\"data/ntu\"]\nouts = [\"out\"]\n\n\
         [stages.ntu]\nuses = \"ingest.ntu\"\ninputs = [\"out\"]\nparams = { dataset = \"ntu60\", on-error = \"skip\" }\n\
         partitions = 2\n",
    )
    .unwrap();
    let err = engine(late.path()).run_part("ntu", 0, &NoopReporter).unwrap_err();
    assert!(err.to_string().contains("`copy`"), "{err}");
    let (reports, engine) = {
        let engine = engine(late.path());
        let reports = engine
            .run(&RunOptions { jobs: 1, targets: vec!["copy".into()], ..Default::default() }, &NoopReporter)
            .unwrap();
        (reports, engine)
    };
    assert_eq!(reports[0].outcome, StageOutcome::Ran, "{reports:?}");
    assert_eq!(engine.run_part("ntu", 0, &NoopReporter).unwrap().outcome, StageOutcome::Ran);
}
