//! The `eval.*` stages through the engine, on the real AVA fixture.

use std::path::{Path, PathBuf};

use actionbench_pipeline::{Engine, NoopReporter, PipelineDef, RunOptions, StageOutcome};
use actionbench_shards::read_all;
use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Float64Type;

/// The repository's real fixture files (`fixtures/real/`, provenance in its
/// `SOURCES.md`).
fn real_fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/real")
}

fn project(pipeline: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let fixture = real_fixtures().join("ava/mmaction2_eval_detection");
    for f in ["gt.csv", "pred.csv", "action_list.txt"] {
        std::fs::copy(fixture.join(f), dir.path().join("data").join(f)).unwrap();
    }
    std::fs::write(dir.path().join("pipelines/e.toml"), pipeline).unwrap();
    dir
}

fn run(root: &Path) -> (Engine, Vec<actionbench_pipeline::StageReport>) {
    let def = PipelineDef::load("e", root).unwrap();
    let engine = Engine::new(def, actionbench_stages::registry(), None).unwrap();
    let reports = engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap();
    (engine, reports)
}

const AVA: &str = r#"
[stages.predict]
cmd = "mkdir -p out && cp data/pred.csv out/detections.csv"
deps = ["data/pred.csv"]
outs = ["out/detections.csv"]

[stages.ava]
uses = "eval.ava"
inputs = ["data/gt.csv", "out/detections.csv", "data/action_list.txt"]
params = { gt = "data/gt.csv", pred = "out/detections.csv", labelmap = "data/action_list.txt", protocol = "2019" }
"#;

fn f64s(batches: &[RecordBatch], column: &str) -> Vec<Option<f64>> {
    batches
        .iter()
        .flat_map(|b| b.column_by_name(column).unwrap().as_primitive::<Float64Type>().iter().collect::<Vec<_>>())
        .collect()
}

#[test]
fn eval_ava_stage_reproduces_the_fixture_and_writes_tables() {
    let dir = project(AVA);
    let (engine, reports) = run(dir.path());
    assert!(reports.iter().all(|r| r.outcome == StageOutcome::Ran), "{reports:?}");
    let key = engine.lock_file().unwrap().stages["ava"].key;
    let out = engine.cache().stage_dir(&key);
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    assert!((result["mAP"].as_f64().unwrap() - 0.09385522).abs() < 5e-9, "{result}");
    let per_class = read_all(&out.join("per_class")).unwrap();
    let ap = f64s(&per_class, "ap");
    assert_eq!(ap.len(), 3);
    assert!((ap[0].unwrap() - 0.17045455).abs() < 5e-9 && ap[1] == Some(0.0));
    let metrics = read_all(&out.join("metrics")).unwrap();
    assert!((f64s(&metrics, "value")[0].unwrap() - 0.09385522).abs() < 5e-9);

    // The key covers the predictions' content: same content, cached; new content, re-run.
    let (_, again) = run(dir.path());
    assert!(again.iter().all(|r| r.outcome == StageOutcome::Cached));
    let pred = std::fs::read_to_string(dir.path().join("data/pred.csv")).unwrap();
    std::fs::write(dir.path().join("data/pred.csv"), pred.replacen("0.", "0.0", 1)).unwrap();
    let (_, after) = run(dir.path());
    assert_eq!(after.iter().map(|r| r.outcome.label()).collect::<Vec<_>>(), ["ran", "ran"]);
}

#[test]
fn eval_params_are_checked() {
    let dir = project(&AVA.replace("protocol = \"2019\"", "protocol = \"2018\""));
    let def = PipelineDef::load("e", dir.path()).unwrap();
    let err = Engine::new(def, actionbench_stages::registry(), None).err().unwrap();
    assert!(err.to_string().contains("`protocol` must be \"2019\" or \"2020\""), "{err}");

    // A role that is not an input is a clear stage failure.
    let dir = project(&AVA.replace("inputs = [\"data/gt.csv\", ", "inputs = ["));
    let (_, reports) = run(dir.path());
    let StageOutcome::Failed { error, .. } = &reports[1].outcome else { panic!("{reports:?}") };
    assert!(error.contains("param `gt` names `data/gt.csv`, which is not in the stage's `inputs`"), "{error}");
}

#[test]
fn eval_ava_random_scores_is_the_chance_level_of_the_same_boxes() {
    let chance = "\n[stages.chance]\nuses = \"eval.ava\"\ninputs = [\"data/gt.csv\", \"out/detections.csv\", \"data/action_list.txt\"]\nparams = { gt = \"data/gt.csv\", pred = \"out/detections.csv\", labelmap = \"data/action_list.txt\", protocol = \"2019\", random-scores = 7 }\n";
    let dir = project(&format!("{AVA}{chance}"));
    let (engine, reports) = run(dir.path());
    assert!(reports.iter().all(|r| r.outcome == StageOutcome::Ran), "{reports:?}");
    let lock = engine.lock_file().unwrap();
    assert_ne!(lock.stages["ava"].key, lock.stages["chance"].key, "the seed is part of the key");
    let map_of = |stage: &str| {
        let out = engine.cache().stage_dir(&lock.stages[stage].key);
        let result: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
        result["mAP"].as_f64().unwrap()
    };
    assert!((map_of("ava") - 0.09385522).abs() < 5e-9);
    let data = dir.path().join("data");
    let expected = actionbench_stages::evaluation::evaluate_ava_files(
        &data.join("gt.csv"),
        &data.join("pred.csv"),
        &data.join("action_list.txt"),
        None,
        actionbench_metrics::ava::AvaProtocol::V2019,
        Some(7),
    )
    .unwrap()
    .mean_ap
    .unwrap();
    assert_eq!(map_of("chance"), expected, "the stage and `actionbench eval ava --random-scores 7` agree");
    assert!((map_of("chance") - 0.09385522).abs() > 1e-6, "random scores rank the boxes differently");
}
