//! `train` → `predict` through the pipeline engine on skeleton shards
//! shaped like `ingest.ntu`'s (joints `[F, B, 25, 3]`, label, xsub).

use std::path::Path;
use std::sync::Arc;

use actionbench_loader::SampleSource;
use actionbench_pipeline::{Engine, NoopReporter, PipelineDef, RunOptions, StageOutcome};
use actionbench_shards::tensor::{VariableShapeTensorBuilder, variable_shape_tensor_field};
use actionbench_shards::{ShardWriter, ShardWriterOptions};
use arrow::array::{AsArray, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float32Type, Schema};
use rand::SeedableRng;

use crate::synthetic::{FRAMES, Waves};

/// Writes `n` synthetic samples as a shard table; every fourth is `val`.
fn write_skeletons(dir: &Path, n: usize) {
    let waves = Waves { n, seed: 5 };
    let mut joints = VariableShapeTensorBuilder::<Float32Type>::new(4);
    let (mut ids, mut labels, mut split) = (Vec::new(), Vec::new(), Vec::new());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    for i in 0..n {
        let s = waves.sample(i, &mut rng).unwrap();
        // [3, T, 25, 2] -> [F, B, 25, 3]
        let src = &s.tensors["joints"].data;
        let mut out = vec![0f32; FRAMES * 2 * 25 * 3];
        for c in 0..3 {
            for f in 0..FRAMES {
                for j in 0..25 {
                    for b in 0..2 {
                        out[((f * 2 + b) * 25 + j) * 3 + c] = src[((c * FRAMES + f) * 25 + j) * 2 + b];
                    }
                }
            }
        }
        joints.push(&[FRAMES, 2, 25, 3], &out).unwrap();
        ids.push(s.id);
        labels.push(s.label as i32);
        split.push(if i % 4 == 3 { "val" } else { "train" });
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("label", DataType::Int32, false),
        variable_shape_tensor_field("joints", DataType::Float32, 4, None, None).unwrap(),
        Field::new("xsub", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(Int32Array::from(labels)),
            joints.finish().unwrap(),
            Arc::new(StringArray::from(split)),
        ],
    )
    .unwrap();
    let mut w = ShardWriter::new(dir, schema, ShardWriterOptions::default()).unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
}

const PIPELINE: &str = r#"
[stages.train]
uses = "train"
inputs = ["data/skel"]
[stages.train.params]
model = { kind = "stgcn", num-classes = 3, size = "tiny", dropout = 0.1 }
data = { filter = "xsub = 'train'", batch-size = 8, skeleton = { frames = 12, augment = false, center-joint = 1 } }
train = { optimizer = { kind = "adamw", beta1 = 0.9, beta2 = 0.95, epsilon = 1e-8, weight-decay = 0.0 }, lr = 0.05, epochs = 12, warmup-steps = 2, seed = 3, checkpoint-every = 5 }

[stages.predict]
uses = "predict"
inputs = ["@train", "data/skel"]
params = { model = "@train", filter = "xsub = 'val'" }
"#;

fn registry() -> actionbench_pipeline::Registry {
    let mut r = actionbench_pipeline::Registry::new();
    actionbench_train::register(&mut r);
    r
}

fn run(root: &Path, pipeline: &str) -> Vec<actionbench_pipeline::StageReport> {
    let path = root.join("pipelines/p.toml");
    std::fs::write(&path, pipeline).unwrap();
    let def = PipelineDef::load(path.to_str().unwrap(), root).unwrap();
    let engine = Engine::new(def, registry(), Some(root.join(".cache"))).unwrap();
    engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap()
}

fn read_parquet(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn stage_dir(root: &Path, stage: &str) -> std::path::PathBuf {
    // The engine's cache layout is private: find the stage output by its file.
    let want = if stage == "train" { "model.mpk" } else { "predictions.parquet" };
    walk(&root.join(".cache"), want).unwrap_or_else(|| panic!("no `{want}` under the cache"))
}

fn walk(dir: &Path, file: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.join(file).is_file() {
            return Some(p);
        }
        if p.is_dir()
            && let Some(found) = walk(&p, file)
        {
            return Some(found);
        }
    }
    None
}

#[test]
fn train_then_predict_on_skeleton_shards() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("pipelines")).unwrap();
    write_skeletons(&root.join("data/skel"), 48);
    let reports = run(root, PIPELINE);
    for r in &reports {
        assert!(matches!(r.outcome, StageOutcome::Ran), "{}: {:?}", r.stage, r.outcome);
    }
    let train = stage_dir(root, "train");
    assert!(train.join("model.json").is_file());
    // Checkpoints live in the engine's (configured) cache, and are removed
    // once the run completes; nothing is written to the default cache.
    assert!(root.join(".cache/train").is_dir(), "checkpoints go under the configured cache");
    assert_eq!(std::fs::read_dir(root.join(".cache/train")).unwrap().count(), 0, "and are gone after the run");
    assert!(!root.join(".actionbench").exists(), "nothing in the default cache directory");
    let metrics = actionbench_shards::read_all(&train.join("metrics")).unwrap();
    let metrics = arrow::compute::concat_batches(&metrics[0].schema(), &metrics).unwrap();
    assert_eq!(metrics.schema(), actionbench_shards::metrics_schema());
    let names = metrics.column_by_name("metric").unwrap().as_string::<i32>();
    let splits = metrics.column_by_name("split").unwrap().as_string::<i32>();
    let values = metrics.column_by_name("value").unwrap().as_primitive::<arrow::datatypes::Float64Type>();
    let epoch_loss: Vec<f64> = (0..metrics.num_rows())
        .filter(|&r| splits.value(r) == "train-epoch" && names.value(r) == "loss")
        .map(|r| values.value(r))
        .collect();
    assert_eq!(epoch_loss.len(), 12);
    assert!(epoch_loss[11] < epoch_loss[0], "training loss falls: {epoch_loss:?}");
    let runs = actionbench_shards::read_all(&train.join("runs")).unwrap();
    assert_eq!(runs[0].num_rows(), 1);
    let steps = runs[0].column_by_name("steps").unwrap().as_primitive::<arrow::datatypes::Int64Type>().value(0);
    assert_eq!(steps, 60, "36 train rows / batch 8 = 5 steps x 12 epochs");
    // Checkpoints are gone once the run is complete.
    let ck = root.join(".actionbench/train");
    assert!(!ck.exists() || std::fs::read_dir(&ck).unwrap().next().is_none());

    let preds = read_parquet(&stage_dir(root, "predict").join("predictions.parquet"));
    // The order the samples were scored in, hashed for the leaderboard.
    let order = std::fs::read_to_string(stage_dir(root, "predict").join("order.json")).unwrap();
    let order: serde_json::Value = serde_json::from_str(&order).unwrap();
    assert_eq!(order["data_order"].as_str().unwrap().len(), 64);
    assert_eq!(preds.num_rows(), 12, "the val rows");
    let ids = preds.column_by_name("sample_id").unwrap().as_string::<i32>();
    let labels = preds.column_by_name("label").unwrap().as_primitive::<arrow::datatypes::Int64Type>();
    let scores = preds.column_by_name("scores").unwrap().as_list::<i32>();
    let mut correct = 0;
    let mut predicted = Vec::new();
    for r in 0..preds.num_rows() {
        assert!(ids.value(r).starts_with('s'));
        let row = scores.value(r);
        let row = row.as_primitive::<Float32Type>();
        assert_eq!(row.len(), 3);
        assert!((row.values().iter().sum::<f32>() - 1.0).abs() < 1e-4, "softmax scores");
        let best = (0..3).max_by(|&a, &b| row.value(a).total_cmp(&row.value(b))).unwrap();
        correct += usize::from(best as i64 == labels.value(r));
        predicted.push((ids.value(r).to_string(), labels.value(r), best, row.values().to_vec()));
    }
    assert!(
        correct >= 8,
        "val accuracy {correct}/12 should beat chance (4/12); train loss {epoch_loss:?}; predicted {predicted:?}"
    );

    // Re-running is a cache hit.
    let again = run(root, PIPELINE);
    assert!(again.iter().all(|r| matches!(r.outcome, StageOutcome::Cached)), "{again:?}");
}

#[test]
fn bad_params_are_rejected_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("pipelines")).unwrap();
    write_skeletons(&root.join("data/skel"), 6);
    let path = root.join("pipelines/p.toml");
    let bad = PIPELINE.replace("lr = 0.05", "lr = -1.0");
    assert_ne!(bad, PIPELINE);
    std::fs::write(&path, &bad).unwrap();
    let def = PipelineDef::load(path.to_str().unwrap(), root).unwrap();
    let err = Engine::new(def, registry(), Some(root.join(".cache"))).err().map(|e| e.to_string());
    let msg = match err {
        Some(m) => m,
        None => {
            let reports = run(root, &bad);
            format!("{:?}", reports[0].outcome)
        }
    };
    assert!(msg.contains("lr"), "{msg}");
    // A filter that matches nothing says so.
    let none = PIPELINE.replace("xsub = 'train'", "xsub = 'nope'");
    assert_ne!(none, PIPELINE);
    let reports = run(root, &none);
    match &reports[0].outcome {
        StageOutcome::Failed { error, .. } => assert!(error.contains("no row"), "{error}"),
        other => panic!("{other:?}"),
    }
}
