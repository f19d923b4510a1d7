//! The `ingest.*` stages through the engine: generated NTU `.skeleton` and
//! Kinetics-skeleton files, the real pyskl pickles, self-made Human3.6M
//! archives.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use actionbench_pipeline::{Engine, NoopReporter, PipelineDef, RunOptions, StageOutcome, StageReport};
use actionbench_shards::tensor::variable_shape_tensor_row;
use actionbench_shards::{ShardIndex, read_all};
use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float32Type, Int8Type, Int32Type, UInt64Type};

/// The repository's real fixture files (`fixtures/real/`, provenance in its
/// `SOURCES.md`).
fn real_fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/real")
}

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(pipeline: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
        std::fs::write(dir.path().join("pipelines/p.toml"), pipeline).unwrap();
        Project { dir }
    }

    fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn run(&self) -> (Engine, Vec<StageReport>) {
        let def = PipelineDef::load("p", self.dir.path()).unwrap();
        let engine = Engine::new(def, actionbench_stages::registry(), None).unwrap();
        let reports = engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap();
        (engine, reports)
    }
}

fn out_dir(engine: &Engine, stage: &str) -> PathBuf {
    let key = engine.lock_file().unwrap().stages[stage].key;
    engine.cache().stage_dir(&key)
}

fn strings(batches: &[RecordBatch], column: &str) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(column)
                .unwrap()
                .as_string::<i32>()
                .iter()
                .map(|s| s.map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn ids(batches: &[RecordBatch], column: &str) -> Vec<String> {
    strings(batches, column).into_iter().map(Option::unwrap).collect()
}

fn ints(batches: &[RecordBatch], column: &str) -> Vec<Option<i32>> {
    batches
        .iter()
        .flat_map(|b| b.column_by_name(column).unwrap().as_primitive::<Int32Type>().iter().collect::<Vec<_>>())
        .collect()
}

fn one_batch(dir: &Path) -> RecordBatch {
    let batches = read_all(dir).unwrap();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("_ingest.json")).unwrap()).unwrap()
}

// ---------------------------------------------------------------- NTU

const BIG_ID: u64 = 72057594037931101;

/// A `.skeleton` text: `bodies[f]` bodies in frame f; joint x = body + joint/100.
pub(crate) fn skeleton(bodies: &[usize], ids: &[u64], eol: &str) -> String {
    let mut s = format!("{}{eol}", bodies.len());
    for &n in bodies {
        write!(s, "{n}{eol}").unwrap();
        for (b, id) in ids.iter().enumerate().take(n) {
            write!(s, "{id} 1 1 2 1 3 0 0.5 -0.25 2{eol}25{eol}").unwrap();
            for j in 0..25 {
                write!(
                    s,
                    "{} {} {} 256.5 212.25 960.5 540.75 0.5 -0.5 0.25 -0.25 {}{eol}",
                    b as f32 + j as f32 / 100.0,
                    -(j as f32) / 10.0,
                    3.5,
                    j % 3
                )
                .unwrap();
            }
        }
    }
    s
}

/// The first sample of the official NTU60 missing list.
const MISSING: &str = "S001C002P005R002A008";

const NTU: &str = r#"
[stages.skip]
uses = "ingest.ntu"
inputs = ["data/ntu"]
params = { dataset = "ntu60", on-error = "skip" }

[stages.strict]
uses = "ingest.ntu"
inputs = ["data/ntu"]
params = { dataset = "ntu60" }

[stages.capped]
uses = "ingest.ntu"
inputs = ["data/ntu/good", "data/missing.txt"]
params = { dataset = "ntu120", max-bodies = 2, missing-list = "data/missing.txt", rows-per-shard = 1 }
"#;

fn ntu_project() -> Project {
    let p = Project::new(NTU);
    // CRLF, a 0-body frame, 3 bodies, a u64 body id.
    p.write("data/ntu/good/S001C001P001R001A001.skeleton", skeleton(&[1, 0, 3], &[BIG_ID, 7, u64::MAX], "\r\n"));
    p.write("data/ntu/good/S001C002P003R002A013.skeleton", skeleton(&[2, 2], &[11, 12], "\n"));
    // NTU120 only: skipped by ntu60, kept by ntu120.
    p.write("data/ntu/good/S018C001P045R001A061.skeleton", skeleton(&[1], &[5], "\n"));
    // In the official missing list: dropped by ntu60's default list.
    p.write(&format!("data/ntu/good/{MISSING}.skeleton"), skeleton(&[1], &[5], "\n"));
    // Corrupt: truncated inside a joint line list, and empty.
    let full = skeleton(&[1], &[5], "\n");
    let truncated: String = full.lines().take(10).map(|l| format!("{l}\n")).collect();
    p.write("data/ntu/bad/S002C001P002R001A002.skeleton", truncated);
    p.write("data/ntu/bad/S002C001P002R001A003.skeleton", "");
    p.write("data/ntu/README.txt", "not a sample");
    // A user list (with the official prose header) naming one good sample.
    p.write("data/missing.txt", "The following samples are missing.\nPlease skip them.\n\nS001C002P003R002A013\n");
    p
}

#[test]
fn ingest_ntu_skips_or_fails_on_corrupt_files() {
    let p = ntu_project();
    let (engine, reports) = p.run();
    let outcome = |stage: &str| &reports.iter().find(|r| r.stage == stage).unwrap().outcome;
    assert_eq!(outcome("skip"), &StageOutcome::Ran);
    let StageOutcome::Failed { error, hint, location } = outcome("strict") else { panic!("{reports:?}") };
    assert_eq!(
        error,
        "`data/ntu/bad/S002C001P002R001A002.skeleton` line 11: unexpected end of file: expected joint 7 of body 1 in frame 1: the joint line (the file is truncated)"
    );
    assert_eq!(hint.as_deref(), Some("Re-extract the file from the NTU RGB+D archive"));
    assert_eq!(
        location.as_ref().map(ToString::to_string).as_deref(),
        Some("data/ntu/bad/S002C001P002R001A002.skeleton:11")
    );

    let out = out_dir(&engine, "skip");
    let batch = one_batch(&out);
    let b = std::slice::from_ref(&batch);
    assert_eq!(ids(b, "sample_id"), ["S001C001P001R001A001", "S001C002P003R002A013"]);
    assert_eq!(ints(b, "camera"), [Some(1), Some(2)]);
    assert_eq!(ints(b, "subject"), [Some(1), Some(3)]);
    assert_eq!(ints(b, "replication"), [Some(1), Some(2)]);
    assert_eq!(ints(b, "action"), [Some(1), Some(13)]);
    assert_eq!(ints(b, "label"), [Some(0), Some(12)]);
    assert_eq!(ints(b, "num_frames"), [Some(3), Some(2)]);
    assert_eq!(ints(b, "num_bodies"), [Some(3), Some(2)]);
    assert_eq!(strings(b, "xsub"), [Some("train".into()), Some("val".into())]);
    assert_eq!(strings(b, "xview"), [Some("val".into()), Some("train".into())]);
    assert!(batch.column_by_name("xset").is_none());
    assert_eq!(
        strings(b, "source_file"),
        [
            Some("data/ntu/good/S001C001P001R001A001.skeleton".into()),
            Some("data/ntu/good/S001C002P003R002A013.skeleton".into())
        ]
    );
    let bytes = std::fs::read(p.dir.path().join("data/ntu/good/S001C001P001R001A001.skeleton")).unwrap();
    assert_eq!(
        strings(b, "source_blake3")[0].as_deref(),
        Some(actionbench_core::Fingerprint::of_bytes(&bytes).to_hex().as_str())
    );

    // Tensors of the first sample: 3 frames × 3 bodies, frame 1 empty.
    let (shape, body_ids) =
        variable_shape_tensor_row::<UInt64Type>(batch.column_by_name("body_ids").unwrap().as_ref(), 0).unwrap();
    assert_eq!(shape, [3, 3]);
    assert_eq!(body_ids, [BIG_ID, 0, 0, 0, 0, 0, BIG_ID, 7, u64::MAX]);
    let (shape, per_frame) =
        variable_shape_tensor_row::<Int32Type>(batch.column_by_name("frame_num_bodies").unwrap().as_ref(), 0).unwrap();
    assert_eq!((shape, per_frame), (vec![3], vec![1, 0, 3]));
    let (shape, joints) =
        variable_shape_tensor_row::<Float32Type>(batch.column_by_name("joints").unwrap().as_ref(), 0).unwrap();
    assert_eq!(shape, [3, 3, 25, 3]);
    let at = |f: usize, body: usize, j: usize, c: usize| joints[((f * 3 + body) * 25 + j) * 3 + c];
    assert_eq!((at(0, 0, 4, 0), at(0, 0, 4, 1), at(0, 0, 4, 2)), (0.04, -0.4, 3.5));
    assert_eq!(at(2, 2, 24, 0), 2.24);
    assert!(joints[3 * 25 * 3..2 * 3 * 25 * 3].iter().all(|&v| v == 0.0), "the empty frame is zeros");
    let (_, color) =
        variable_shape_tensor_row::<Float32Type>(batch.column_by_name("color_xy").unwrap().as_ref(), 0).unwrap();
    assert_eq!(&color[..2], &[960.5, 540.75]);
    let (_, orient) =
        variable_shape_tensor_row::<Float32Type>(batch.column_by_name("orientation").unwrap().as_ref(), 0).unwrap();
    assert_eq!(&orient[..4], &[0.5, -0.5, 0.25, -0.25]);
    let (shape, tracking) =
        variable_shape_tensor_row::<Int8Type>(batch.column_by_name("joint_tracking").unwrap().as_ref(), 0).unwrap();
    assert_eq!((shape, &tracking[..4]), (vec![3, 3, 25], &[0, 1, 2, 0][..]));
    let (_, state) =
        variable_shape_tensor_row::<Int32Type>(batch.column_by_name("body_state").unwrap().as_ref(), 0).unwrap();
    assert_eq!(&state[..7], &[1, 1, 2, 1, 3, 0, 2]);
    let (_, lean) =
        variable_shape_tensor_row::<Float32Type>(batch.column_by_name("body_lean").unwrap().as_ref(), 0).unwrap();
    assert_eq!(&lean[..2], &[0.5, -0.25]);

    // Index, metadata, rejects, summary.
    let index = ShardIndex::read(&out).unwrap();
    assert_eq!(index.key_column.as_deref(), Some("sample_id"));
    assert_eq!(index.stage_key.as_deref(), Some(engine.lock_file().unwrap().stages["skip"].key.to_hex().as_str()));
    let rejects = one_batch(&out.join("rejects"));
    let r = std::slice::from_ref(&rejects);
    assert_eq!(ids(r, "sample"), ["S002C001P002R001A002", "S002C001P002R001A003"]);
    let lines: Vec<Option<u64>> = rejects.column_by_name("line").unwrap().as_primitive::<UInt64Type>().iter().collect();
    assert_eq!(lines, [Some(11), Some(1)]);
    assert!(ids(r, "message")[1].contains("the file is empty"));
    let s = summary(&out);
    assert_eq!(s["rows"], 2);
    assert_eq!(s["rejected"], 2);
    assert_eq!(s["dropped_missing"], 1);
    assert_eq!(s["dropped_missing_samples"][0], MISSING);
    assert_eq!(s["skipped_other_release"], 1);
    assert_eq!(s["ignored_files"], 1);

    // ntu120 with a user list and a cap of two bodies per frame, one row per shard.
    let out = out_dir(&engine, "capped");
    let batch = one_batch(&out);
    let b = std::slice::from_ref(&batch);
    assert_eq!(ids(b, "sample_id"), ["S001C001P001R001A001", MISSING, "S018C001P045R001A061"]);
    assert_eq!(ints(b, "num_bodies"), [Some(2), Some(1), Some(1)]);
    assert_eq!(ints(b, "max_bodies_in_file"), [Some(3), Some(1), Some(1)]);
    assert_eq!(strings(b, "xset"), [Some("val".into()), Some("val".into()), Some("train".into())]);
    assert_eq!(strings(b, "xsub")[2].as_deref(), Some("train"));
    assert_eq!(ShardIndex::read(&out).unwrap().shards.len(), 3);
    assert!(!out.join("rejects").exists());
    assert_eq!(summary(&out)["dropped_missing_samples"][0], "S001C002P003R002A013");
    assert_eq!(summary(&out)["ignored_files"], 0);

    // Deterministic: the same inputs give byte-identical shards (a cached re-run, then a forced one).
    let before = std::fs::read(out.join("part-00000.parquet")).unwrap();
    let (_, again) = p.run();
    assert!(again.iter().filter(|r| r.stage != "strict").all(|r| r.outcome == StageOutcome::Cached), "{again:?}");
    let def = PipelineDef::load("p", p.dir.path()).unwrap();
    let engine = Engine::new(def, actionbench_stages::registry(), None).unwrap();
    let forced = engine
        .run(&RunOptions { jobs: 1, force: true, targets: vec!["capped".into()], ..Default::default() }, &NoopReporter)
        .unwrap();
    assert_eq!(forced.iter().find(|r| r.stage == "capped").unwrap().outcome, StageOutcome::Ran);
    assert_eq!(std::fs::read(out_dir(&engine, "capped").join("part-00000.parquet")).unwrap(), before);
}

#[test]
fn ingest_ntu_rejects_bad_params_and_names() {
    let p = Project::new(
        r#"
[stages.a]
uses = "ingest.ntu"
inputs = ["data"]
params = { dataset = "ntu61" }
"#,
    );
    p.write("data/S001C001P001R001A001.skeleton", skeleton(&[1], &[1], "\n"));
    let def = PipelineDef::load("p", p.dir.path()).unwrap();
    let err = Engine::new(def, actionbench_stages::registry(), None).err().unwrap().to_string();
    assert!(err.contains("ntu61"), "{err}");

    let p = Project::new(
        r#"
[stages.a]
uses = "ingest.ntu"
inputs = ["data"]
params = { dataset = "ntu60", missing-list = "lists/missing.txt" }
"#,
    );
    p.write("data/S001C001P001R001A001.skeleton", skeleton(&[1], &[1], "\n"));
    p.write("data/sample_1.skeleton", skeleton(&[1], &[1], "\n"));
    let (_, reports) = p.run();
    let StageOutcome::Failed { error, .. } = &reports[0].outcome else { panic!("{reports:?}") };
    assert!(
        error.contains("param `missing-list` names `lists/missing.txt`, which is not in the stage's `inputs`"),
        "{error}"
    );

    let p = Project::new("[stages.a]\nuses = \"ingest.ntu\"\ninputs = [\"data\"]\nparams = { dataset = \"ntu60\" }\n");
    p.write("data/sample_1.skeleton", skeleton(&[1], &[1], "\n"));
    let (_, reports) = p.run();
    let StageOutcome::Failed { error, .. } = &reports[0].outcome else { panic!("{reports:?}") };
    assert_eq!(
        error,
        "`data/sample_1.skeleton`: the file name `sample_1` is not an NTU sample name `SsssCcccPpppRrrrAaaa`"
    );
}

// ---------------------------------------------------- Kinetics-skeleton

fn kinetics_json(frames: &[(i64, usize)], label: &str, index: i64) -> String {
    let data: Vec<String> = frames
        .iter()
        .map(|&(fi, persons)| {
            let people: Vec<String> = (0..persons)
                .map(|p| {
                    let pose: Vec<String> = (0..36).map(|k| format!("{:.3}", (p * 36 + k) as f32 / 1000.0)).collect();
                    let score: Vec<String> = (0..18).map(|k| format!("{:.3}", 0.5 + k as f32 / 100.0)).collect();
                    format!("{{\"pose\": [{}], \"score\": [{}]}}", pose.join(", "), score.join(", "))
                })
                .collect();
            format!("{{\"frame_index\": {fi}, \"skeleton\": [{}]}}", people.join(", "))
        })
        .collect();
    format!("{{\"data\": [\n{}\n], \"label\": \"{label}\", \"label_index\": {index}}}", data.join(",\n"))
}

#[test]
fn ingest_kinetics_skeleton_with_label_index() {
    let p = Project::new(
        r#"
[stages.k]
uses = "ingest.kinetics-skeleton"
inputs = ["data/kinetics_val", "data/kinetics_val_label.json"]
params = { labels = "data/kinetics_val_label.json", split = "val", on-error = "skip" }
"#,
    );
    p.write("data/kinetics_val/zzz_video_1.json", kinetics_json(&[(1, 1), (3, 2)], "abseiling", 0));
    p.write("data/kinetics_val/aaa_video_0.json", kinetics_json(&[], "", -1));
    p.write(
        "data/kinetics_val/bad_video_2.json",
        "{\"data\": [\n{\"frame_index\": 1, \"skeleton\": [{\"pose\": [0.1], \"score\": [0.5]}]}]}",
    );
    p.write(
        "data/kinetics_val_label.json",
        r#"{"zzz_video_1": {"has_skeleton": true, "label": "air drumming", "label_index": 2},
            "aaa_video_0": {"has_skeleton": false, "label": "abseiling", "label_index": 0}}"#,
    );
    let (engine, reports) = p.run();
    assert_eq!(reports[0].outcome, StageOutcome::Ran, "{reports:?}");
    let out = out_dir(&engine, "k");
    let batch = one_batch(&out);
    let b = std::slice::from_ref(&batch);
    assert_eq!(ids(b, "sample_id"), ["aaa_video_0", "zzz_video_1"]);
    assert_eq!(ints(b, "label"), [Some(0), Some(2)]);
    assert_eq!(strings(b, "label_name")[1].as_deref(), Some("air drumming"));
    let has: Vec<Option<bool>> = batch.column_by_name("has_skeleton").unwrap().as_boolean().iter().collect();
    assert_eq!(has, [Some(false), Some(true)]);
    assert_eq!(ints(b, "num_frames"), [Some(0), Some(2)]);
    assert_eq!(ints(b, "max_frame_index"), [Some(0), Some(3)]);
    let (shape, pose) =
        variable_shape_tensor_row::<Float32Type>(batch.column_by_name("pose").unwrap().as_ref(), 1).unwrap();
    assert_eq!(shape, [2, 2, 18, 2]);
    assert_eq!(pose[1], 0.001);
    assert!(pose[36..72].iter().all(|&v| v == 0.0), "frame 0 has one person: the second is padding");
    assert_eq!(pose[108], 0.036, "frame 1, person 1");
    let (_, persons) =
        variable_shape_tensor_row::<Int32Type>(batch.column_by_name("num_persons").unwrap().as_ref(), 1).unwrap();
    assert_eq!(persons, [1, 2]);
    let rejects = one_batch(&out.join("rejects"));
    let r = std::slice::from_ref(&rejects);
    assert_eq!(ids(r, "sample"), ["bad_video_2"]);
    assert!(
        ids(r, "message")[0].starts_with("`data/kinetics_val/bad_video_2.json` line 2: column"),
        "{:?}",
        ids(r, "message")
    );
    assert_eq!(summary(&out)["rows"], 2);
}

// --------------------------------------------------------------- pyskl

#[test]
fn ingest_pyskl_reads_both_generations() {
    for generation in ["mmaction2_main", "mmaction2_0.x"] {
        let p = Project::new("[stages.k]\nuses = \"ingest.pyskl\"\ninputs = [\"data/sample.pkl\"]\n");
        let src = real_fixtures().join(format!("skeleton_pkl/{generation}/sample.pkl"));
        p.write("data/sample.pkl", std::fs::read(src).unwrap());
        let (engine, reports) = p.run();
        assert_eq!(reports[0].outcome, StageOutcome::Ran, "{reports:?}");
        let batch = one_batch(&out_dir(&engine, "k"));
        let b = std::slice::from_ref(&batch);
        assert_eq!(batch.num_rows(), 100);
        let sample_ids = ids(b, "sample_id");
        assert!(sample_ids.windows(2).all(|w| w[0] < w[1]), "sorted");
        let row = sample_ids.iter().position(|s| s == "jf7RDuUTrsQ").unwrap();
        assert_eq!(ints(b, "label")[row], Some(325));
        assert_eq!((ints(b, "img_height")[row], ints(b, "img_width")[row]), (Some(320), Some(570)));
        let other: serde_json::Value = serde_json::from_str(ids(b, "other")[row].as_str()).unwrap();
        assert_eq!(other["frame_inds"]["dtype"], "int16");
        assert_eq!(other["frame_inds"]["shape"][0], 260);
        let splits = batch.column_by_name("splits").unwrap().as_list::<i32>().value(row);
        let expected: &[&str] = if generation == "mmaction2_main" { &["train"] } else { &[] };
        assert_eq!(splits.as_string::<i32>().iter().map(|s| s.unwrap()).collect::<Vec<_>>(), expected);
        let (shape, _) =
            variable_shape_tensor_row::<Float32Type>(batch.column_by_name("keypoint").unwrap().as_ref(), row).unwrap();
        assert_eq!(shape, [0, 0, 0, 0]);
    }
}

#[test]
fn ingest_pyskl_skips_an_unreadable_file() {
    let p = Project::new(
        "[stages.k]\nuses = \"ingest.pyskl\"\ninputs = [\"data\"]\nparams = { on-error = \"skip\" }\n\n[stages.f]\nuses = \"ingest.pyskl\"\ninputs = [\"data\"]\n",
    );
    let src = real_fixtures().join("skeleton_pkl/mmaction2_main/sample.pkl");
    let bytes = std::fs::read(src).unwrap();
    p.write("data/a.pkl", &bytes);
    p.write("data/b.pkl", &bytes[..bytes.len() / 3]);
    let (engine, reports) = p.run();
    assert_eq!(reports.iter().find(|r| r.stage == "k").unwrap().outcome, StageOutcome::Ran);
    let StageOutcome::Failed { error, .. } = &reports.iter().find(|r| r.stage == "f").unwrap().outcome else {
        panic!()
    };
    assert!(error.starts_with("`data/b.pkl` byte "), "{error}");
    let out = out_dir(&engine, "k");
    assert_eq!(one_batch(&out).num_rows(), 100);
    let rejects = one_batch(&out.join("rejects"));
    assert_eq!(ids(std::slice::from_ref(&rejects), "file"), ["data/b.pkl"]);
}

/// An ingest whose inputs hold no file it reads is an error naming what it
/// ignored (a wrong `inputs` entry used to "run" and write 0 rows), unless
/// `allow-empty` says an empty table is wanted.
#[test]
fn ingest_that_reads_no_file_is_an_error_naming_the_ignored_files() {
    let p = Project::new(
        "[stages.wrong]\nuses = \"ingest.h36m\"\ninputs = [\"data\"]\n\n\
         [stages.empty]\nuses = \"ingest.h36m\"\ninputs = [\"data\"]\nparams = { allow-empty = true }\n\n\
         [stages.many]\nuses = \"ingest.ntu\"\ninputs = [\"more\"]\nparams = { dataset = \"ntu60\" }\n",
    );
    p.write("data/poses.json", "{}");
    for i in 0..7 {
        p.write(&format!("more/f{i}.txt"), "x");
    }
    let (engine, reports) = p.run();
    let failed = |stage: &str| match &reports.iter().find(|r| r.stage == stage).unwrap().outcome {
        StageOutcome::Failed { error, hint, .. } => (error.clone(), hint.clone().unwrap_or_default()),
        other => panic!("`{stage}`: {other:?}"),
    };
    let (error, hint) = failed("wrong");
    assert_eq!(
        error,
        "`ingest.h36m` read no file: it reads VideoPose3D `.npz` files (`data_3d_h36m.npz`, `data_2d_h36m_*.npz`), \
         and the inputs hold 1 file it ignored: `data/poses.json`"
    );
    assert!(hint.contains("allow-empty = true"), "{hint}");
    let (error, _) = failed("many");
    assert!(
        error.ends_with("`more/f0.txt`, `more/f1.txt`, `more/f2.txt`, `more/f3.txt`, `more/f4.txt`, and 2 more"),
        "{error}"
    );
    assert_eq!(reports.iter().find(|r| r.stage == "empty").unwrap().outcome, StageOutcome::Ran);
    let out = out_dir(&engine, "empty");
    assert_eq!(summary(&out)["rows"], 0);
    assert_eq!(summary(&out)["ignored_files"], 1);
}

/// The pickle that aborted `ingest.pyskl` with a stack overflow on its
/// worker thread: 100,000 nested lists.
#[test]
fn ingest_pyskl_of_a_deeply_nested_pickle_fails_cleanly() {
    let p = Project::new("[stages.k]\nuses = \"ingest.pyskl\"\ninputs = [\"data\"]\n");
    let mut bytes = b"\x80\x02".to_vec();
    bytes.extend(std::iter::repeat_n(b'(', 100_000));
    bytes.extend(std::iter::repeat_n(b'l', 100_000));
    bytes.push(b'.');
    p.write("data/deep.pkl", &bytes);
    let (_, reports) = p.run();
    let StageOutcome::Failed { error, .. } = &reports[0].outcome else { panic!("{:?}", reports[0]) };
    assert!(error.starts_with("`data/deep.pkl` byte "), "{error}");
    assert!(error.contains("nests containers more than 128 deep"), "{error}");
}

// ---------------------------------------------------------------- h36m

fn h36m_fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../actionbench-formats/tests/fixtures/h36m").join(name),
    )
    .unwrap()
}

#[test]
fn ingest_h36m_3d_and_2d() {
    let p = Project::new(
        r#"
[stages.pos3d]
uses = "ingest.h36m"
inputs = ["data/data_3d_h36m_tiny.npz"]

[stages.cpn]
uses = "ingest.h36m"
inputs = ["data/data_2d_h36m_tiny_cpn.npz"]

[stages.mixed]
uses = "ingest.h36m"
inputs = ["data"]
"#,
    );
    for f in ["data_3d_h36m_tiny.npz", "data_2d_h36m_tiny_cpn.npz"] {
        p.write(&format!("data/{f}"), h36m_fixture(f));
    }
    let (engine, reports) = p.run();
    let StageOutcome::Failed { error, .. } = &reports.iter().find(|r| r.stage == "mixed").unwrap().outcome else {
        panic!()
    };
    assert!(error.contains("ingest 3D and 2D files in separate stages"), "{error}");

    let batch = one_batch(&out_dir(&engine, "pos3d"));
    let b = std::slice::from_ref(&batch);
    assert_eq!(ids(b, "sample_id"), ["S1/Walking", "S1/Walking 1", "S11/Directions 1"]);
    assert_eq!(ids(b, "action_group"), ["Walking", "Walking", "Directions"]);
    assert_eq!(strings(b, "split"), [Some("train".into()), Some("train".into()), Some("test".into())]);
    assert_eq!(ints(b, "num_frames"), [Some(5), Some(4), Some(3)]);
    let (shape, pos) =
        variable_shape_tensor_row::<Float32Type>(batch.column_by_name("positions").unwrap().as_ref(), 2).unwrap();
    assert_eq!(shape, [3, 32, 3]);
    assert_eq!(pos[0], 11.0);

    let batch = one_batch(&out_dir(&engine, "cpn"));
    let b = std::slice::from_ref(&batch);
    assert_eq!(batch.num_rows(), 12);
    assert_eq!(ids(b, "sample_id")[0], "S1/Walking 1/54138969");
    assert_eq!(ids(b, "camera")[..4], ["54138969", "55011271", "58860488", "60457274"]);
    assert_eq!(ints(b, "camera_index")[..4], [Some(0), Some(1), Some(2), Some(3)]);
    assert_eq!(strings(b, "layout_name")[0].as_deref(), Some("h36m"));
    let (shape, _) =
        variable_shape_tensor_row::<Float32Type>(batch.column_by_name("keypoints").unwrap().as_ref(), 7).unwrap();
    assert_eq!(shape, [9, 17, 2], "S1/Walking camera 3");
}
