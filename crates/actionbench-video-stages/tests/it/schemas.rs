//! Every ingest kind's table schema, pinned: column names, types,
//! nullability and field metadata (tensor extension types), as a snapshot
//! per kind under `snapshots/ingest-schemas/`. A change to a kind's columns
//! shows up here, next to its implementation version.

use std::fmt::Write as _;
use std::path::Path;

use actionbench_pipeline::{Engine, NoopReporter, PipelineDef, RunOptions, StageOutcome};
use actionbench_synth::{NoProgress, Preset, SynthConfig, generate};

const PIPELINE: &str = r#"
[stages.ntu]
uses = "ingest.ntu"
inputs = ["data/synth/ntu"]
params = { dataset = "ntu60" }

[stages.kinetics]
uses = "ingest.kinetics-skeleton"
inputs = ["data/synth/kinetics/kinetics_train", "data/synth/kinetics/kinetics_train_label.json"]
params = { labels = "data/synth/kinetics/kinetics_train_label.json" }

[stages.phalp]
uses = "ingest.phalp"
inputs = ["data/synth/phalp/results"]

[stages.ava]
uses = "ingest.ava"
inputs = ["data/synth/phalp/results", "data/synth/ava/ava_train_v2.2.csv", "data/synth/ava/ava_action_list_v2.2.pbtxt"]
params = { phalp = "data/synth/phalp/results", csv = "data/synth/ava/ava_train_v2.2.csv", label-map = "data/synth/ava/ava_action_list_v2.2.pbtxt" }

[stages.h36m-3d]
uses = "ingest.h36m"
inputs = ["data/h36m3d"]

[stages.h36m-2d]
uses = "ingest.h36m"
inputs = ["data/h36m2d"]

[stages.renders]
uses = "ingest.renders"
inputs = ["data/synth/renders"]

[stages.video]
uses = "ingest.video"
inputs = ["data/synth/renders"]
params = { clip-len = 4, short-side = 32, video-id = "parent" }

[stages.pyskl]
uses = "ingest.pyskl"
inputs = ["data/pyskl"]

[stages.labels]
uses = "ingest.labels"
inputs = ["data/labels/items.json", "data/labels/labels.json"]
params = { format = "sth-items", classes = "data/labels/labels.json" }
"#;

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
}

/// Field by field: name, Arrow type, nullability, then its metadata.
fn describe(schema: &arrow::datatypes::Schema) -> String {
    let mut out = String::new();
    for field in schema.fields() {
        let null = if field.is_nullable() { "null" } else { "not null" };
        let _ = writeln!(out, "{}: {} ({null})", field.name(), field.data_type());
        let mut metadata: Vec<_> = field.metadata().iter().collect();
        metadata.sort();
        for (k, v) in metadata {
            let _ = writeln!(out, "    {k} = {v}");
        }
    }
    out
}

#[test]
fn every_ingest_kind_has_its_pinned_schema() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let synth = root.join("data/synth");
    generate(&SynthConfig::new(Preset::Tiny, 7), &synth, &NoProgress).unwrap();
    copy(&synth.join("h36m/data_3d_h36m.npz"), &root.join("data/h36m3d/data_3d_h36m.npz"));
    copy(&synth.join("h36m/data_2d_h36m_gt.npz"), &root.join("data/h36m2d/data_2d_h36m_gt.npz"));
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/real");
    copy(&real.join("skeleton_pkl/mmaction2_main/sample.pkl"), &root.join("data/pyskl/sample.pkl"));
    copy(&real.join("something_else/fewshot/finetune_5shot_training.json"), &root.join("data/labels/items.json"));
    copy(&real.join("something_else/compositional/labels.json"), &root.join("data/labels/labels.json"));
    std::fs::create_dir_all(root.join("pipelines")).unwrap();
    std::fs::write(root.join("pipelines/p.toml"), PIPELINE).unwrap();

    let def = PipelineDef::load("p", root).unwrap();
    let engine = Engine::new(def, actionbench_video_stages::registry(), None).unwrap();
    let reports = engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap();
    let lock = engine.lock_file().unwrap();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../../snapshots/ingest-schemas"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for report in &reports {
            assert_eq!(report.outcome, StageOutcome::Ran, "{}: {:?}", report.stage, report.outcome);
            let out = engine.cache().stage_dir(&lock.stages[&report.stage].key);
            let batches = actionbench_shards::read_all(&out).unwrap();
            assert!(!batches.is_empty(), "{} wrote no rows", report.stage);
            insta::assert_snapshot!(report.stage.clone(), describe(&batches[0].schema()));
        }
    });
}
