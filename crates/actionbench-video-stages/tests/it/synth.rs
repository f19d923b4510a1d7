//! The `synth` stage in a pipeline: generated data is cached by its params
//! and ingested by the same stages as real data.

use actionbench_pipeline::{Engine, NoopReporter, PipelineDef, RunOptions, StageOutcome};
use actionbench_shards::read_all;
use arrow::array::AsArray;
use arrow::datatypes::Int32Type;

fn pipeline(seed: u64) -> String {
    format!(
        r#"
[stages.data]
uses = "synth"
params = {{ preset = "tiny", seed = {seed}, formats = ["ntu"], classes = ["walking", "clapping", "handshaking"] }}

[stages.ntu]
uses = "ingest.ntu"
inputs = ["@data"]
params = {{ dataset = "ntu60", missing-list = "none" }}
"#
    )
}

fn run(dir: &std::path::Path) -> (Engine, Vec<(String, StageOutcome)>) {
    let def = PipelineDef::load("p", dir).unwrap();
    let engine = Engine::new(def, actionbench_video_stages::registry(), None).unwrap();
    let reports = engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap();
    let outcomes = reports.into_iter().map(|r| (r.stage.clone(), r.outcome.clone())).collect();
    (engine, outcomes)
}

#[test]
fn synth_stage_feeds_ingest_and_is_cached_by_params() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
    std::fs::write(dir.path().join("pipelines/p.toml"), pipeline(3)).unwrap();
    let (engine, outcomes) = run(dir.path());
    assert!(outcomes.iter().all(|(_, o)| *o == StageOutcome::Ran), "{outcomes:?}");
    let lock = engine.lock_file().unwrap();
    let data = engine.cache().stage_dir(&lock.stages["data"].key);
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(data.join("synth.json")).unwrap()).unwrap();
    assert_eq!(summary["formats"], serde_json::json!(["ntu"]));
    assert_eq!(summary["outputs"]["ntu"]["samples"], 4 * 3 * 3);
    assert!(!data.join("renders").exists());
    // The ingest stage reads the generated files like real NTU files.
    let ntu = engine.cache().stage_dir(&lock.stages["ntu"].key);
    let batches = read_all(&ntu).unwrap();
    let labels: std::collections::BTreeSet<i32> = batches
        .iter()
        .flat_map(|b| b.column_by_name("label").unwrap().as_primitive::<Int32Type>().values().to_vec())
        .collect();
    assert_eq!(labels, [1, 9, 16].into_iter().collect(), "clapping, walking, handshaking");
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 36);
    let xsub: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("xsub")
                .unwrap()
                .as_string::<i32>()
                .iter()
                .map(|s| s.unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(xsub.iter().filter(|s| *s == "val").count(), 9, "subject 3 is the NTU60 test subject");
    // Same params: cached. Another seed: both stages run again.
    let (_, again) = run(dir.path());
    assert!(again.iter().all(|(_, o)| *o == StageOutcome::Cached), "{again:?}");
    std::fs::write(dir.path().join("pipelines/p.toml"), pipeline(4)).unwrap();
    let (_, changed) = run(dir.path());
    assert!(changed.iter().all(|(_, o)| *o == StageOutcome::Ran), "{changed:?}");
}

#[test]
fn synth_params_are_checked() {
    let registry = actionbench_video_stages::registry();
    let kind = registry.get("synth").unwrap();
    let mut t = toml::Table::new();
    t.insert("preset".into(), "huge".into());
    assert!(kind.canonical_params(&t).unwrap_err().contains("unknown preset `huge`"));
    let mut t = toml::Table::new();
    t.insert("classes".into(), toml::Value::Array(vec!["dancing".into()]));
    let err = kind.canonical_params(&t).unwrap_err();
    assert!(err.contains("unknown class `dancing`") && err.contains("clapping"), "{err}");
    let mut t = toml::Table::new();
    t.insert("formats".into(), toml::Value::Array(vec!["renders".into(), "ntu".into(), "ntu".into()]));
    let canonical = kind.canonical_params(&t).unwrap();
    assert_eq!(canonical["formats"], toml::Value::Array(vec!["ntu".into(), "renders".into()]));
}

#[test]
fn render_clips_sets_the_clip_count_and_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
    std::fs::write(
        dir.path().join("pipelines/p.toml"),
        "[stages.data]\nuses = \"synth\"\nparams = { preset = \"tiny\", formats = [\"renders\"], render-clips = 7 }\n",
    )
    .unwrap();
    let (engine, outcomes) = run(dir.path());
    assert_eq!(outcomes, vec![("data".to_string(), StageOutcome::Ran)]);
    let data = engine.cache().stage_dir(&engine.lock_file().unwrap().stages["data"].key);
    let clips =
        std::fs::read_dir(data.join("renders")).unwrap().filter(|e| e.as_ref().unwrap().path().is_dir()).count();
    assert_eq!(clips, 7, "tiny renders 4 clips; render-clips asks for 7");
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(data.join("synth.json")).unwrap()).unwrap();
    assert_eq!(summary["outputs"]["renders"]["clips"], 7);

    let registry = actionbench_video_stages::registry();
    let kind = registry.get("synth").unwrap();
    let mut t = toml::Table::new();
    t.insert("render-clips".into(), 0.into());
    let err = kind.canonical_params(&t).unwrap_err();
    assert!(err.contains("`render-clips`") && err.contains("between 1 and"), "{err}");
    // Left out, it is not part of the canonical params: existing keys stay.
    assert!(!kind.canonical_params(&toml::Table::new()).unwrap().contains_key("render-clips"));
}

fn canonical(pairs: &[(&str, toml::Value)]) -> Result<toml::Table, String> {
    let registry = actionbench_video_stages::registry();
    let t: toml::Table = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    registry.get("synth").unwrap().canonical_params(&t)
}

/// The new keys are canonical only when not default (existing stages keep
/// their keys), and their misuse names the param with a hint.
#[test]
fn render_scene_and_real_fraction_are_checked() {
    let plain = canonical(&[]).unwrap();
    assert!(!plain.contains_key("render-scene") && !plain.contains_key("real-fraction"));
    assert_eq!(canonical(&[("render-scene", "actions".into())]).unwrap(), plain);
    let layout = canonical(&[("render-scene", "layout".into())]).unwrap();
    assert_eq!(layout["render-scene"], "layout".into());
    let zero = canonical(&[("render-scene", "layout".into()), ("real-fraction", 0.0.into())]).unwrap();
    assert_eq!(zero, layout, "0 is the default fraction");
    let half = canonical(&[("render-scene", "layout".into()), ("real-fraction", 0.5.into())]).unwrap();
    assert_eq!(half["real-fraction"], 0.5.into());

    let err = canonical(&[("render-scene", "room".into())]).unwrap_err();
    assert!(err.contains("`render-scene`: unknown render scene `room`") && err.contains("layout"), "{err}");
    let err = canonical(&[("real-fraction", 0.5.into())]).unwrap_err();
    assert!(err.contains("`real-fraction`") && err.contains("Set render-scene = \"layout\""), "{err}");
    let err = canonical(&[("render-scene", "layout".into()), ("real-fraction", 1.5.into())]).unwrap_err();
    assert!(err.contains("`real-fraction`: real fraction must be between 0 and 1, got 1.5"), "{err}");
    let classes = toml::Value::Array(vec!["clapping".into()]);
    let err = canonical(&[("render-scene", "layout".into()), ("classes", classes)]).unwrap_err();
    assert!(
        err.contains("`classes`") && err.contains("own four verbs") && err.contains("Leave `classes` out"),
        "{err}"
    );
}

/// `render-scene = "gestures"` is canonical (a new key), takes no
/// `classes` and no `real-fraction`, and the unknown-scene hint lists it.
#[test]
fn gestures_render_scene_is_checked() {
    let gestures = canonical(&[("render-scene", "gestures".into())]).unwrap();
    assert_eq!(gestures["render-scene"], "gestures".into());
    assert_ne!(gestures, canonical(&[]).unwrap());
    let classes = toml::Value::Array(vec!["walking".into()]);
    let err = canonical(&[("render-scene", "gestures".into()), ("classes", classes)]).unwrap_err();
    assert!(
        err.contains("`classes`")
            && err.contains("own action and gesture vocabularies")
            && err.contains("Leave `classes` out"),
        "{err}"
    );
    let err = canonical(&[("render-scene", "gestures".into()), ("real-fraction", 0.5.into())]).unwrap_err();
    assert!(err.contains("`real-fraction`") && err.contains("Set render-scene = \"layout\""), "{err}");
    let err = canonical(&[("render-scene", "gesture".into())]).unwrap_err();
    assert!(err.contains("`render-scene`: unknown render scene `gesture`") && err.contains("gestures ("), "{err}");
}
