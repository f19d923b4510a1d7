//! The video half through the stages: rendered clips → `ingest.renders` →
//! `train` (MViTv2 tiny) → `predict` (2 clips × 3 crops per video,
//! averaged) → `eval.classify`; and `pipelines/synth-video.toml` validated as
//! written.

use crate::harness::Project;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

const PIPELINE: &str = r#"
[stages.data]
uses = "synth"
params = { preset = "tiny", seed = 0, formats = ["renders"], classes = ["clapping", "jump up"] }

[stages.renders]
uses = "ingest.renders"
inputs = ["@data"]

[stages.train]
uses = "train"
inputs = ["@renders"]
[stages.train.params]
model = { kind = "mvit", num-classes = 20, size = "tiny", num-frames = 4, crop-size = 32 }
data = { batch-size = 2, clip = { sampling-rate = 2, jitter-scales = [32, 40], test-clips = 2, test-crops = 3, render-labels = true } }
train = { optimizer = { kind = "adamw", beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weight-decay = 0.05 }, lr = 1e-3, epochs = 1, seed = 0 }

[stages.predict]
uses = "predict"
inputs = ["@train", "@renders"]
params = { model = "@train", batch-size = 4 }

[stages.eval]
uses = "eval.classify"
inputs = ["@predict"]
params = { pred = "@predict", topk = [1] }
"#;

fn sql(p: &Project, query: &str) -> Vec<serde_json::Value> {
    let r = p.ok(&["sql", query, "--format", "json"]);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", r.stdout))
}

#[test]
fn mvit_trains_on_rendered_clips_and_predict_averages_the_views() {
    let p = Project::new();
    p.write("pipelines/video.toml", PIPELINE);
    let run = p.ok(&["run", "video", "-j", "1", "--format", "json"]);
    assert_eq!(run.statuses().iter().filter(|(_, s)| s == "ran").count(), 5, "{}", run.stdout);
    let clips = sql(&p, "SELECT count(*) AS n FROM video.renders");
    let n = clips[0]["n"].as_i64().unwrap();
    assert!(n > 0);
    // One prediction row per video, not per view: `eval.classify` (1 view) scores n samples.
    let result = std::fs::read_dir(p.path(".actionbench/v1/stages"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("result.json"))
        .find(|p| p.is_file())
        .expect("eval wrote result.json");
    let result: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(result).unwrap()).unwrap();
    assert_eq!(result["samples"].as_i64(), Some(n), "{result}");
    let top1 = sql(&p, "SELECT value FROM actionbench.metrics WHERE stage = 'eval' AND metric = 'top1'");
    assert!((0.0..=1.0).contains(&top1[0]["value"].as_f64().unwrap()));
    let runs = sql(&p, "SELECT model, steps FROM video.train_runs");
    assert_eq!(runs[0]["model"], "mvit");

    // A checkpoint that is not in `inputs` is refused with the fix.
    p.write(
        "pipelines/video.toml",
        &PIPELINE.replace("crop-size = 32 }", "crop-size = 32, init = \"data/mvit.pyth\" }"),
    );
    let bad = p.run(&["run", "video", "train"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("is not one of the stage's `inputs`"), "{}", bad.stderr);
}

#[test]
fn the_synth_video_pipeline_is_valid() {
    let p = Project::new();
    let rel = "pipelines/synth-video.toml";
    p.write(rel, &std::fs::read_to_string(format!("{REPO}/{rel}")).unwrap());
    let st = p.ok(&["status", "synth-video"]);
    assert!(st.stdout.contains("train@seed=2") && st.stdout.contains("eval-linear"), "{}", st.stdout);
}
