//! `ingest.ava` through the engine: PHALP-like tracks (scripts/bench.d/phalp_like.py)
//! aligned with a small AVA CSV, label map, exclusions and pseudo labels.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use actionbench_pipeline::{Engine, NoopReporter, PipelineDef, RunOptions, StageOutcome, StageReport};
use actionbench_shards::read_all;
use actionbench_shards::tensor::variable_shape_tensor_row;
use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Int32Type, UInt8Type};

const GENERATOR: &str = include_str!("../../../../scripts/bench.d/phalp_like.py");
/// Frames per second of the generated tracks: keyframe 902 is frame 20.
const FPS: f64 = 10.0;
const FRAMES: usize = 55;
/// PHALP frame size in the generator (`size` = [480, 640]).
const W: f64 = 640.0;
const H: f64 = 480.0;

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

fn one_batch(dir: &Path) -> RecordBatch {
    let batches = read_all(dir).unwrap();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn generate(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let script = dir.join("gen.py.txt");
    std::fs::write(&script, GENERATOR).unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .args([dir.to_str().unwrap(), "current", "1", &FRAMES.to_string(), "2"])
        .output()
        .expect("python3 is needed (scripts/test installs it with numpy and joblib)");
    assert!(
        out.status.success(),
        "generator failed (pip install -r scripts/requirements-test.txt):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(script).unwrap();
}

/// The generator's box of person `p` (track p + 1) at frame `k`, moved `dx`
/// pixels right, normalised as AVA writes boxes.
fn ava_box(p: usize, k: usize, dx: f64) -> String {
    let x = (10 + 50 * p + k) as f64 + dx;
    let y = (20 + k) as f64;
    format!("{:.6},{:.6},{:.6},{:.6}", x / W, y / H, (x + 40.0) / W, (y + 90.0) / H)
}

/// Writes the AVA files; returns the project dir.
fn project(stages: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("pipelines")).unwrap();
    std::fs::write(root.join("pipelines/p.toml"), stages).unwrap();
    generate(&root.join("data/phalp"));
    // Keyframe t is frame (t - 900) * 10: 902 → 20, 903 → 30, 904 → 40, 905 → 50.
    // Track 2 (p = 1) is not detected at frame 30 ((30 + 1) % 7 == 3).
    let gt = [
        format!("vid000,0902,{},12,0", ava_box(0, 20, 0.0)),    // line 1
        format!("vid000,0902,{},80,0", ava_box(0, 20, 0.0)),    // line 2: same person, second action
        format!("vid000,0902,{},17,1", ava_box(1, 20, 0.0)),    // line 3
        format!("vid000,0903,{},14,0", ava_box(0, 30, 8.0)),    // line 4: IoU 32/48
        format!("vid000,0903,{},20,1", ava_box(1, 30, 0.0)),    // line 5: track 2 not detected
        "vid000,0902,0.100,0.100,1.200,0.500,12,2".to_string(), // line 6: outside [0, 1]
        "vid000,0902,0.500,0.100,0.400,0.500,12,3".to_string(), // line 7: x1 > x2
        format!("vid000,0902,{},2,1", ava_box(1, 20, 0.0)),     // line 8: id 2 not in the map
        format!("vid000,0904,{},5,0", ava_box(0, 40, 0.0)),     // line 9: excluded keyframe
        "vid999,0902,0.1,0.1,0.3,0.6,12,0".to_string(),         // line 10: no tracks for this video
    ];
    std::fs::write(root.join("data/gt.csv"), gt.join("\n") + "\n").unwrap();
    let pseudo = [
        format!("vid000,0905,{},3,0.9", ava_box(1, 50, 0.0)),
        format!("vid000,0905,{},4,0.2", ava_box(1, 50, 0.0)),
        format!("vid000,0902,{},7,0.95", ava_box(0, 20, 0.0)), // ground truth wins
    ];
    std::fs::write(root.join("data/pseudo.csv"), pseudo.join("\n") + "\n").unwrap();
    std::fs::write(root.join("data/excluded.csv"), "vid000,0904\n").unwrap();
    let mut map = String::new();
    for id in (1..=80).filter(|&i| i != 2) {
        write!(map, "label {{\n  name: \"action {id}\"\n  label_id: {id}\n  label_type: PERSON_MOVEMENT\n}}\n")
            .unwrap();
    }
    std::fs::write(root.join("data/map.pbtxt"), map).unwrap();
    dir
}

fn stage(name: &str, extra: &str) -> String {
    format!(
        "[stages.{name}]\nuses = \"ingest.ava\"\ninputs = [\"data/phalp\", \"data/gt.csv\", \"data/map.pbtxt\", \"data/excluded.csv\", \"data/pseudo.csv\"]\nparams = {{ phalp = \"data/phalp\", csv = \"data/gt.csv\", label-map = \"data/map.pbtxt\", exclusions = \"data/excluded.csv\", pseudo = \"data/pseudo.csv\", fps = {FPS}{extra} }}\n\n"
    )
}

fn u8_row(batch: &RecordBatch, column: &str, row: usize) -> (Vec<usize>, Vec<u8>) {
    variable_shape_tensor_row::<UInt8Type>(batch.column_by_name(column).unwrap().as_ref(), row).unwrap()
}

/// Frames of `row` whose `has_gt` is not 0, with the value.
fn labelled(batch: &RecordBatch, row: usize) -> Vec<(usize, u8)> {
    u8_row(batch, "has_gt", row).1.into_iter().enumerate().filter(|(_, g)| *g > 0).collect()
}

/// Action ids (1-based) set at frame `t` of `row`.
fn actions(batch: &RecordBatch, row: usize, t: usize) -> Vec<usize> {
    let (shape, labels) = u8_row(batch, "labels", row);
    assert_eq!(shape[1], 80);
    (0..80).filter(|c| labels[t * 80 + c] == 1).map(|c| c + 1).collect()
}

#[test]
fn ingest_ava_labels_keyframes_filters_rows_and_exports_lart() {
    let pipeline = stage("a", ", lart-export = \"ava-val\"") + &stage("strict", ", iou = 0.7");
    let dir = project(&pipeline);
    let (engine, reports) = run(dir.path());
    assert!(reports.iter().all(|r| r.outcome == StageOutcome::Ran), "{reports:?}");
    let out = out_dir(&engine, "a");
    let batch = one_batch(&out);
    let ids: Vec<&str> =
        batch.column_by_name("sample_id").unwrap().as_string::<i32>().iter().map(Option::unwrap).collect();
    assert_eq!(ids, ["vid000/000001", "vid000/000002"]);

    // Keyframes: integer seconds from 902 (frames 20, 30, 40, 50), not 900/901.
    for row in 0..2 {
        let (shape, key) = u8_row(&batch, "is_keyframe", row);
        assert_eq!(shape, [FRAMES]);
        let at: Vec<usize> = key.iter().enumerate().filter(|(_, k)| **k == 1).map(|(t, _)| t).collect();
        assert_eq!(at, [20, 30, 40, 50]);
    }
    let keyframes = batch.column_by_name("keyframes").unwrap().as_primitive::<Int32Type>();
    assert_eq!(keyframes.values().to_vec(), [4, 4]);

    // Track 1: both actions of its box at 902; the shifted box at 903 (IoU
    // 0.67); nothing at the excluded 904; the pseudo label at 902 loses to
    // ground truth.
    assert_eq!(labelled(&batch, 0), [(20, 2), (30, 2)]);
    assert_eq!(actions(&batch, 0, 20), [12, 80]);
    assert_eq!(actions(&batch, 0, 30), [14]);
    // Track 2: 902 (the unknown action 2 filtered); 903 falls in a gap;
    // the pseudo label at 905 keeps only the action scoring ≥ 0.5.
    assert_eq!(labelled(&batch, 1), [(20, 2), (50, 1)]);
    assert_eq!(actions(&batch, 1, 20), [17]);
    assert_eq!(actions(&batch, 1, 50), [3]);
    let (_, has_det) = u8_row(&batch, "has_detection", 1);
    assert_eq!(has_det[30], 0);
    // `box_norm`: the detection as the CSV writes it; zeros without a detection.
    let (shape, boxes) = variable_shape_tensor_row::<arrow::datatypes::Float32Type>(
        batch.column_by_name("box_norm").unwrap().as_ref(),
        1,
    )
    .unwrap();
    assert_eq!(shape, [FRAMES, 4]);
    let want: Vec<f64> = ava_box(1, 20, 0.0).split(',').map(|v| v.parse().unwrap()).collect();
    for (got, want) in boxes[80..84].iter().zip(&want) {
        assert!((f64::from(*got) - want).abs() < 1e-6, "{:?} vs {want:?}", &boxes[80..84]);
    }
    assert_eq!(&boxes[120..124], &[0.0; 4]);

    // A stricter IoU leaves the shifted box unmatched.
    let strict = one_batch(&out_dir(&engine, "strict"));
    assert_eq!(labelled(&strict, 0), [(20, 2)]);
    assert_eq!(labelled(&strict, 1), [(20, 2), (50, 1)]);

    // Rejected rows, with file, line and reason.
    let rejects = one_batch(&out.join("rejects"));
    let col = |n: &str| rejects.column_by_name(n).unwrap().clone();
    let mut got: Vec<(u64, String)> = (0..rejects.num_rows())
        .map(|i| {
            assert_eq!(col("file").as_string::<i32>().value(i), "data/gt.csv");
            let line = col("line").as_primitive::<arrow::datatypes::UInt64Type>().value(i);
            (line, col("message").as_string::<i32>().value(i).to_string())
        })
        .collect();
    got.sort();
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0], (6, "`data/gt.csv` line 6: box [0.1, 0.1, 1.2, 0.5] is outside [0, 1]".to_string()));
    assert_eq!(got[1], (7, "`data/gt.csv` line 7: box [0.5, 0.1, 0.4, 0.5] has x1 > x2 or y1 > y2".to_string()));
    assert_eq!(got[2], (8, "`data/gt.csv` line 8: action id 2 is not in the label map `data/map.pbtxt`".to_string()));
    assert_eq!(got[3], (9, "`data/gt.csv` line 9: keyframe excluded by `data/excluded.csv` line 1".to_string()));
    let samples = col("sample");
    assert!(samples.as_string::<i32>().iter().any(|s| s == Some("vid000,0904")));

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("_ingest.json")).unwrap()).unwrap();
    assert_eq!(summary["rows"], 2);
    assert_eq!(summary["ava_rows"], 10);
    assert_eq!(summary["rejected"], 4);
    assert_eq!(summary["gt_boxes"], 5, "4 boxes of vid000 + 1 of vid999");
    assert_eq!(summary["gt_boxes_matched"], 3);
    assert_eq!(summary["pseudo_boxes_used"], 1);
    assert_eq!(summary["lart_files"], 2);

    // The LART files load in joblib with the labels filled.
    let lart = out.join("lart");
    let names: Vec<String> =
        std::fs::read_dir(&lart).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.contains(&"ava-val_vid000_000000_1_55.pkl".to_string()), "{names:?}");
    let script = r#"
import sys, joblib
d1 = joblib.load(sys.argv[1] + "/ava-val_vid000_000000_1_55.pkl")
d2 = joblib.load(sys.argv[1] + "/ava-val_vid000_000000_2_55.pkl")
gt = d1["action_label_gt"]
print(gt.shape, [int(i) + 1 for i in gt[20, 0].nonzero()[0]], [int(i) + 1 for i in gt[30, 0].nonzero()[0]])
print([int(t) for t in d1["has_gt"][:, 0, 0].nonzero()[0]], [int(d2["has_gt"][t, 0, 0]) for t in (20, 30, 50)])
p = d2["action_label_psudo"][50]
print(sorted(d2["action_label_psudo"].keys()), p.shape, round(float(p[0, 2]), 3), round(float(p[0, 3]), 3))
"#;
    let out = Command::new("python3")
        .args(["-c", script, lart.to_str().unwrap()])
        .output()
        .expect("python3 with joblib is needed (scripts/requirements-test.txt)");
    assert!(out.status.success(), "joblib.load failed:\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "(55, 1, 80) [12, 80] [14]\n[20, 30] [2, 0, 1]\n[50] (1, 80) 0.9 0.2\n"
    );
}

#[test]
fn ingest_ava_bad_params_and_files_are_errors() {
    let pipeline = stage("a", "")
        + "[stages.nophalp]\nuses = \"ingest.ava\"\ninputs = [\"data/gt.csv\", \"data/map.pbtxt\"]\nparams = { phalp = \"data/phalp\", csv = \"data/gt.csv\", label-map = \"data/map.pbtxt\" }\n";
    let dir = project(&pipeline);
    // A malformed CSV row fails the stage with its line.
    let mut gt = std::fs::read_to_string(dir.path().join("data/gt.csv")).unwrap();
    gt.push_str("vid000,0902,0.1,zero,0.3,0.6,12,0\n");
    std::fs::write(dir.path().join("data/gt.csv"), gt).unwrap();
    let (_, reports) = run(dir.path());
    let error = |stage: &str| match &reports.iter().find(|r| r.stage == stage).unwrap().outcome {
        StageOutcome::Failed { error, .. } => error.clone(),
        other => panic!("{stage}: {other:?}"),
    };
    assert_eq!(error("a"), "`data/gt.csv` line 11: expected a finite number for y1 in column 4, found `zero`");
    let e = error("nophalp");
    assert!(e.contains("param `phalp` names `data/phalp`, which is not one of the stage's `inputs`"), "{e}");
}
