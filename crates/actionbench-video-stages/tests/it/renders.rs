//! `ingest.renders` on tiny render clips written here in the synthetic
//! render layout (clip.json, rgb.mp4, depth/normals/segmentation PNGs,
//! boxes.json, joints3d.json).

use std::path::{Path, PathBuf};

use actionbench_pipeline::{Engine, NoopReporter, PipelineDef, RunOptions, StageOutcome};
use actionbench_shards::read_all;
use actionbench_shards::tensor::variable_shape_tensor_row;
use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float32Type, UInt8Type, UInt16Type};

const W: u32 = 32;
const H: u32 = 24;
const T: usize = 3;

fn png(path: &Path, color: png::ColorType, depth: png::BitDepth, palette: Option<Vec<u8>>, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(std::fs::File::create(path).unwrap()), W, H);
    enc.set_color(color);
    enc.set_depth(depth);
    if let Some(p) = palette {
        enc.set_palette(p);
    }
    enc.write_header().unwrap().write_image_data(data).unwrap();
}

fn depth_at(f: usize, i: usize) -> u16 {
    (1000 + f * 100 + i) as u16
}

/// A clip with the given labels; person 1 covers the left half.
fn write_clip(root: &Path, id: &str, all: bool) -> PathBuf {
    let dir = root.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let mut v = actionbench_video::Mp4Writer::create(&dir.join("rgb.mp4"), W, H, 30).unwrap();
    for f in 0..T {
        let rgb: Vec<u8> = (0..W * H).flat_map(|i| [(i % 256) as u8, (f * 60) as u8, 90]).collect();
        v.push_rgb(&rgb).unwrap();
    }
    v.finish().unwrap();
    let n = (W * H) as usize;
    let person = |i: usize| u8::from((i % W as usize) < (W as usize / 2));
    if all {
        for f in 0..T {
            let name = format!("{f:06}.png");
            let d: Vec<u8> = (0..n).flat_map(|i| depth_at(f, i).to_be_bytes()).collect();
            png(&dir.join("depth").join(&name), png::ColorType::Grayscale, png::BitDepth::Sixteen, None, &d);
            let nm: Vec<u8> = (0..n).flat_map(|i| if person(i) == 1 { [128, 128, 255] } else { [0, 0, 0] }).collect();
            png(&dir.join("normals").join(&name), png::ColorType::Rgb, png::BitDepth::Eight, None, &nm);
            let s: Vec<u8> = (0..n).map(person).collect();
            png(
                &dir.join("segmentation").join(&name),
                png::ColorType::Indexed,
                png::BitDepth::Eight,
                Some(vec![0, 0, 0, 200, 50, 50]),
                &s,
            );
        }
        let names: Vec<String> = (0..25).map(|j| format!("joint{j}")).collect();
        let frames: Vec<serde_json::Value> = (0..T)
            .map(|f| {
                let joints: Vec<[f64; 3]> = (0..25).map(|j| [j as f64 * 0.01, f as f64, 3.0]).collect();
                serde_json::json!({"frame": f, "people": [{"person": 1, "joints": joints}]})
            })
            .collect();
        std::fs::write(
            dir.join("joints3d.json"),
            serde_json::json!({"joint_names": names, "frames": frames}).to_string(),
        )
        .unwrap();
    }
    let boxes: Vec<serde_json::Value> =
        (0..T).map(|f| serde_json::json!({"frame": f, "boxes": [{"person": 1, "xyxy": [0, 0, W / 2, H]}]})).collect();
    std::fs::write(dir.join("boxes.json"), serde_json::json!({"frames": boxes}).to_string()).unwrap();
    let clip = serde_json::json!({
        "clip_id": id, "action": "wave", "label": 4, "subject": 2, "camera": 1, "fps": 30,
        "width": W, "height": H, "num_frames": T,
        "intrinsics": {"fx": 30.0, "fy": 30.0, "cx": 16.0, "cy": 12.0},
        "labels": {"rgb": true, "depth": all, "normals": all, "segmentation": all, "boxes": true, "joints3d": all},
    });
    std::fs::write(dir.join("clip.json"), serde_json::to_string_pretty(&clip).unwrap()).unwrap();
    dir
}

fn table(dir: &Path) -> RecordBatch {
    let batches = read_all(dir).unwrap();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

#[test]
fn ingest_renders_reads_every_label_with_the_mask() {
    let project = tempfile::tempdir().unwrap();
    let root = project.path().join("data/renders");
    write_clip(&root, "c000_full", true);
    write_clip(&root, "c001_sparse", false);
    let broken = write_clip(&root, "c002_broken", true);
    std::fs::remove_file(broken.join("depth/000001.png")).unwrap();
    std::fs::create_dir_all(project.path().join("pipelines")).unwrap();
    std::fs::write(
        project.path().join("pipelines/p.toml"),
        r#"
[stages.skip]
uses = "ingest.renders"
inputs = ["data/renders"]
params = { frames = "raw", on-error = "skip" }

[stages.strict]
uses = "ingest.renders"
inputs = ["data/renders"]

[stages.videos]
uses = "ingest.video"
inputs = ["data/renders"]
params = { video-id = "parent", frames = "raw" }
"#,
    )
    .unwrap();
    let def = PipelineDef::load("p", project.path()).unwrap();
    let engine = Engine::new(def, actionbench_video_stages::registry(), None).unwrap();
    let reports = engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap();
    let outcome = |s: &str| &reports.iter().find(|r| r.stage == s).unwrap().outcome;
    assert_eq!(outcome("skip"), &StageOutcome::Ran, "{reports:?}");
    let StageOutcome::Failed { error, .. } = outcome("strict") else { panic!("{reports:?}") };
    assert!(error.starts_with("`data/renders/c002_broken/depth/000001.png`"), "{error}");

    // The same rgb.mp4 files through ingest.video, named by their folders.
    assert_eq!(outcome("videos"), &StageOutcome::Ran, "{reports:?}");
    let videos = table(&engine.cache().stage_dir(&engine.lock_file().unwrap().stages["videos"].key));
    let vids: Vec<&str> =
        videos.column_by_name("sample_id").unwrap().as_string::<i32>().iter().map(Option::unwrap).collect();
    assert_eq!(vids, ["c000_full/00000", "c001_sparse/00000", "c002_broken/00000"]);

    let out = engine.cache().stage_dir(&engine.lock_file().unwrap().stages["skip"].key);
    let t = table(&out);
    let ids: Vec<&str> = t.column_by_name("sample_id").unwrap().as_string::<i32>().iter().map(Option::unwrap).collect();
    assert_eq!(ids, ["c000_full", "c001_sparse"]);
    let flag =
        |c: &str| -> Vec<bool> { t.column_by_name(c).unwrap().as_boolean().iter().map(Option::unwrap).collect() };
    assert_eq!(flag("has_depth"), [true, false]);
    assert_eq!(flag("has_joints3d"), [true, false]);
    assert_eq!(flag("has_boxes"), [true, true]);
    assert_eq!(flag("has_rgb"), [true, true]);

    let col = |c: &str| t.column_by_name(c).unwrap().clone();
    let (shape, depth) = variable_shape_tensor_row::<UInt16Type>(col("depth").as_ref(), 0).unwrap();
    assert_eq!(shape, [T, H as usize, W as usize]);
    assert_eq!(depth[(W * H) as usize + 5], depth_at(1, 5), "frame 1 pixel 5, millimetres");
    let (shape, _) = variable_shape_tensor_row::<UInt16Type>(col("depth").as_ref(), 1).unwrap();
    assert_eq!(shape[0], 0, "absent depth is an empty tensor");
    let (shape, seg) = variable_shape_tensor_row::<UInt8Type>(col("segmentation").as_ref(), 0).unwrap();
    assert_eq!(shape, [T, H as usize, W as usize]);
    assert_eq!((seg[0], seg[W as usize - 1]), (1, 0), "palette indices, not colours");
    let (_, normals) = variable_shape_tensor_row::<UInt8Type>(col("normals").as_ref(), 0).unwrap();
    assert_eq!(normals[..3], [128, 128, 255]);
    let (shape, boxes) = variable_shape_tensor_row::<Float32Type>(col("boxes").as_ref(), 1).unwrap();
    assert_eq!(shape, [T, 6]);
    assert_eq!(boxes[6..12], [1.0, 1.0, 0.0, 0.0, (W / 2) as f32, H as f32]);
    let (shape, joints) = variable_shape_tensor_row::<Float32Type>(col("joints3d").as_ref(), 0).unwrap();
    assert_eq!(shape, [T, 1, 25, 3]);
    assert_eq!(joints[75 * 2 + 3 * 7..75 * 2 + 3 * 7 + 3], [0.07, 2.0, 3.0]);
    let (shape, rgb) = variable_shape_tensor_row::<UInt8Type>(col("rgb").as_ref(), 0).unwrap();
    assert_eq!(shape, [T, H as usize, W as usize, 3]);
    // Frame 2's green channel was 120 everywhere; H.264 keeps it close.
    let g: f64 = rgb[2 * (W * H * 3) as usize..].chunks(3).map(|p| p[1] as f64).sum::<f64>() / (W * H) as f64;
    assert!((g - 120.0).abs() < 6.0, "mean green {g}");

    let rejects = table(&out.join("rejects"));
    let msg = rejects.column_by_name("message").unwrap().as_string::<i32>().value(0).to_string();
    assert!(msg.contains("c002_broken/depth/000001.png"), "{msg}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("_ingest.json")).unwrap()).unwrap();
    assert_eq!(
        (summary["rows"].as_u64(), summary["with_depth"].as_u64(), summary["rejected"].as_u64()),
        (Some(2), Some(1), Some(1))
    );
}

/// `ingest.renders` cuts batches every `rows-per-shard` rows across its
/// read chunks: split into parts, the merge cuts them again as the single
/// run does, and adds up the parts' label counts and rejects.
#[test]
fn partitioned_renders_ingest_writes_the_single_runs_bytes() {
    let run = |partitions: &str| {
        let project = tempfile::tempdir().unwrap();
        let root = project.path().join("data/renders");
        for i in 0..8 {
            let dir = write_clip(&root, &format!("c{i:03}"), i % 3 != 1);
            if i == 5 {
                std::fs::remove_file(dir.join("depth/000001.png")).unwrap();
            }
        }
        std::fs::create_dir_all(project.path().join("pipelines")).unwrap();
        std::fs::write(
            project.path().join("pipelines/p.toml"),
            format!(
                "[stages.r]\nuses = \"ingest.renders\"\ninputs = [\"data/renders\"]\n\
                 params = {{ frames = \"raw\", on-error = \"skip\", rows-per-shard = 3 }}\n{partitions}\n"
            ),
        )
        .unwrap();
        let def = PipelineDef::load("p", project.path()).unwrap();
        let engine = Engine::new(def, actionbench_video_stages::registry(), None).unwrap();
        let reports = engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap();
        assert_eq!(reports[0].outcome, StageOutcome::Ran, "{reports:?}");
        let key = reports[0].key.unwrap();
        // The hash the engine took of every file of the output (`@cache`).
        let output = engine.lock_file().unwrap().stages["r"].outputs["@cache"];
        let dir = engine.cache().stage_dir(&key);
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("_ingest.json")).unwrap()).unwrap();
        (key, output, summary)
    };
    let (key, output, summary) = run("");
    assert_eq!((summary["rows"].as_u64(), summary["rejected"].as_u64()), (Some(7), Some(1)), "{summary}");
    for n in [2, 3, 5] {
        let (split_key, split_output, split_summary) = run(&format!("partitions = {n}"));
        assert_eq!(split_key, key, "partitions = {n}");
        assert_eq!(split_summary, summary, "partitions = {n}: the label counts and rejects");
        assert_eq!(split_output, output, "partitions = {n}: the output's files differ from the single run's");
    }
}

fn run_pipeline(project: &Path, toml: &str) -> (Engine, Vec<actionbench_pipeline::StageReport>) {
    std::fs::create_dir_all(project.join("pipelines")).unwrap();
    std::fs::write(project.join("pipelines/p.toml"), toml).unwrap();
    let def = PipelineDef::load("p", project).unwrap();
    let engine = Engine::new(def, actionbench_video_stages::registry(), None).unwrap();
    let reports = engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap();
    (engine, reports)
}

fn strings(t: &RecordBatch, c: &str) -> Vec<Option<String>> {
    t.column_by_name(c).unwrap().as_string::<i32>().iter().map(|s| s.map(str::to_string)).collect()
}

fn ints(t: &RecordBatch, c: &str) -> Vec<Option<i32>> {
    t.column_by_name(c).unwrap().as_primitive::<arrow::datatypes::Int32Type>().iter().collect()
}

/// The layout scene's clip.json splits become columns, and its object's
/// box a row with the object's segmentation id.
#[test]
fn layout_splits_become_columns() {
    let project = tempfile::tempdir().unwrap();
    let (engine, reports) = run_pipeline(
        project.path(),
        r#"
[stages.data]
uses = "synth"
params = { preset = "tiny", seed = 5, formats = ["renders"], render-clips = 8, render-scene = "layout", real-fraction = 0.5 }

[stages.renders]
uses = "ingest.renders"
inputs = ["@data"]
params = { frames = "raw" }
"#,
    );
    assert!(reports.iter().all(|r| r.outcome == StageOutcome::Ran), "{reports:?}");
    let lock = engine.lock_file().unwrap();
    let data = engine.cache().stage_dir(&lock.stages["data"].key).join("renders");
    let t = table(&engine.cache().stage_dir(&lock.stages["renders"].key));
    assert_eq!(t.num_rows(), 8);
    let ids = strings(&t, "sample_id");
    for (row, id) in ids.iter().enumerate() {
        let clip: serde_json::Value =
            serde_json::from_slice(&std::fs::read(data.join(id.as_ref().unwrap()).join("clip.json")).unwrap()).unwrap();
        let text = |c: &str| clip[c].as_str().map(str::to_string);
        let int = |c: &str| clip[c].as_i64().map(|v| v as i32);
        for c in ["domain", "object", "composition", "source"] {
            assert_eq!(strings(&t, c)[row], text(c), "{id:?} {c}");
        }
        for c in ["object_label", "shot"] {
            assert_eq!(ints(&t, c)[row], int(c), "{id:?} {c}");
        }
        for c in ["task", "dataset", "split"] {
            assert_eq!(strings(&t, c)[row], None, "{id:?} {c}: not a layout field");
        }
    }
    let domain = strings(&t, "domain");
    assert_eq!(domain.iter().filter(|d| d.as_deref() == Some("real")).count(), 4);
    let shots = ints(&t, "shot");
    let on_real = shots.iter().zip(&domain).filter(|(s, d)| s.is_some() == (d.as_deref() == Some("real")));
    assert_eq!(on_real.count(), 8, "shots exactly on real clips");
    let boxes = t.column_by_name("boxes").unwrap();
    let objects: usize = (0..8)
        .map(|r| {
            variable_shape_tensor_row::<Float32Type>(boxes.as_ref(), r)
                .unwrap()
                .1
                .chunks(6)
                .filter(|b| b[1] == 2.0)
                .count()
        })
        .sum();
    assert!(objects > 0, "the objects source's clips hold object boxes");
}

/// Actions-scene clips have null splits; a split of the wrong type is the
/// clip's error, naming the field.
#[test]
fn split_fields_are_null_or_typed() {
    let project = tempfile::tempdir().unwrap();
    let root = project.path().join("data/renders");
    write_clip(&root, "c000_actions", false);
    for (id, field, value) in
        [("c001_shot", "shot", serde_json::json!("three")), ("c002_domain", "domain", serde_json::json!(1))]
    {
        let dir = write_clip(&root, id, false);
        let mut clip: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("clip.json")).unwrap()).unwrap();
        clip[field] = value;
        std::fs::write(dir.join("clip.json"), clip.to_string()).unwrap();
    }
    let (engine, reports) = run_pipeline(
        project.path(),
        r#"
[stages.skip]
uses = "ingest.renders"
inputs = ["data/renders"]
params = { on-error = "skip" }

[stages.strict]
uses = "ingest.renders"
inputs = ["data/renders"]
"#,
    );
    let outcome = |s: &str| &reports.iter().find(|r| r.stage == s).unwrap().outcome;
    let StageOutcome::Failed { error, .. } = outcome("strict") else { panic!("{reports:?}") };
    assert!(error.contains("c001_shot/clip.json`: `shot` must be a 32-bit integer or null, got \"three\""), "{error}");
    assert_eq!(outcome("skip"), &StageOutcome::Ran);
    let out = engine.cache().stage_dir(&engine.lock_file().unwrap().stages["skip"].key);
    let t = table(&out);
    assert_eq!(strings(&t, "sample_id"), [Some("c000_actions".to_string())]);
    for c in ["domain", "object", "composition", "source", "task", "dataset", "split"] {
        assert_eq!(strings(&t, c), [None], "{c}");
    }
    assert_eq!((ints(&t, "object_label"), ints(&t, "shot")), (vec![None], vec![None]));
    let rejects = table(&out.join("rejects"));
    let msgs = strings(&rejects, "message");
    assert!(msgs.iter().flatten().any(|m| m.contains("`domain` must be a string or null, got 1")), "{msgs:?}");
}

/// The gestures scene's clip.json `task`, `dataset` and `split` become
/// columns, filled on every row; the layout scene's columns stay null.
#[test]
fn gestures_task_dataset_and_split_become_columns() {
    let project = tempfile::tempdir().unwrap();
    let (engine, reports) = run_pipeline(
        project.path(),
        r#"
[stages.data]
uses = "synth"
params = { preset = "tiny", seed = 2, formats = ["renders"], render-clips = 12, render-scene = "gestures" }

[stages.renders]
uses = "ingest.renders"
inputs = ["@data"]
params = { frames = "raw" }
"#,
    );
    assert!(reports.iter().all(|r| r.outcome == StageOutcome::Ran), "{reports:?}");
    let lock = engine.lock_file().unwrap();
    let data = engine.cache().stage_dir(&lock.stages["data"].key).join("renders");
    let t = table(&engine.cache().stage_dir(&lock.stages["renders"].key));
    assert_eq!(t.num_rows(), 12);
    let ids = strings(&t, "sample_id");
    let (task, dataset, split) = (strings(&t, "task"), strings(&t, "dataset"), strings(&t, "split"));
    for (row, id) in ids.iter().enumerate() {
        let clip: serde_json::Value =
            serde_json::from_slice(&std::fs::read(data.join(id.as_ref().unwrap()).join("clip.json")).unwrap()).unwrap();
        for (c, column) in [("task", &task), ("dataset", &dataset), ("split", &split)] {
            assert!(column[row].is_some(), "{id:?} {c} is filled");
            assert_eq!(column[row].as_deref(), clip[c].as_str(), "{id:?} {c}");
        }
        assert_eq!(ints(&t, "label")[row], clip["label"].as_i64().map(|v| v as i32));
        assert_eq!(strings(&t, "action")[row].as_deref(), clip["action"].as_str());
        for c in ["domain", "object", "composition", "source"] {
            assert_eq!(strings(&t, c)[row], None, "{id:?} {c}");
        }
    }
    let datasets: Vec<&str> = dataset.iter().map(|d| d.as_deref().unwrap()).collect();
    assert_eq!(datasets[..3], ["actions", "gestures", "ntu"]);
    let tasks: std::collections::BTreeSet<&str> = task.iter().map(|d| d.as_deref().unwrap()).collect();
    assert_eq!(tasks, ["action", "gesture"].into());
    let splits: std::collections::BTreeSet<&str> = split.iter().map(|d| d.as_deref().unwrap()).collect();
    assert_eq!(splits, ["test", "train"].into());
}
