//! Multi-task R3D through the stages: the `gestures` render scene (action
//! and gesture clips) → `ingest.renders` → `train` (`mtl-r3d` with each
//! sharing scheme, `r3d` single-task) → `predict` per task →
//! `eval.classify` per task and pooled (cumulative accuracy); the errors a
//! pipeline file can make; and `pipelines/mtl-synth.toml` validated as
//! written.

use crate::harness::Project;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

const DATA: &str = r#"
[stages.data]
uses = "synth"
params = { preset = "tiny", seed = 0, formats = ["renders"], render-clips = 24, render-scene = "gestures" }

[stages.renders]
uses = "ingest.renders"
inputs = ["@data"]
"#;

const TRAIN: &str = r#"{ optimizer = { kind = "adamw", beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weight-decay = 0.0 }, lr = 1e-3, epochs = 2, seed = 0, weighting = WEIGHTING }"#;

fn multitask(sharing: &str, weighting: &str) -> String {
    let train = TRAIN.replace("WEIGHTING", weighting);
    format!(
        r#"{DATA}
[stages.train]
uses = "train"
inputs = ["@renders"]
[stages.train.params]
model = {{ kind = "mtl-r3d", sharing = "{sharing}", widths = [4, 4, 8, 8], num-frames = 4, crop-size = 32, frozen-stages = 1, tasks = [{{ name = "action", num-classes = 18 }}, {{ name = "gesture", num-classes = 10 }}], nes = {{ samples = 3 }} }}
data = {{ batch-size = 4, clip = {{ sampling-rate = 2, test-clips = 1, test-crops = 1 }}, multitask = {{ sources = {{ action = "task = 'action'", gesture = "task = 'gesture'" }}, iterations = 2 }} }}
train = {train}

[stages.predict-action]
uses = "predict"
inputs = ["@train", "@renders"]
params = {{ model = "@train", task = "action", filter = "task = 'action'", batch-size = 4 }}

[stages.predict-gesture]
uses = "predict"
inputs = ["@train", "@renders"]
params = {{ model = "@train", task = "gesture", filter = "task = 'gesture'", batch-size = 4 }}

[stages.eval-action]
uses = "eval.classify"
inputs = ["@predict-action"]
params = {{ pred = "@predict-action", topk = [1] }}

[stages.eval-gesture]
uses = "eval.classify"
inputs = ["@predict-gesture"]
params = {{ pred = "@predict-gesture", topk = [1] }}

[stages.eval-all]
uses = "eval.classify"
inputs = ["@predict-action", "@predict-gesture"]
params = {{ pred = ["@predict-action", "@predict-gesture"], topk = [1] }}
"#
    )
}

fn sql(p: &Project, query: &str) -> Vec<serde_json::Value> {
    let r = p.ok(&["sql", query, "--format", "json"]);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", r.stdout))
}

fn metric(p: &Project, stage: &str, name: &str) -> f64 {
    let rows = sql(
        p,
        &format!(
            "SELECT value FROM actionbench.metrics WHERE pipeline = 'p' AND stage = '{stage}' AND metric = '{name}'"
        ),
    );
    assert_eq!(rows.len(), 1, "{stage} {name}: {rows:?}");
    rows[0]["value"].as_f64().unwrap()
}

#[test]
fn mtl_r3d_trains_each_sharing_scheme_and_scores_both_tasks() {
    let schemes = [
        ("hard", r#"{ kind = "dwa", window = 1 }"#),
        ("soft", r#"{ kind = "automatic" }"#),
        ("learned", r#"{ kind = "average" }"#),
    ];
    for (sharing, weighting) in schemes {
        let p = Project::new();
        p.write("pipelines/p.toml", &multitask(sharing, weighting));
        let run = p.ok(&["run", "p", "-j", "1", "--format", "json"]);
        assert_eq!(run.statuses().iter().filter(|(_, s)| s == "ran").count(), 8, "{sharing}: {}", run.stdout);
        let runs = sql(&p, "SELECT model, steps FROM p.train_runs");
        assert_eq!((runs[0]["model"].as_str(), runs[0]["steps"].as_i64()), (Some("mtl-r3d"), Some(4)), "{sharing}");
        // Each task's loss and weight every step (4 steps of 2 + 2 clips).
        let logged = sql(
            &p,
            "SELECT metric, count(*) AS n FROM actionbench.metrics WHERE stage = 'train' AND (metric LIKE 'loss_%' OR metric LIKE 'weight_%') GROUP BY metric ORDER BY metric",
        );
        let got: Vec<(String, i64)> =
            logged.iter().map(|r| (r["metric"].as_str().unwrap().to_string(), r["n"].as_i64().unwrap())).collect();
        let want: Vec<(String, i64)> = ["loss_action", "loss_gesture", "weight_action", "weight_gesture"]
            .iter()
            .map(|m| (m.to_string(), 4))
            .collect();
        assert_eq!(got, want, "{sharing}");
        if sharing == "learned" {
            let share = sql(&p, "SELECT count(*) AS n FROM actionbench.metrics WHERE metric LIKE 'lws_share_%'");
            assert_eq!(share[0]["n"].as_i64(), Some(4 * 8), "8 trained blocks x 4 steps: {share:?}");
        }
        // Every clip of each task scored by its own head; the cumulative
        // accuracy pools the two tasks' predictions.
        let counts = sql(&p, "SELECT task, count(*) AS n FROM p.renders GROUP BY task ORDER BY task");
        let (actions, gestures) = (counts[0]["n"].as_i64().unwrap(), counts[1]["n"].as_i64().unwrap());
        assert!(actions > 0 && gestures > 0, "{counts:?}");
        let widths = sql(&p, r#"SELECT DISTINCT array_length(scores) AS k FROM p."predict-gesture""#);
        assert_eq!(widths.len(), 1);
        assert_eq!(widths[0]["k"].as_i64(), Some(10), "the gesture head has 10 classes");
        let scored = sql(&p, r#"SELECT count(*) AS n FROM p."predict-action""#)[0]["n"].as_i64();
        assert_eq!(scored, Some(actions));
        let (a, g) = (metric(&p, "eval-action", "top1"), metric(&p, "eval-gesture", "top1"));
        let cumulative = metric(&p, "eval-all", "cumulative_top1");
        let want = (a * actions as f64 + g * gestures as f64) / (actions + gestures) as f64;
        assert!((cumulative - want).abs() < 1e-9, "{sharing}: {cumulative} vs {want}");
    }
}

#[test]
fn mtl_pipeline_mistakes_are_named_with_a_fix() {
    let p = Project::new();
    let good = multitask("soft", r#"{ kind = "average" }"#);
    let cases = [
        (good.replace("sharing = \"soft\"", "sharing = \"sof\""), "hard"),
        (
            good.replace("gesture = \"task = 'gesture'\"", "gestur = \"task = 'gesture'\""),
            "no filter for task `gesture`",
        ),
        (good.replace(", multitask = {", ", multitasks = {"), "unknown field `multitasks`"),
        (good.replace("frozen-stages = 1", "frozen-stages = 5"), "frozen-stages"),
        (good.replace("widths = [4, 4, 8, 8]", "depth = 50, widths = [4, 4, 8, 8]"), "18 or 34"),
        (
            good.replace("{ name = \"gesture\", num-classes = 10 }", "{ name = \"action\", num-classes = 10 }"),
            "listed twice",
        ),
    ];
    for (text, hint) in cases {
        p.write("pipelines/p.toml", &text);
        let r = p.run(&["run", "p", "train"]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("pipelines/p.toml") && r.stderr.contains(hint), "{hint}: {}", r.stderr);
    }
    // `data.multitask` is required by mtl-r3d and refused elsewhere.
    let mixture =
        r#", multitask = { sources = { action = "task = 'action'", gesture = "task = 'gesture'" }, iterations = 2 }"#;
    assert!(good.contains(mixture));
    p.write("pipelines/p.toml", &good.replace(mixture, ""));
    let r = p.run(&["run", "p", "train"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("needs `data.multitask"), "{}", r.stderr);
    // Predicting with a multi-task model needs the task, and names the tasks.
    p.write("pipelines/p.toml", &good.replace(r#"task = "gesture", filter"#, "filter"));
    let r = p.run(&["run", "p", "-j", "1"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("set `task` to one of: action, gesture"), "{}", r.stderr);
}

#[test]
fn the_mtl_synth_pipeline_is_valid() {
    let p = Project::new();
    let rel = "pipelines/mtl-synth.toml";
    p.write(rel, &std::fs::read_to_string(format!("{REPO}/{rel}")).unwrap());
    let st = p.ok(&["status", "mtl-synth"]);
    for stage in [
        "train-stl-action@seed=0",
        "train-hard@loss=dwa,seed=2",
        "train-soft@loss=automatic,s=0.8,seed=1",
        "train-lws@loss=average,seed=0",
        "eval-cumulative-soft@loss=dwa,s=0.2,seed=2",
    ] {
        assert!(st.stdout.contains(stage), "{stage}: {}", st.stdout);
    }
    // Every stage the mtl-synth benchmark reads is one of the pipeline's,
    // one per seed, and the rows cover each model on both tasks and both
    // tasks pooled.
    let bench: toml::Table =
        toml::from_str(&std::fs::read_to_string(format!("{REPO}/benchmarks/mtl-synth/benchmark.toml")).unwrap())
            .unwrap();
    assert_eq!(bench["pipeline"].as_str(), Some("mtl-synth"));
    let rows = bench["metrics"].as_array().unwrap();
    let listed: Vec<&str> = st.stdout.lines().filter_map(|l| l.split_whitespace().next()).collect();
    for row in rows {
        let stages = row["stages"].as_array().unwrap();
        assert_eq!(stages.len(), 3, "{row:?}");
        for (seed, stage) in stages.iter().enumerate() {
            let stage = stage.as_str().unwrap();
            assert!(listed.contains(&stage), "{stage} is not a stage of mtl-synth");
            assert!(stage.ends_with(&format!("seed={seed}")), "{stage}");
        }
        let name = row["name"].as_str().unwrap();
        let want = if name.ends_with("/cumulative-top1") { "cumulative_top1" } else { "top1" };
        assert_eq!(row["metric"].as_str(), Some(want), "{name}");
    }
    // Every trained model of the grid, each loss weighting included.
    let mut models = vec!["STL".to_string(), "STL R3D-34".to_string()];
    for loss in ["average", "dwa", "automatic"] {
        for sharing in ["HPS", "SPS s=0.2", "SPS s=0.8", "LWS"] {
            models.push(format!("{sharing} {loss}"));
        }
    }
    assert_eq!(rows.len(), models.len() * 3);
    for model in &models {
        for task in ["action-top1", "gesture-top1", "cumulative-top1"] {
            let name = format!("{model}/{task}");
            assert!(rows.iter().any(|r| r["name"].as_str() == Some(name.as_str())), "no row {name}");
        }
    }
}
