//! PromptonomyViT through the stages: the `layout` render scene (real and
//! synthetic clips) → `ingest.renders` → `train` (`pvit` on a real +
//! synthetic mixture, `np` on real clips alone) → `predict` on the novel
//! combinations → `eval.classify`; the errors a pipeline file can make; and
//! `pipelines/pvit-synth.toml` validated as written.

use crate::harness::Project;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn pipeline(variant: &str, mixture: &str) -> String {
    format!(
        r#"
[stages.data]
uses = "synth"
params = {{ preset = "tiny", seed = 0, formats = ["renders"], render-clips = 16, render-scene = "layout", real-fraction = 0.5 }}

[stages.renders]
uses = "ingest.renders"
inputs = ["@data"]

[stages.train]
uses = "train"
inputs = ["@renders"]
[stages.train.params]
model = {{ kind = "pvit", variant = "{variant}", num-classes = 4, size = "tiny", num-frames = 4, crop-size = 32, dropout = 0.0 }}
data = {{ batch-size = 4, clip = {{ sampling-rate = 2, jitter-scales = [32, 40], test-clips = 1, test-crops = 3 }}, mixture = {mixture} }}
train = {{ optimizer = {{ kind = "adamw", beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weight-decay = 0.05 }}, lr = 1e-3, epochs = 1, seed = 0 }}

[stages.predict]
uses = "predict"
inputs = ["@train", "@renders"]
params = {{ model = "@train", filter = "domain = 'real'", batch-size = 4 }}

[stages.eval]
uses = "eval.classify"
inputs = ["@predict"]
params = {{ pred = "@predict", topk = [1] }}
"#
    )
}

const MIXED: &str =
    r#"{ real = "domain = 'real' AND composition = 'seen'", synthetic = "domain = 'synthetic'", iterations = 3 }"#;
const REAL: &str = r#"{ real = "domain = 'real' AND composition = 'seen'", iterations = 3 }"#;

fn sql(p: &Project, query: &str) -> Vec<serde_json::Value> {
    let r = p.ok(&["sql", query, "--format", "json"]);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", r.stdout))
}

#[test]
fn pvit_trains_on_real_and_synthetic_clips_and_predicts_the_real_ones() {
    let p = Project::new();
    p.write("pipelines/p.toml", &pipeline("pvit", MIXED));
    let run = p.ok(&["run", "p", "-j", "1", "--format", "json"]);
    assert_eq!(run.statuses().iter().filter(|(_, s)| s == "ran").count(), 5, "{}", run.stdout);
    // Every head got a loss from the synthetic clips in some step, and the
    // action from the real ones: 3 steps of 2 real + 2 synthetic clips.
    let losses = sql(
        &p,
        "SELECT metric, count(*) AS n FROM actionbench.metrics WHERE stage = 'train' AND metric LIKE 'loss_%' GROUP BY metric ORDER BY metric",
    );
    let names: Vec<&str> = losses.iter().map(|r| r["metric"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["loss_action", "loss_boxes", "loss_depth", "loss_normals", "loss_pose", "loss_segmentation"],
        "{losses:?}"
    );
    let runs = sql(&p, "SELECT model, steps FROM p.train_runs");
    assert_eq!((runs[0]["model"].as_str(), runs[0]["steps"].as_i64()), (Some("pvit"), Some(3)));
    // Predict scores the real clips only, one row per clip (3 crops averaged).
    let real = sql(&p, "SELECT count(*) AS n FROM p.renders WHERE domain = 'real'")[0]["n"].as_i64().unwrap();
    let scored = sql(&p, "SELECT count(*) AS n FROM p.predict")[0]["n"].as_i64().unwrap();
    assert_eq!((real, scored), (8, 8));

    // The same data without synthetic clips for a variant without heads.
    p.write("pipelines/p.toml", &pipeline("np", REAL));
    p.ok(&["run", "p", "-j", "1"]);
    let losses =
        sql(&p, "SELECT DISTINCT metric FROM actionbench.metrics WHERE stage = 'train' AND metric LIKE 'loss_%'");
    assert!(losses.is_empty(), "one task logs no per-task losses: {losses:?}");
}

#[test]
fn pvit_pipeline_mistakes_are_named_with_a_fix() {
    let p = Project::new();
    let cases = [
        (pipeline("pvit", REAL), "set `data.mixture.synthetic`"),
        (pipeline("np", MIXED), "drop `data.mixture.synthetic`"),
        (pipeline("pivt", MIXED), "pvit"),
        (
            pipeline("pvit", "{ real = \"domain = 'real'\", synthetic = \"domain = 'synthetic'\", iterations = 0 }"),
            "at least 1",
        ),
        (pipeline("pvit", MIXED).replace(", mixture = {", ", mixtures = {"), "unknown field `mixtures`"),
        (pipeline("np", REAL).replace("iterations = 3 }", "ratio = [], iterations = 3 }"), "two positive weights"),
    ];
    for (text, hint) in cases {
        p.write("pipelines/p.toml", &text);
        let r = p.run(&["run", "p", "train"]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("pipelines/p.toml") && r.stderr.contains(hint), "{hint}: {}", r.stderr);
    }
    // A model without `data.mixture`.
    let text = pipeline("pvit", MIXED).replace(&format!(", mixture = {MIXED}"), "");
    p.write("pipelines/p.toml", &text);
    let r = p.run(&["run", "p", "train"]);
    assert!(r.stderr.contains("needs `data.mixture"), "{}", r.stderr);
}

#[test]
fn the_pvit_synth_pipeline_is_valid() {
    let p = Project::new();
    let rel = "pipelines/pvit-synth.toml";
    p.write(rel, &std::fs::read_to_string(format!("{REPO}/{rel}")).unwrap());
    let st = p.ok(&["status", "pvit-synth"]);
    for stage in ["train-real@seed=2,variant=vpt", "train-mixed@seed=0,variant=pvit", "eval-mixed@seed=1,variant=op"] {
        assert!(st.stdout.contains(stage), "{stage}: {}", st.stdout);
    }
}
