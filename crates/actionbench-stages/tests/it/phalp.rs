//! `ingest.phalp` through the engine, on PHALP-like files of both
//! generations written by joblib (scripts/bench.d/phalp_like.py).

use std::path::{Path, PathBuf};
use std::process::Command;

use actionbench_pipeline::{Engine, NoopReporter, PipelineDef, RunOptions, StageOutcome, StageReport};
use actionbench_shards::read_all;
use actionbench_shards::tensor::variable_shape_tensor_row;
use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float32Type, Float64Type, Int64Type, UInt8Type};

const GENERATOR: &str = include_str!("../../../../scripts/bench.d/phalp_like.py");

fn project(pipeline: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
    std::fs::write(dir.path().join("pipelines/p.toml"), pipeline).unwrap();
    dir
}

fn run(dir: &Path) -> (Engine, Vec<StageReport>) {
    let def = PipelineDef::load("p", dir).unwrap();
    let engine = Engine::new(def, actionbench_stages::registry(), None).unwrap();
    let reports = engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap();
    (engine, reports)
}

fn out_dir(engine: &Engine, stage: &str) -> PathBuf {
    let key = engine.lock_file().unwrap().stages[stage].key;
    engine.cache().stage_dir(&key)
}

/// Writes `n` files of `generation` into `dir` (videos vid000…).
fn generate(dir: &Path, generation: &str, n: usize, frames: usize, people: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let script = dir.join("gen.py.txt");
    std::fs::write(&script, GENERATOR).unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .args([dir.to_str().unwrap(), generation, &n.to_string(), &frames.to_string(), &people.to_string()])
        .output()
        .expect("python3 is needed (scripts/test installs it with numpy and joblib)");
    assert!(
        out.status.success(),
        "generator failed (pip install -r scripts/requirements-test.txt):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(script).unwrap();
}

fn one_batch(dir: &Path) -> RecordBatch {
    let batches = read_all(dir).unwrap();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

#[test]
fn ingest_phalp_rows_per_track_and_lart_export() {
    for generation in ["current", "cvpr22"] {
        let dir = project(
            "[stages.t]\nuses = \"ingest.phalp\"\ninputs = [\"data/phalp\"]\nparams = { fps = 30, lart-export = \"ava-val\" }\n",
        );
        generate(&dir.path().join("data/phalp"), generation, 2, 12, 2);
        let (engine, reports) = run(dir.path());
        assert_eq!(reports[0].outcome, StageOutcome::Ran, "{generation}: {reports:?}");
        let out = out_dir(&engine, "t");
        let batch = one_batch(&out);
        assert_eq!(batch.num_rows(), 4, "2 videos × 2 tracks");
        let ids: Vec<&str> =
            batch.column_by_name("sample_id").unwrap().as_string::<i32>().iter().map(Option::unwrap).collect();
        assert_eq!(ids, ["vid000/000001", "vid000/000002", "vid001/000001", "vid001/000002"]);
        let gen_col = batch.column_by_name("generation").unwrap().as_string::<i32>();
        assert_eq!(gen_col.value(0), generation);
        // Track 2 (p = 1) misses frame 2 and 9: spans 0..=11 with gaps.
        let row = 1;
        let col = |n: &str| batch.column_by_name(n).unwrap().clone();
        let (shape, det) = variable_shape_tensor_row::<UInt8Type>(col("has_detection").as_ref(), row).unwrap();
        assert_eq!(shape, [12]);
        let want: Vec<u8> = (0..12).map(|k| ((k + 1) % 7 != 3) as u8).collect();
        assert_eq!(det, want);
        let (_, frames) = variable_shape_tensor_row::<Int64Type>(col("frame").as_ref(), row).unwrap();
        assert_eq!(frames, (0..12).collect::<Vec<i64>>());
        let (_, time) = variable_shape_tensor_row::<Float64Type>(col("time").as_ref(), row).unwrap();
        assert_eq!(time[3], 900.0 + 3.0 / 30.0);
        let (shape, bbox) = variable_shape_tensor_row::<Float32Type>(col("bbox").as_ref(), row).unwrap();
        assert_eq!(shape, [12, 4]);
        assert_eq!(&bbox[4..8], &[61.0, 21.0, 40.0, 90.0]);
        assert_eq!(&bbox[8..12], &[0.0; 4], "gap frame is zero");
        let (shape, pose) = variable_shape_tensor_row::<Float32Type>(col("pose229").as_ref(), row).unwrap();
        assert_eq!(shape, [12, 229]);
        assert_eq!(pose[229 + 228], (40.0 + 1.0) / 200.0);
        let (shape, _) = variable_shape_tensor_row::<Float32Type>(col("joints3d").as_ref(), row).unwrap();
        assert_eq!(shape, [12, 45, 3]);
        let (shape, _) = variable_shape_tensor_row::<Float32Type>(col("appearance").as_ref(), row).unwrap();
        assert_eq!(shape, [12, 64]);
        let mut lart: Vec<String> = std::fs::read_dir(out.join("lart"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        lart.sort();
        assert_eq!(lart[1], "ava-val_vid000_000000_2_12.pkl");
        assert_eq!(lart.len(), 4);
    }
}

#[test]
fn ingest_phalp_skips_or_fails_on_bad_files() {
    let dir = project(
        "[stages.s]\nuses = \"ingest.phalp\"\ninputs = [\"data\"]\nparams = { on-error = \"skip\" }\n\n[stages.f]\nuses = \"ingest.phalp\"\ninputs = [\"data\"]\n",
    );
    generate(&dir.path().join("data"), "current", 1, 6, 1);
    let good = std::fs::read(dir.path().join("data/demo_vid000.pkl")).unwrap();
    std::fs::write(dir.path().join("data/truncated.pkl"), &good[..good.len() / 2]).unwrap();
    let (engine, reports) = run(dir.path());
    assert_eq!(reports.iter().find(|r| r.stage == "s").unwrap().outcome, StageOutcome::Ran);
    let StageOutcome::Failed { error, .. } = &reports.iter().find(|r| r.stage == "f").unwrap().outcome else {
        panic!("{reports:?}")
    };
    assert!(error.contains("data/truncated.pkl"), "{error}");
    let out = out_dir(&engine, "s");
    assert_eq!(one_batch(&out).num_rows(), 1);
    let rejects = one_batch(&out.join("rejects"));
    assert_eq!(rejects.column_by_name("file").unwrap().as_string::<i32>().value(0), "data/truncated.pkl");
}
