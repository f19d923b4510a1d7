//! `ingest.video` and `ingest.labels` through the engine, on the real video
//! and label fixtures (the repository's fixtures/real).

use std::path::{Path, PathBuf};

use actionbench_pipeline::{Engine, NoopReporter, PipelineDef, RunOptions, StageOutcome, StageReport};
use actionbench_shards::read_all;
use actionbench_shards::tensor::variable_shape_tensor_row;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int32Type, Int64Type, UInt8Type};

fn real(rel: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/real").join(rel);
    assert!(p.is_file(), "fixture {} is missing", p.display());
    p
}

struct Project(tempfile::TempDir);

impl Project {
    fn new(pipeline: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
        std::fs::write(dir.path().join("pipelines/p.toml"), pipeline).unwrap();
        Project(dir)
    }

    fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let path = self.0.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn copy(&self, fixture: &str, rel: &str) {
        self.write(rel, std::fs::read(real(fixture)).unwrap());
    }

    fn run(&self) -> (Engine, Vec<StageReport>) {
        let def = PipelineDef::load("p", self.0.path()).unwrap();
        let engine = Engine::new(def, actionbench_video_stages::registry(), None).unwrap();
        let reports = engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap();
        (engine, reports)
    }
}

fn out_dir(engine: &Engine, stage: &str) -> PathBuf {
    let key = engine.lock_file().unwrap().stages[stage].key;
    engine.cache().stage_dir(&key)
}

fn outcome<'a>(reports: &'a [StageReport], stage: &str) -> &'a StageOutcome {
    &reports.iter().find(|r| r.stage == stage).unwrap().outcome
}

fn table(dir: &Path) -> RecordBatch {
    let batches = read_all(dir).unwrap();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn strs(b: &RecordBatch, c: &str) -> Vec<Option<String>> {
    b.column_by_name(c).unwrap().as_string::<i32>().iter().map(|s| s.map(str::to_string)).collect()
}

fn i32s(b: &RecordBatch, c: &str) -> Vec<i32> {
    b.column_by_name(c).unwrap().as_primitive::<Int32Type>().values().to_vec()
}

fn i64s(b: &RecordBatch, c: &str) -> Vec<Option<i64>> {
    b.column_by_name(c).unwrap().as_primitive::<Int64Type>().iter().collect()
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("_ingest.json")).unwrap()).unwrap()
}

#[test]
fn ingest_video_both_fixtures_as_jpeg_clips() {
    let p = Project::new(
        r#"
[stages.videos]
uses = "ingest.video"
inputs = ["data/videos"]
params = { fps = 10.0, clip-len = 16, short-side = 128, jpeg-quality = 80, parallel = 2 }
"#,
    );
    p.copy("video/mmaction2/test.mp4", "data/videos/a_mp4.mp4");
    p.copy("video/mmaction2/test.avi", "data/videos/b_avi.avi");
    let (engine, reports) = p.run();
    assert_eq!(outcome(&reports, "videos"), &StageOutcome::Ran, "{reports:?}");
    let out = out_dir(&engine, "videos");
    let t = table(&out);
    let ids = strs(&t, "video_id");
    let mp4_rows = ids.iter().filter(|v| v.as_deref() == Some("a_mp4")).count();
    assert_eq!(mp4_rows, 6, "300 frames at 30 fps → 100 at 10 fps → six 16-frame clips");
    let avi_rows = ids.len() - mp4_rows;
    assert!(avi_rows >= 1);
    let sample_ids: Vec<String> = strs(&t, "sample_id").into_iter().map(Option::unwrap).collect();
    let mut sorted = sample_ids.clone();
    sorted.sort();
    assert_eq!(sample_ids, sorted);
    assert_eq!(sample_ids[..2], ["a_mp4/00000".to_string(), "a_mp4/00001".to_string()]);
    assert_eq!(i32s(&t, "width")[0], 170);
    assert_eq!(i32s(&t, "height")[0], 128);
    assert_eq!(i32s(&t, "width")[6], 171, "320x240 → 171x128 (rounded)");
    assert!(i32s(&t, "num_frames")[..6].iter().all(|&n| n == 16));
    assert_eq!(i64s(&t, "start_frame")[1], Some(48));
    assert_eq!(strs(&t, "codec")[0].as_deref(), Some("h264"));
    assert_eq!(strs(&t, "codec")[6].as_deref(), Some("mpeg4"));
    let hash = actionbench_core::hash_file(&real("video/mmaction2/test.mp4")).unwrap().to_hex();
    assert_eq!(strs(&t, "source_blake3")[0].as_deref(), Some(hash.as_str()));
    assert_eq!(strs(&t, "source_file")[0].as_deref(), Some("data/videos/a_mp4.mp4"));
    // frames: list<binary> of decodable JPEGs of the stated size.
    let frames = t.column_by_name("frames").unwrap().as_list::<i32>();
    let clip0 = frames.value(0);
    let jpegs = clip0.as_binary::<i32>();
    assert_eq!(jpegs.len(), 16);
    let (px, w, h) = actionbench_video::decode_jpeg(jpegs.value(3)).unwrap();
    assert_eq!((w, h, px.len()), (170, 128, 170 * 128 * 3));
    let s = summary(&out);
    assert_eq!(s["videos"], 2);
    assert_eq!(s["rows"].as_u64().unwrap() as usize, 6 + avi_rows);
    assert!(s["libav"].as_str().unwrap().contains("libavcodec"));

    // Re-run: cached; pyarrow reads the table (list<binary> frames).
    let (_, again) = p.run();
    assert_eq!(outcome(&again, "videos"), &StageOutcome::Cached);
    let script = format!(
        "import pyarrow.dataset as ds\nt = ds.dataset('{}', format='parquet').to_table()\nprint(t.num_rows, len(t.column('frames')[0]), bytes(t.column('frames')[0][0].as_py()[:2]).hex())",
        out.display()
    );
    let py = std::process::Command::new("python3").arg("-c").arg(script).output().expect("python3 is required");
    assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
    assert_eq!(String::from_utf8_lossy(&py.stdout).trim(), format!("{} 16 ffd8", 6 + avi_rows));
}

#[test]
fn ingest_video_raw_frames_are_uint8_tensors() {
    let p = Project::new(
        r#"
[stages.raw]
uses = "ingest.video"
inputs = ["data/v.mp4"]
params = { fps = 2.0, clip-len = 4, clip-stride = 8, short-side = 64, crop = "center", frames = "raw" }
"#,
    );
    p.copy("video/mmaction2/test.mp4", "data/v.mp4");
    let (engine, reports) = p.run();
    assert_eq!(outcome(&reports, "raw"), &StageOutcome::Ran, "{reports:?}");
    let t = table(&out_dir(&engine, "raw"));
    // 20 sampled frames at 2 fps; clips start at 0 and 8 and 16 → 16+4 = 20 fits: 3 clips.
    assert_eq!(t.num_rows(), 3);
    assert_eq!(i64s(&t, "start_frame"), [Some(0), Some(120), Some(240)]);
    let (shape, data) =
        variable_shape_tensor_row::<UInt8Type>(t.column_by_name("frames").unwrap().as_ref(), 1).unwrap();
    assert_eq!(shape, [4, 64, 64, 3]);
    assert_eq!(data.len(), 4 * 64 * 64 * 3);
    assert!(data.iter().any(|&v| v != data[0]));
}

#[test]
fn ingest_video_skips_bad_videos_into_rejects_or_fails_naming_them() {
    let pipeline = r#"
[stages.skip]
uses = "ingest.video"
inputs = ["data/videos"]
params = { fps = 5.0, clip-len = 8, on-error = "skip" }

[stages.strict]
uses = "ingest.video"
inputs = ["data/videos"]
params = { fps = 5.0, clip-len = 8 }
"#;
    let p = Project::new(pipeline);
    p.copy("video/mmaction2/test.mp4", "data/videos/good.mp4");
    let avi = std::fs::read(real("video/mmaction2/test.avi")).unwrap();
    p.write("data/videos/cut.avi", &avi[..avi.len() / 2]);
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let junk: Vec<u8> = (0..20_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    p.write("data/videos/junk.mp4", junk);
    let (engine, reports) = p.run();
    assert_eq!(outcome(&reports, "skip"), &StageOutcome::Ran, "{reports:?}");
    let StageOutcome::Failed { error, hint, .. } = outcome(&reports, "strict") else { panic!("{reports:?}") };
    assert!(error.starts_with("`data/videos/cut.avi` packet "), "{error}");
    assert!(hint.as_deref().is_some_and(|h| h.contains("--on-error skip")), "{hint:?}");

    let out = out_dir(&engine, "skip");
    let t = table(&out);
    assert!(strs(&t, "video_id").iter().all(|v| v.as_deref() == Some("good")));
    assert_eq!(t.num_rows(), 6, "50 frames at 5 fps → six 8-frame clips");
    let rejects = table(&out.join("rejects"));
    assert_eq!(strs(&rejects, "sample"), [Some("cut".into()), Some("junk".into())]);
    let messages = strs(&rejects, "message");
    assert!(messages[0].as_deref().unwrap().contains("data/videos/cut.avi` packet"), "{messages:?}");
    assert!(messages[1].as_deref().unwrap().contains("data/videos/junk.mp4"), "{messages:?}");
    assert_eq!(summary(&out)["rejected"], 2);
}

#[test]
fn ingest_video_joins_a_ucf101_list() {
    let p = Project::new(
        r#"
[stages.ucf]
uses = "ingest.video"
inputs = ["data/UCF-101", "data/testlist01.txt", "data/classes.txt"]
params = { fps = 1.0, labels = "data/testlist01.txt", label-format = "ucf101-list", classes = "data/classes.txt" }
"#,
    );
    p.copy("video/mmaction2/test.avi", "data/UCF-101/Archery/v_Archery_g01_c01.avi");
    p.copy("video/mmaction2/test.mp4", "data/UCF-101/HandstandPushups/v_HandStandPushups_g01_c02.mp4");
    p.copy("video/mmaction2/test.mp4", "data/UCF-101/Basketball/v_Basketball_g01_c01.mp4");
    p.copy("label_maps/ucf101/label_map.txt", "data/classes.txt");
    // CRLF, no labels (testlist), folder case differs from the class list; one listed video is absent.
    p.write(
        "data/testlist01.txt",
        "Archery/v_Archery_g01_c01.avi\r\nHandstandPushups/v_HandStandPushups_g01_c02.avi\r\nBiking/v_Biking_g01_c01.avi\r\n",
    );
    let (engine, reports) = p.run();
    assert_eq!(outcome(&reports, "ucf"), &StageOutcome::Ran, "{reports:?}");
    let out = out_dir(&engine, "ucf");
    let t = table(&out);
    assert_eq!(
        strs(&t, "sample_id"),
        [Some("v_Archery_g01_c01/00000".into()), Some("v_HandStandPushups_g01_c02/00000".into())]
    );
    let classes: Vec<String> =
        std::fs::read_to_string(real("label_maps/ucf101/label_map.txt")).unwrap().lines().map(str::to_string).collect();
    let idx = |n: &str| classes.iter().position(|c| c == n).unwrap() as i64;
    assert_eq!(i64s(&t, "label"), [Some(idx("Archery")), Some(idx("HandstandPushups"))]);
    assert_eq!(strs(&t, "label_name")[1].as_deref(), Some("HandstandPushups"));
    assert_eq!(i32s(&t, "num_frames")[1], 10, "10 s at 1 fps, whole video as one clip");
    let s = summary(&out);
    assert_eq!((s["unlisted_videos"].as_u64(), s["labels_without_video"].as_u64()), (Some(1), Some(1)));
}

#[test]
fn ingest_labels_reads_something_else_kinetics_diving48() {
    let p = Project::new(
        r#"
[stages.sth]
uses = "ingest.labels"
inputs = ["data/sth/finetune_5shot_training.json", "data/sth/labels.json"]
params = { format = "sth-items", classes = "data/sth/labels.json" }

[stages.kinetics]
uses = "ingest.labels"
inputs = ["data/k400/val.csv", "data/k400/label_name.txt"]
params = { format = "kinetics-csv", classes = "data/k400/label_name.txt" }

[stages.diving]
uses = "ingest.labels"
inputs = ["data/diving/Diving48_V2_test.json", "data/diving/label_map.txt"]
params = { format = "diving48", classes = "data/diving/label_map.txt" }

[stages.bad]
uses = "ingest.labels"
inputs = ["data/bad.csv"]
params = { format = "kinetics-csv" }
"#,
    );
    p.copy("something_else/fewshot/finetune_5shot_training.json", "data/sth/finetune_5shot_training.json");
    p.copy("something_else/compositional/labels.json", "data/sth/labels.json");
    p.copy("label_maps/kinetics400/label_name.txt", "data/k400/label_name.txt");
    p.write(
        "data/k400/val.csv",
        "label,youtube_id,time_start,time_end,split\n\"air drumming\",--07WQ2iBlw,1,11,val\nabseiling,0347ZoDXyP0,25,35,val\n",
    );
    p.copy("label_maps/diving48/label_map.txt", "data/diving/label_map.txt");
    p.write(
        "data/diving/Diving48_V2_test.json",
        r#"[{"vid_name": "-mmq0PT-u8k_00155", "label": 33, "start_frame": 0, "end_frame": 58},
            {"vid_name": "-mmq0PT-u8k_00156", "label": 0, "start_frame": 0, "end_frame": 61}]"#,
    );
    p.write("data/bad.csv", "label,youtube_id,time_start,time_end,split\nabseiling,x,1.5,11,train\n");
    let (engine, reports) = p.run();
    for s in ["sth", "kinetics", "diving"] {
        assert_eq!(outcome(&reports, s), &StageOutcome::Ran, "{reports:?}");
    }
    let StageOutcome::Failed { error, .. } = outcome(&reports, "bad") else { panic!("{reports:?}") };
    assert!(error.contains("`data/bad.csv` line 2") && error.contains("1.5"), "{error}");

    // Something-Else few-shot items with the compositional labels.json (template → integer id).
    let labels: std::collections::BTreeMap<String, i64> =
        serde_json::from_str(&std::fs::read_to_string(real("something_else/compositional/labels.json")).unwrap())
            .unwrap();
    let items: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(real("something_else/fewshot/finetune_5shot_training.json")).unwrap(),
    )
    .unwrap();
    let t = table(&out_dir(&engine, "sth"));
    assert_eq!(t.num_rows(), items.len());
    let ids = strs(&t, "sample_id");
    let row = ids.iter().position(|s| s.as_deref() == Some("44745")).unwrap();
    assert_eq!(strs(&t, "label_name")[row].as_deref(), Some("Stuffing something into something"));
    assert_eq!(i64s(&t, "label")[row], Some(labels["Stuffing something into something"]));
    let ph = t.column_by_name("placeholders").unwrap().as_list::<i32>().value(row);
    let ph: Vec<&str> = ph.as_string::<i32>().iter().map(Option::unwrap).collect();
    assert_eq!(ph, ["pill boxes", "pill bag"]);

    let t = table(&out_dir(&engine, "kinetics"));
    assert_eq!(
        strs(&t, "sample_id"),
        [Some("--07WQ2iBlw_000001_000011".into()), Some("0347ZoDXyP0_000025_000035".into())]
    );
    assert_eq!(i64s(&t, "label"), [Some(1), Some(0)], "ids are line indices of label_name.txt");
    assert_eq!(strs(&t, "split")[0].as_deref(), Some("val"));

    let t = table(&out_dir(&engine, "diving"));
    let names: Vec<String> = std::fs::read_to_string(real("label_maps/diving48/label_map.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(strs(&t, "label_name")[0].as_deref(), Some(names[33].as_str()));
    assert_eq!(i64s(&t, "segment_end"), [Some(58), Some(61)]);
}

/// A tiny generated video (32×32, `frames` frames at 4 fps; mp4 inside
/// whatever the name says, which FFmpeg finds by probing).
fn tiny_video(p: &Project, rel: &str, frames: usize) {
    let path = p.0.path().join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = actionbench_video::Mp4Writer::create(&path, 32, 32, 4).unwrap();
    for f in 0..frames {
        w.push_rgb(&vec![(40 * f) as u8; 32 * 32 * 3]).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn ingest_video_joins_an_isogd_list() {
    let p = Project::new(
        r#"
[stages.isogd]
uses = "ingest.video"
inputs = ["data/isogd/train", "data/isogd/train_list.txt"]
params = { labels = "data/isogd/train_list.txt", label-format = "isogd-list" }

[stages.valid_labels]
uses = "ingest.labels"
inputs = ["data/isogd/valid_list.txt", "data/isogd/classes.txt"]
params = { format = "isogd-list", classes = "data/isogd/classes.txt" }

[stages.test_labels]
uses = "ingest.labels"
inputs = ["data/isogd/test_list.txt"]
params = { format = "isogd-list" }

[stages.frame_list]
uses = "ingest.labels"
inputs = ["data/isogd/frames.txt"]
params = { format = "isogd-list" }
"#,
    );
    // RGB (M_) and depth (K_) videos; the list names both, the RGB one is the video.
    for id in ["00001", "00002"] {
        tiny_video(&p, &format!("data/isogd/train/001/M_{id}.avi"), 3);
        tiny_video(&p, &format!("data/isogd/train/001/K_{id}.avi"), 3);
    }
    p.write(
        "data/isogd/train_list.txt",
        "train/001/M_00001.avi train/001/K_00001.avi 10\r\ntrain/001/M_00002.avi train/001/K_00002.avi 249\r\n\
         train/001/M_00003.avi train/001/K_00003.avi 1\r\n",
    );
    p.write("data/isogd/valid_list.txt", "valid/001/M_00001.avi valid/001/K_00001.avi 2\n");
    p.write("data/isogd/classes.txt", "swipe left\nswipe right\ncircle\n");
    p.write("data/isogd/test_list.txt", "test/001/M_00001.avi test/001/K_00001.avi\n");
    p.write("data/isogd/frames.txt", "train/001/M_00001 37 9\n");
    let (engine, reports) = p.run();
    for s in ["isogd", "valid_labels", "test_labels"] {
        assert_eq!(outcome(&reports, s), &StageOutcome::Ran, "{reports:?}");
    }
    let StageOutcome::Failed { error, hint, .. } = outcome(&reports, "frame_list") else { panic!("{reports:?}") };
    assert!(error.starts_with("`data/isogd/frames.txt` line 1: the second field `37`"), "{error}");
    assert!(hint.as_deref().is_some_and(|h| h.contains("frame list")), "{hint:?}");

    let out = out_dir(&engine, "isogd");
    let t = table(&out);
    assert_eq!(strs(&t, "sample_id"), [Some("M_00001/00000".into()), Some("M_00002/00000".into())]);
    assert_eq!(i64s(&t, "label"), [Some(9), Some(248)], "IsoGD's 1-based labels, stored 0-based");
    assert_eq!(strs(&t, "label_name"), [Some("class_9".into()), Some("class_248".into())]);
    assert_eq!(strs(&t, "split"), [Some("train".into()), Some("train".into())]);
    assert!(t.column_by_name("subject").is_none(), "NTU columns only with ntu-names");
    let s = summary(&out);
    assert_eq!((s["unlisted_videos"].as_u64(), s["labels_without_video"].as_u64()), (Some(2), Some(1)));

    let t = table(&out_dir(&engine, "valid_labels"));
    assert_eq!((i64s(&t, "label"), strs(&t, "label_name")), (vec![Some(1)], vec![Some("swipe right".into())]));
    let t = table(&out_dir(&engine, "test_labels"));
    assert_eq!((strs(&t, "sample_id"), i64s(&t, "label")), (vec![Some("M_00001".into())], vec![None]));
    assert_eq!(strs(&t, "split"), [Some("test".into())]);
}

#[test]
fn ingest_video_labels_ntu_videos_by_their_names() {
    let p = Project::new(
        r#"
[stages.ntu]
uses = "ingest.video"
inputs = ["data/ntu/nturgb+d_rgb", "data/ntu/label_map.txt"]
params = { label-format = "ntu-names", classes = "data/ntu/label_map.txt" }

[stages.listed]
uses = "ingest.video"
inputs = ["data/ntu/nturgb+d_rgb", "data/ntu/names.txt"]
params = { labels = "data/ntu/names.txt", label-format = "ntu-names" }

[stages.names]
uses = "ingest.labels"
inputs = ["data/ntu/names.txt"]
params = { format = "ntu-names" }

[stages.mixed]
uses = "ingest.video"
inputs = ["data/mixed"]
params = { label-format = "ntu-names", on-error = "skip" }

[stages.mixed_strict]
uses = "ingest.video"
inputs = ["data/mixed"]
params = { label-format = "ntu-names" }
"#,
    );
    tiny_video(&p, "data/ntu/nturgb+d_rgb/S001C002P003R002A013_rgb.avi", 2);
    tiny_video(&p, "data/ntu/nturgb+d_rgb/S018C001P045R001A061_rgb.avi", 2);
    p.copy("ntu/pyskl/nturgbd_120.txt", "data/ntu/label_map.txt");
    // As `ls` prints it; the second video is not listed, one listed video is absent.
    p.write("data/ntu/names.txt", "S001C002P003R002A013_rgb.avi\nS002C003P008R001A120_rgb.avi\n");
    tiny_video(&p, "data/mixed/S001C001P001R001A001_rgb.avi", 2);
    tiny_video(&p, "data/mixed/clip_7.avi", 2);
    let (engine, reports) = p.run();
    for s in ["ntu", "listed", "names", "mixed"] {
        assert_eq!(outcome(&reports, s), &StageOutcome::Ran, "{reports:?}");
    }
    let StageOutcome::Failed { error, hint, .. } = outcome(&reports, "mixed_strict") else { panic!("{reports:?}") };
    assert!(error.starts_with("`data/mixed/clip_7.avi`: video id `clip_7` is not an NTU RGB+D video name"), "{error}");
    assert!(hint.as_deref().is_some_and(|h| h.contains("S001C002P003R002A013_rgb.avi")), "{hint:?}");

    let names: Vec<String> =
        std::fs::read_to_string(real("ntu/pyskl/nturgbd_120.txt")).unwrap().lines().map(str::to_string).collect();
    let t = table(&out_dir(&engine, "ntu"));
    assert_eq!(
        strs(&t, "video_id"),
        [Some("S001C002P003R002A013_rgb".into()), Some("S018C001P045R001A061_rgb".into())]
    );
    assert_eq!(i64s(&t, "label"), [Some(12), Some(60)]);
    assert_eq!(strs(&t, "label_name"), [Some(names[12].clone()), Some(names[60].clone())]);
    let opt_i32s = |b: &RecordBatch, c: &str| -> Vec<Option<i32>> {
        b.column_by_name(c).unwrap().as_primitive::<Int32Type>().iter().collect()
    };
    for (column, values) in
        [("setup", [1, 18]), ("camera", [2, 1]), ("subject", [3, 45]), ("replication", [2, 1]), ("action", [13, 61])]
    {
        assert_eq!(opt_i32s(&t, column), values.map(Some), "{column}");
    }
    // Performer 3 is an NTU120 (and NTU60) cross-subject test subject, 45 a training one.
    let split = |a: &str, b: &str| vec![Some(a.to_string()), Some(b.to_string())];
    assert_eq!(strs(&t, "xsub"), split("val", "train"));
    assert_eq!(strs(&t, "xview"), split("train", "val"));
    assert_eq!(strs(&t, "xset"), split("val", "train"));

    let out = out_dir(&engine, "listed");
    let t = table(&out);
    assert_eq!(
        (strs(&t, "video_id"), i64s(&t, "label")),
        (vec![Some("S001C002P003R002A013_rgb".into())], vec![Some(12)])
    );
    assert_eq!((strs(&t, "label_name"), opt_i32s(&t, "subject")), (vec![None], vec![Some(3)]));
    let s = summary(&out);
    assert_eq!((s["unlisted_videos"].as_u64(), s["labels_without_video"].as_u64()), (Some(1), Some(1)));

    let t = table(&out_dir(&engine, "names"));
    assert_eq!(strs(&t, "sample_id"), split("S001C002P003R002A013_rgb", "S002C003P008R001A120_rgb"));
    assert_eq!(i64s(&t, "label"), [Some(12), Some(119)]);
    assert_eq!((opt_i32s(&t, "subject"), strs(&t, "xsub")), (vec![Some(3), Some(8)], split("val", "train")));

    let out = out_dir(&engine, "mixed");
    assert_eq!(strs(&table(&out), "video_id"), [Some("S001C001P001R001A001_rgb".into())]);
    let rejects = table(&out.join("rejects"));
    assert_eq!(strs(&rejects, "sample"), [Some("clip_7".into())]);
}
