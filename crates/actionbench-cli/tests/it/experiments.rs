//! Sweeps and experiments: a `matrix` stage table expands into named
//! instances whose references follow, `run -S` overrides a param for one
//! run without touching the lock file, and `exp show` / `actionbench.runs`
//! list every run with the params that differ and its metrics.

use serde_json::Value;

use crate::harness::Project;

const SWEEP: &str = r#"
[stages.data]
uses = "synth"
params = { preset = "tiny", seed = 0, formats = ["ntu"] }

[stages.skeletons]
uses = "ingest.ntu"
inputs = ["@data"]
params = { dataset = "ntu60", max-bodies = 1 }

[stages.train]
uses = "train"
inputs = ["@skeletons"]
matrix = { seed = [0, 1] }
[stages.train.params]
model = { kind = "stgcn", num-classes = 60, size = "tiny" }
data = { filter = "label < 3", batch-size = 8, skeleton = { frames = 8, bodies = 1 } }
train = { optimizer = { kind = "sgd", momentum = 0.9, nesterov = false, weight-decay = 0.0 }, lr = 0.1, epochs = 1, seed = "{matrix.seed}" }

[stages.predict]
uses = "predict"
inputs = ["@train", "@skeletons"]
matrix = { seed = [0, 1] }
params = { model = "@train", filter = "label < 3" }

[stages.eval]
uses = "eval.classify"
inputs = ["@predict"]
matrix = { seed = [0, 1] }
params = { pred = "@predict", topk = [1] }

[stages.report]
cmd = "cat {@eval@seed=0}/metrics/_index.json > report.txt"
deps = ["@eval"]
outs = ["report.txt"]
"#;

fn keys_of(run: &Value) -> Vec<(String, String)> {
    run.as_array()
        .unwrap()
        .iter()
        .map(|r| (r["stage"].as_str().unwrap().to_string(), r["key"].as_str().unwrap_or_default().to_string()))
        .collect()
}

#[test]
fn a_matrix_sweep_runs_is_overridden_and_compared() {
    let p = Project::new();
    p.write("pipelines/sweep.toml", SWEEP);
    let run = p.json(&["run", "sweep", "--format", "json"]);
    let stages: Vec<String> = keys_of(&run).into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        stages,
        [
            "data",
            "skeletons",
            "train@seed=0",
            "train@seed=1",
            "predict@seed=0",
            "predict@seed=1",
            "eval@seed=0",
            "eval@seed=1",
            "report"
        ]
    );
    assert!(run.as_array().unwrap().iter().all(|r| r["status"] == "ran"), "{run:#}");

    // `{matrix.seed}` is the integer: the instance has the key of the same
    // stage written out by hand.
    let by_hand = SWEEP
        .replace("matrix = { seed = [0, 1] }\n[stages.train.params]", "[stages.train.params]")
        .replace("[stages.train]", "[stages.train-s1]")
        .replace("[stages.train.params]", "[stages.train-s1.params]")
        .replace("seed = \"{matrix.seed}\"", "seed = 1");
    let by_hand = &by_hand[..by_hand.find("[stages.predict]").unwrap()];
    p.write("pipelines/by-hand.toml", by_hand);
    let hand = p.json(&["status", "by-hand", "--format", "json"]);
    let hand_key = hand.as_array().unwrap().iter().find(|s| s["stage"] == "train-s1").unwrap()["key"].clone();
    let sweep_key = run.as_array().unwrap().iter().find(|s| s["stage"] == "train@seed=1").unwrap()["key"].clone();
    assert_eq!(hand_key, sweep_key);
    std::fs::remove_file(p.path("pipelines/by-hand.toml")).unwrap();

    // The expanded stages are what `status`, targets, the lock file and SQL see.
    let lock = p.read("pipelines/sweep.lock");
    assert!(lock.contains("[stages.\"eval@seed=1\"]"), "{lock}");
    let top1 = p.json(&[
        "sql",
        "SELECT stage FROM actionbench.metrics WHERE metric = 'top1' ORDER BY stage",
        "--format",
        "json",
    ]);
    assert_eq!(top1, serde_json::json!([{"stage": "eval@seed=0"}, {"stage": "eval@seed=1"}]));
    let rows = p.json(&["sql", "SELECT count(*) AS n FROM sweep.\"train@seed=0_runs\"", "--format", "json"]);
    assert_eq!(rows[0]["n"], 1);
    let cached = p.json(&["run", "sweep", "train", "--format", "json"]);
    assert_eq!(keys_of(&cached).len(), 4, "`train` names both instances (and what they need): {cached:#}");

    // An override: a new key for seed 0's chain, the lock file untouched.
    let lock_before = p.read("pipelines/sweep.lock");
    let over = p.json(&["run", "sweep", "eval@seed=0", "-S", "train@seed=0.params.train.lr=0.05", "--format", "json"]);
    let over_keys = keys_of(&over);
    let ran: Vec<&str> = over
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "ran")
        .map(|r| r["stage"].as_str().unwrap())
        .collect();
    assert_eq!(ran, ["train@seed=0", "predict@seed=0", "eval@seed=0"]);
    assert_eq!(p.read("pipelines/sweep.lock"), lock_before, "an override run leaves the lock file as it was");
    let status = p.ok(&["status", "sweep"]);
    assert!(status.stdout.lines().skip(1).all(|l| l.contains("fresh")), "{}", status.stdout);
    let new_train = &over_keys.iter().find(|(s, _)| s == "train@seed=0").unwrap().1;
    let old_train = &keys_of(&run).into_iter().find(|(s, _)| s == "train@seed=0").unwrap().1;
    assert_ne!(new_train, old_train);

    // A command stage downstream of an override would overwrite the
    // project files the lock file describes: it refuses, and they stay.
    let report = p.read("report.txt");
    let r = p.run(&["run", "sweep", "-S", "train@seed=0.params.train.lr=0.05"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("command stage `report` depends on a stage changed by -S `train@seed=0.params.train.lr=0.05`"),
        "{}",
        r.stderr
    );
    assert_eq!(p.read("report.txt"), report);
    assert_eq!(p.read("pipelines/sweep.lock"), lock_before);

    // `exp show`: one row per run; the params that differ within a stage
    // table; metrics; the override recorded.
    let shown = p.json(&["exp", "show", "sweep", "--stage", "train", "--format", "json"]);
    let shown = shown.as_array().unwrap();
    assert_eq!(shown.len(), 3, "{shown:#?}");
    let overridden = shown.iter().find(|r| &r["key"] == new_train).unwrap();
    assert_eq!(overridden["overrides"], serde_json::json!(["train@seed=0.params.train.lr=0.05"]));
    assert_eq!(overridden["params"], serde_json::json!({"train.lr": "0.05", "train.seed": "0"}));
    assert_eq!(overridden["current"], false);
    let original = shown.iter().find(|r| &r["key"] == old_train).unwrap();
    assert_eq!(original["params"], serde_json::json!({"train.lr": "0.1", "train.seed": "0"}));
    assert_eq!(original["current"], true);
    assert!(original["metrics"]["train/loss"].as_f64().is_some(), "{original:#}");
    let evals = p.json(&["exp", "show", "sweep", "--stage", "eval@seed=0", "--format", "json"]);
    assert_eq!(evals.as_array().unwrap().len(), 2);
    assert!(evals.as_array().unwrap().iter().all(|r| r["metrics"]["top1"].is_f64()), "{evals:#}");

    // The same runs in SQL.
    let sql = p.json(&[
        "sql",
        "SELECT r.stage, r.overrides, m.value FROM actionbench.runs r JOIN actionbench.run_metrics m \
             ON m.run_id = r.key WHERE r.stage = 'eval@seed=0' AND m.metric = 'top1' ORDER BY r.finished_ms",
        "--format",
        "json",
    ]);
    assert_eq!(sql.as_array().unwrap().len(), 2, "{sql:#}");
    assert_eq!(sql[1]["overrides"], "[\"train@seed=0.params.train.lr=0.05\"]");
    assert_eq!(sql[0]["value"], evals[0]["metrics"]["top1"]);

    // `--diff` between the two seed-0 trainings: the param and the override.
    let diff = p.json(&["exp", "show", "sweep", "--diff", &old_train[..10], &new_train[..10], "--format", "json"]);
    let changes = diff["changes"].as_array().unwrap();
    let lr = changes.iter().find(|c| c["part"] == "params" && c["name"] == "train.lr").expect("lr differs");
    assert_eq!((lr["a"].as_str(), lr["b"].as_str()), (Some("0.1"), Some("0.05")));
    assert!(changes.iter().any(|c| c["part"] == "overrides"), "{diff:#}");
    assert!(!changes.iter().any(|c| c["part"] == "inputs" || c["part"] == "upstream"), "same data: {diff:#}");
    let table = p.ok(&["exp", "show", "sweep", "--diff", &old_train[..10], &new_train[..10]]);
    assert!(table.stdout.lines().any(|l| l.starts_with("params") && l.contains("train.lr")), "{}", table.stdout);

    // Mistakes.
    let r = p.run(&["run", "sweep", "-S", "train.params.train.lr=fast"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.starts_with("error: -S `train.params.train.lr=fast`: stage `train@seed=0`: params of `train`"),
        "{}",
        r.stderr
    );
    let r = p.run(&["run", "sweep", "-S", "trainn.params.train.lr=1"]);
    assert!(r.stderr.contains("Did you mean `train`?"), "{}", r.stderr);
    let r = p.run(&["exp", "show", "sweep", "--diff", "zz", old_train]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("No recorded run has a key starting with `zz`"), "{}", r.stderr);
}

/// Trainings side by side (`-j 2`) take turns at the backend's process-wide
/// RNG per step (its seed and the forward pass with dropout), not per run,
/// so they share the cores; each is still a pure function of its seed: the
/// same loss and gradient norm at every step as when they run one at a
/// time.
#[test]
fn trainings_side_by_side_match_trainings_one_at_a_time() {
    let sweep = SWEEP.replace("epochs = 1", "epochs = 3");
    let (alone, side_by_side) = (Project::new(), Project::new());
    alone.write("pipelines/sweep.toml", &sweep).ok(&["run", "sweep", "-j", "1"]);
    side_by_side.write("pipelines/sweep.toml", &sweep).ok(&["run", "sweep", "-j", "2"]);
    let query = "SELECT stage, split, metric, step, value FROM actionbench.metrics \
                 WHERE stage LIKE 'train%' OR stage LIKE 'eval%' ORDER BY stage, split, metric, step";
    let a = alone.ok(&["sql", query, "--format", "csv"]).stdout;
    let b = side_by_side.ok(&["sql", query, "--format", "csv"]).stdout;
    for seed in [0, 1] {
        let losses = a.lines().filter(|l| l.starts_with(&format!("train@seed={seed},train,loss,"))).count();
        assert!(losses >= 6, "seed {seed}: {losses} logged losses, want several steps to interleave:\n{a}");
    }
    assert!(a.contains("eval@seed=1"), "{a}");
    assert_eq!(a, b, "-j 1 and -j 2 trained different models");
}
