//! LART through the stages on generated AVA data: `synth` → `ingest.ava` →
//! `train` → `predict` (AVA detections CSV) → `eval.ava`, and the project's
//! demo pipelines validated as written.

use crate::harness::Project;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

const PIPELINE: &str = r#"
[stages.data]
uses = "synth"
params = { preset = "tiny", seed = 0, formats = ["phalp"] }

[stages.ava]
uses = "ingest.ava"
inputs = ["@data"]
params = { phalp = "@data/phalp/results", csv = "@data/ava/ava_train_v2.2.csv", label-map = "@data/ava/ava_action_list_v2.2.pbtxt", fps = 10 }

[stages.train]
uses = "train"
inputs = ["@ava"]
[stages.train.params]
model = { kind = "lart", num-classes = 80, size = "tiny", max-people = 2 }
data = { batch-size = 4, tracklet = { window = 6 } }
train = { optimizer = { kind = "adamw", beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weight-decay = 0.0 }, lr = 1e-3, epochs = 2, seed = 0 }

[stages.predict]
uses = "predict"
inputs = ["@train", "@ava"]
params = { model = "@train" }

[stages.eval]
uses = "eval.ava"
inputs = ["@predict", "@data"]
params = { gt = "@data/ava/ava_train_v2.2.csv", pred = "@predict", labelmap = "@data/ava/ava_action_list_v2.2.pbtxt", protocol = "2020" }
"#;

fn sql(p: &Project, query: &str) -> Vec<serde_json::Value> {
    let r = p.ok(&["sql", query, "--format", "json"]);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", r.stdout))
}

#[test]
fn lart_trains_predicts_and_is_evaluated_on_generated_ava() {
    let p = Project::new();
    p.write("pipelines/lart.toml", PIPELINE);
    let run = p.ok(&["run", "lart", "-j", "1", "--format", "json"]);
    assert_eq!(run.statuses().iter().filter(|(_, s)| s == "ran").count(), 5, "{}", run.stdout);

    // The predictions are an AVA detections CSV: one row per class for
    // every detected keyframe of every track.
    let keyframes = sql(&p, "SELECT sum(keyframes) AS k FROM lart.ava");
    assert!(keyframes[0]["k"].as_i64().unwrap() > 0);
    let csv = std::fs::read_dir(p.path(".actionbench/v1/stages"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("predictions.csv"))
        .find(|p| p.is_file())
        .expect("predict wrote predictions.csv");
    let videos: Vec<String> = sql(&p, "SELECT DISTINCT video_id FROM lart.ava")
        .iter()
        .map(|r| r["video_id"].as_str().unwrap().to_string())
        .collect();
    let order: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(csv.with_file_name("order.json")).unwrap()).unwrap();
    assert_eq!(order["data_order"].as_str().unwrap().len(), 64, "{order}");
    let text = std::fs::read_to_string(csv).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert!(!rows.is_empty() && rows.len().is_multiple_of(80), "{} rows", rows.len());
    for r in &rows {
        assert_eq!(r.len(), 8, "{r:?}");
        assert!(videos.iter().any(|v| v == r[0]), "video id {r:?} not in {videos:?}");
        assert!(matches!(r[1], "0902" | "0903"), "keyframe timestamps: {r:?}");
        let b: Vec<f64> = r[2..6].iter().map(|v| v.parse().unwrap()).collect();
        assert!(b.iter().all(|v| (0.0..=1.0).contains(v)) && b[0] < b[2] && b[1] < b[3], "normalised box {r:?}");
        assert!((1..=80).contains(&r[6].parse::<i64>().unwrap()));
        assert!((0.0..=1.0).contains(&r[7].parse::<f64>().unwrap()));
    }

    let map = sql(&p, "SELECT value FROM actionbench.metrics WHERE stage = 'eval' AND metric = 'mAP'");
    let m = map[0]["value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&m), "mAP {m}");
    let runs = sql(&p, "SELECT model, data_order, backend, steps FROM lart.train_runs");
    assert_eq!(runs[0]["model"], "lart");
    assert_eq!(runs[0]["data_order"].as_str().unwrap().len(), 64);
    assert!(runs[0]["backend"].as_str().unwrap().starts_with("burn 0.21.0"), "{:?}", runs[0]);

    // A path inside a stage's output that is not there is named.
    p.write(
        "pipelines/lart.toml",
        &PIPELINE.replace("@data/ava/ava_train_v2.2.csv\", label", "@data/ava/nope.csv\", label"),
    );
    let bad = p.run(&["run", "lart", "ava"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("`@data/ava/nope.csv` does not exist"), "{}", bad.stderr);
}

#[test]
fn the_demo_pipelines_are_valid() {
    let p = Project::new();
    for name in ["ntu60-xsub", "ava-lart"] {
        let rel = format!("pipelines/{name}.toml");
        p.write(&rel, &std::fs::read_to_string(format!("{REPO}/{rel}")).unwrap());
        // `status` checks every stage's kind and params without running anything.
        let st = p.ok(&["status", name]);
        // Three seeds through `matrix`: each instance a stage of its own.
        for stage in ["train@seed=0", "train@seed=2", "predict@seed=1", "eval@seed=2"] {
            assert!(st.stdout.lines().any(|l| l.starts_with(&format!("{stage} "))), "{stage}:\n{}", st.stdout);
        }
    }
    // UPS: three models over two matrix keys, every task's predict and eval.
    let rel = "pipelines/ups-synth.toml";
    p.write(rel, &std::fs::read_to_string(format!("{REPO}/{rel}")).unwrap());
    let st = p.ok(&["status", "ups-synth"]);
    for stage in [
        "train-ups@seed=0",
        "train-separate@seed=2",
        "train-nodr@seed=1",
        "predict-early@model=ups,ratio=0.2,seed=0",
        "eval-early@model=nodr,ratio=0.6,seed=2",
        "eval-pose@model=separate,seed=1",
    ] {
        assert!(st.stdout.lines().any(|l| l.starts_with(&format!("{stage} "))), "{stage}:\n{}", st.stdout);
    }
}
