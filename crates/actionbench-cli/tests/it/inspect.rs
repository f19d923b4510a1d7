//! `actionbench inspect` on the real fixtures, generated files and bad input.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

use crate::harness::Project;

/// The repository's real fixture files (`fixtures/real/`, provenance in its
/// `SOURCES.md`).
fn real_fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/real")
}

fn real(rel: &str) -> String {
    real_fixtures().join(rel).display().to_string()
}

fn formats_fixture(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../actionbench-formats/tests/fixtures")
        .join(rel)
        .display()
        .to_string()
}

fn json(p: &Project, args: &[&str]) -> Value {
    let mut all = vec!["inspect"];
    all.extend_from_slice(args);
    all.extend(["--format", "json"]);
    let r = p.ok(&all);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", r.stdout))
}

#[test]
fn inspect_phalp_joblib_and_pyskl_pickles() {
    let p = Project::new();
    let v = json(&p, &[&real("phalp/gt_tracks.pkl")]);
    let frames = v.as_object().unwrap();
    assert_eq!(frames.len(), 263);
    let bbox = &v["000001.jpg"]["gt_bbox"];
    assert_eq!(bbox["dtype"], "float32");
    assert_eq!(bbox["shape"], serde_json::json!([5, 4]));
    assert_eq!(bbox["data"][0], 587.50494);
    assert_eq!(bbox["data"].as_array().unwrap().len(), 20);
    assert_eq!(v["000001.jpg"]["extra_data"]["gt_track_id"]["data"], serde_json::json!([1, 2, 3, 4, 5]));

    let v = json(&p, &[&real("skeleton_pkl/mmaction2_main/sample.pkl")]);
    let first = &v["annotations"][0];
    assert_eq!(first["frame_dir"], "jf7RDuUTrsQ");
    assert_eq!(first["img_shape"], serde_json::json!([320, 570]));
    assert_eq!(first["frame_inds"]["dtype"], "int16");
    assert_eq!(first["valid"]["0.5"], 150);

    // The outline for people abbreviates long containers.
    let r = p.ok(&["inspect", &real("skeleton_pkl/mmaction2_0.x/sample.pkl"), "--max-items", "2"]);
    assert!(r.stdout.contains("list (100 items)"), "{}", r.stdout);
    assert!(
        r.stdout.contains("\"box_score\": ndarray float16 [260] [0.95410156, 0.7426758, … 258 more]"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("… 98 more"));

    // Keys come out in the pickle's order, as Python's dicts keep them.
    let r = p.ok(&["inspect", &real("skeleton_pkl/mmaction2_main/sample.pkl"), "--format", "json"]);
    let text = &r.stdout;
    let pos = |k: &str| text.find(&format!("\"{k}\":")).unwrap_or_else(|| panic!("no key {k}"));
    assert!(pos("split") < pos("annotations"), "top-level order as pickled");
    let first = &text[pos("annotations")..];
    let at = |k: &str| first.find(&format!("\"{k}\":")).unwrap_or_else(|| panic!("no key {k}"));
    assert!(at("label") < at("frame_dir") && at("frame_dir") < at("img_shape"), "annotation keys as pickled");
    let arr = &first[at("frame_inds")..];
    assert!(arr.find("\"dtype\"").unwrap() < arr.find("\"shape\"").unwrap());
    assert!(arr.find("\"shape\"").unwrap() < arr.find("\"data\"").unwrap());

    let v = json(&p, &[&real("ava/mmaction2_ava_dataset/ava_proposals_sample.pkl")]);
    assert_eq!(v["_-Z6wFjXtGQ,0902"]["shape"], serde_json::json!([3, 5]));
}

#[test]
fn inspect_refuses_malicious_and_truncated_pickles() {
    let p = Project::new();
    let marker = p.path("PWNED");
    let command = format!("touch {}", marker.display());
    let mut evil = b"\x80\x04\x8c\x02os\x8c\x06system\x93X".to_vec();
    evil.extend((command.len() as u32).to_le_bytes());
    evil.extend(command.as_bytes());
    evil.extend(b"\x85R.");
    std::fs::write(p.path("evil.pkl"), &evil).unwrap();
    let r = p.run(&["inspect", "evil.pkl"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.starts_with("error: `evil.pkl` byte 14: the pickle refers to `os.system`"), "{}", r.stderr);
    assert!(r.stderr.contains("\nhint: "), "{}", r.stderr);
    let v = json(&p, &["evil.pkl", "--lenient"]);
    assert_eq!(v["opaque"], "os.system");
    assert_eq!(v["args"][0], command);
    assert!(!marker.exists());

    let bytes = std::fs::read(real("phalp/gt_tracks.pkl")).unwrap();
    std::fs::write(p.path("cut.pkl"), &bytes[..3000]).unwrap();
    let r = p.run(&["inspect", "cut.pkl"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim_end(),
        "error: `cut.pkl` byte 2976: truncated joblib array: dtype int64 shape [4] needs 32 bytes, 24 left"
    );
}

pub(crate) fn skeleton_text() -> String {
    let mut s = String::from("2\r\n1\r\n72057594037931101 0 1 2 1 3 0 0.5 -0.25 2\r\n25\r\n");
    for j in 0..25 {
        writeln!(s, "{} 0.5 3 256 212 960 540 1 0 0 0 2\r", j as f32 / 10.0).unwrap();
    }
    s.push_str("0\r\n");
    s
}

#[test]
fn inspect_skeleton_files() {
    let p = Project::new();
    p.write("S001C002P003R002A013.skeleton", &skeleton_text());
    let v = json(&p, &["S001C002P003R002A013.skeleton"]);
    assert_eq!(v["sample"]["label"], 12);
    assert_eq!(v["num_frames"], 2);
    let body = &v["frames"][0]["bodies"][0];
    assert_eq!(body["body_id"].as_u64(), Some(72057594037931101));
    assert_eq!(body["position"]["shape"], serde_json::json!([25, 3]));
    assert_eq!(body["position"]["data"][3], 0.1);
    assert_eq!(v["frames"][1]["bodies"], serde_json::json!([]));

    let bad = skeleton_text().replacen("0.5 3 256", "0.5 x 256", 1);
    p.write("S001C002P003R002A014.skeleton", &bad);
    let r = p.run(&["inspect", "S001C002P003R002A014.skeleton"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.trim_end(), "error: `S001C002P003R002A014.skeleton` line 5: field 3 (z): `x` is not a number");
}

#[test]
fn inspect_npz_csv_label_maps_and_lists() {
    let p = Project::new();
    let v = json(&p, &[&formats_fixture("h36m/data_3d_h36m_tiny.npz")]);
    assert_eq!(v["positions_3d"]["S1"]["Walking"]["shape"], serde_json::json!([5, 32, 3]));
    let v = json(&p, &[&real("ava/mmaction2_ava_dataset/ava_sample.csv")]);
    assert_eq!(v[0]["video_id"], "0f39OWEqJ24");
    let v = json(&p, &[&real("ava/activitynet_labelmap/ava_action_list_v2.1_for_activitynet_2018.pbtxt.txt")]);
    assert_eq!(v.as_array().unwrap().len(), 60);
    let v = json(&p, &[&real("ntu/mmaction2/NTU_RGBD120_samples_with_missing_skeletons.txt")]);
    assert_eq!(v["samples"].as_array().unwrap().len(), 535);
    let v = json(&p, &[&real("ntu/mmaction2/label_map_ntu60.txt")]);
    assert_eq!(v[59]["name"], "walking apart from each other");
    let r = p.ok(&["inspect", &real("ntu/mmaction2/label_map_ntu60.txt"), "--format", "csv"]);
    assert!(r.stdout.starts_with("path,value\n/0/id,0\n/0/name,drink water\n"), "{}", r.stdout);

    // Videos are probed by `actionbench-ffmpeg` (`actionbench` hands them over);
    // ffprobe says: h264, 340x256, 30/1 fps, 300 frames.
    let v = json(&p, &[&real("video/mmaction2/test.mp4")]);
    assert_eq!((v["codec"].as_str(), v["width"].as_u64(), v["height"].as_u64()), (Some("h264"), Some(340), Some(256)));
    assert_eq!((v["fps"].as_f64(), v["num_packets"].as_u64()), (Some(30.0), Some(300)));
    assert_eq!((v["display_width"].as_u64(), v["rotation"].as_u64()), (Some(340), Some(0)));
    // ffprobe: mpeg4, 320x240, 25/1 fps, 164 frames.
    let v = json(&p, &[&real("video/mmaction2/test.avi")]);
    assert_eq!(
        (v["codec"].as_str(), v["width"].as_u64(), v["num_packets"].as_u64()),
        (Some("mpeg4"), Some(320), Some(164))
    );
    let r = p.ok(&["inspect", &real("video/mmaction2/test.mp4")]);
    assert!(r.stdout.contains("h264"), "{}", r.stdout);
    // Not a video inside: the demuxer's error, named, with a hint.
    p.write("fake.mp4", "not a video");
    let r = p.run(&["inspect", "fake.mp4"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("fake.mp4") && r.stderr.contains("hint:"), "{}", r.stderr);
    let r = p.run(&["inspect", "missing.pkl"]);
    assert_eq!((r.code, r.stderr.trim_end()), (1, "error: `missing.pkl` does not exist"));
}

#[test]
fn inspect_parquet_shards_written_by_ingest_ntu() {
    let p = Project::new();
    p.write("data/S001C002P003R002A013.skeleton", &skeleton_text());
    p.write(
        "pipelines/n.toml",
        "[stages.ntu]\nuses = \"ingest.ntu\"\ninputs = [\"data\"]\nparams = { dataset = \"ntu60\" }\n",
    );
    p.ok(&["run", "n"]);
    let shard = walk(p.root()).into_iter().find(|f| f.ends_with("part-00000.parquet")).expect("a shard");
    let v = json(&p, &[&shard.display().to_string()]);
    assert_eq!(v["checksum_verified"], true);
    assert_eq!(v["num_rows"], 1);
    let row = &v["rows"][0];
    assert_eq!(row["sample_id"], "S001C002P003R002A013");
    assert_eq!(row["xview"], "train");
    assert_eq!(row["joints"]["dtype"], "float32");
    assert_eq!(row["joints"]["shape"], serde_json::json!([2, 1, 25, 3]));
    assert_eq!(row["body_ids"]["data"][0].as_u64(), Some(72057594037931101));
    let schema = v["schema"].as_array().unwrap();
    assert!(schema.iter().any(|f| f["name"] == "joints" && f["type"] == "arrow.variable_shape_tensor"), "{schema:?}");
    assert!(v["metadata"]["actionbench.stage_key"].is_string());
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A PHALP results file (current generation, zlib) written by `write_joblib`:
/// track 1 detected in frames 0–2, track 2 in frames 0 and 2 only.
fn write_phalp(path: &std::path::Path) {
    use actionbench_formats::value::PyValue;
    let s = |t: &str| PyValue::Str(t.to_string());
    let ints = |v: &[i64]| PyValue::List(v.iter().map(|&i| PyValue::Int(i)).collect());
    let frames = (0..3i64)
        .map(|k| {
            let key = format!("vidA/img/{:06}.jpg", k + 1);
            let boxes = PyValue::List(
                (0..2)
                    .map(|p| PyValue::List([10.0 + 50.0 * p as f64, 20.0, 40.0, 90.0].map(PyValue::Float).to_vec()))
                    .collect(),
            );
            let track2_age = if k == 1 { 1 } else { 0 };
            let tracked: &[i64] = if k == 1 { &[1] } else { &[1, 2] };
            let dict = PyValue::Dict(vec![
                (s("time"), PyValue::Int(k)),
                (s("shot"), PyValue::Int(0)),
                (s("frame_path"), s(&key)),
                (s("tid"), ints(&[1, 2])),
                (s("bbox"), boxes),
                (s("tracked_time"), ints(&[0, track2_age])),
                (s("tracked_ids"), ints(tracked)),
                (s("size"), PyValue::List(vec![ints(&[480, 640]), ints(&[480, 640])])),
            ]);
            (s(&key), dict)
        })
        .collect();
    actionbench_formats::joblib::write_joblib(
        path,
        &PyValue::Dict(frames),
        actionbench_formats::joblib::JoblibCompression::Zlib,
    )
    .unwrap();
}

#[test]
fn inspect_phalp_results_and_lart_tracklets_written_by_actionbench() {
    use actionbench_formats::lart::{LartFrame, LartTracklet};
    let p = Project::new();
    write_phalp(&p.path("vidA.pkl"));
    // Generic view: the decoded dict.
    let v = json(&p, &["vidA.pkl"]);
    assert_eq!(v["vidA/img/000002.jpg"]["tracked_ids"], serde_json::json!([1]));
    // Summary: tracks cut as LART cuts them.
    let v = json(&p, &["vidA.pkl", "--summary"]);
    assert_eq!(v["format"], "phalp");
    assert_eq!(v["generation"], "current");
    assert_eq!(v["video_id"], "vidA");
    assert_eq!(v["frames"], 3);
    assert_eq!(
        v["tracks"],
        serde_json::json!([
            {"track_id": 1, "first_frame": 0, "last_frame": 2, "length": 3, "detections": 3},
            {"track_id": 2, "first_frame": 0, "last_frame": 2, "length": 3, "detections": 2},
        ])
    );
    let r = p.ok(&["inspect", "vidA.pkl", "--summary"]);
    assert!(r.stdout.contains("\"format\": \"phalp\""), "{}", r.stdout);

    // A LART tracklet as `ingest.ava` exports it: GT at frame 0, pseudo at 2.
    let mut gt = vec![0.0f32; 80];
    gt[11] = 1.0;
    let mut pseudo = vec![0.0f32; 80];
    pseudo[2] = 0.8;
    let frame = |fid: i64, has_gt: u8| LartFrame {
        fid,
        frame_name: format!("vidA/img/{:06}.jpg", fid + 1),
        has_detection: fid != 1,
        has_gt,
        ..Default::default()
    };
    let tracklet = LartTracklet {
        dataset: "ava-val".into(),
        video_id: "vidA".into(),
        track_id: 2,
        frames: vec![
            LartFrame { labels_gt: Some(gt), ..frame(0, 2) },
            frame(1, 0),
            LartFrame { labels_pseudo: Some(pseudo), ..frame(2, 1) },
        ],
    };
    let name = tracklet.file_name();
    actionbench_formats::joblib::write_joblib(
        &p.path(&name),
        &tracklet.to_value(),
        actionbench_formats::joblib::JoblibCompression::None,
    )
    .unwrap();
    let v = json(&p, &[&name, "--summary"]);
    assert_eq!(v["format"], "lart-tracklet");
    assert_eq!((v["frames"].as_u64(), v["detections"].as_u64()), (Some(3), Some(2)));
    assert_eq!(v["has_gt"], serde_json::json!({"2": 1, "1": 1, "0": 1}));
    assert_eq!(
        v["labelled_frames"],
        serde_json::json!([
            {"index": 0, "fid": 0, "has_gt": 2, "actions": [12], "pseudo_actions": null},
            {"index": 2, "fid": 2, "has_gt": 1, "actions": [], "pseudo_actions": [3]},
        ])
    );
    let v = json(&p, &[&name]);
    assert_eq!(v["action_label_gt"]["shape"], serde_json::json!([3, 1, 80]));

    // Anything else is refused with a hint.
    let r = p.run(&["inspect", &real("skeleton_pkl/mmaction2_main/sample.pkl"), "--summary"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("is neither a PHALP results file"), "{}", r.stderr);
    assert!(r.stderr.contains("hint: Leave out `--summary`"), "{}", r.stderr);
}
