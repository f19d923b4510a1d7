//! The real tools read the generated files: `joblib.load`, `numpy.load`,
//! `ffprobe`, and the official AVA evaluator code (pyslowfast 1.0).

use std::path::Path;

use actionbench_formats::h36m::read_h36m_3d;
use actionbench_formats::joblib::read_joblib;
use actionbench_formats::pickle::PickleOptions;

use crate::support::{files, python, tiny};

/// Element-wise equality of float lists printed by Python's `json` (serde's
/// parse of the decimal text may differ in the last bit).
fn same_floats(py: &serde_json::Value, ours: &[f64]) -> bool {
    let py = py.as_array().expect("a list");
    py.len() == ours.len()
        && py.iter().zip(ours).all(|(a, b)| (a.as_f64().unwrap() - b).abs() <= 1e-12 * b.abs().max(1.0))
}

#[test]
fn joblib_load_reads_phalp_results_with_equal_arrays() {
    let dir = tiny().join("phalp/results");
    let path = dir.join(&files(&dir)[0]);
    let out = python(
        r#"
import sys, json, joblib, numpy as np
d = joblib.load(sys.argv[1])
keys = list(d.keys())
f = d[keys[5]]
print(json.dumps({
  "frames": len(d), "first_key": keys[0], "tid": [int(t) for t in f["tid"]],
  "body_pose": f["smpl"][0]["body_pose"].astype(float).ravel().tolist(),
  "joints": f["3d_joints"][0].astype(float).ravel().tolist(),
  "conf": float(f["conf"][0]), "conf_type": type(f["conf"][0]).__name__,
  "dtype": str(f["smpl"][0]["betas"].dtype), "fields": sorted(f.keys()),
}))
"#,
        &[&path],
    );
    let py: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let ours = read_joblib(&path, PickleOptions::default()).unwrap();
    let frames = ours.as_dict().unwrap();
    assert_eq!(py["frames"], frames.len());
    assert_eq!(py["first_key"].as_str(), frames[0].0.as_str());
    let f = &frames[5].1;
    let tid: Vec<i64> = f.get("tid").unwrap().as_seq().unwrap().iter().map(|t| t.as_i64().unwrap()).collect();
    assert_eq!(py["tid"], serde_json::json!(tid));
    let smpl = &f.get("smpl").unwrap().as_seq().unwrap()[0];
    let pose = smpl.get("body_pose").unwrap().as_array().unwrap().to_f64().unwrap();
    assert!(same_floats(&py["body_pose"], &pose), "body_pose arrays are equal");
    let joints = f.get("3d_joints").unwrap().as_seq().unwrap()[0].as_array().unwrap().to_f64().unwrap();
    assert!(same_floats(&py["joints"], &joints));
    assert_eq!(py["conf_type"], "float32", "conf is a numpy scalar");
    assert_eq!(py["dtype"], "float32");
    for key in ["2d_joints", "3d_joints", "bbox", "camera", "conf", "smpl", "tid", "time", "tracked_ids"] {
        assert!(py["fields"].as_array().unwrap().iter().any(|k| k == key), "field {key}");
    }
}

#[test]
fn numpy_load_reads_the_h36m_npz_files() {
    let dir = tiny().join("h36m");
    let out = python(
        r#"
import sys, json, numpy as np
d3 = np.load(sys.argv[1], allow_pickle=True)["positions_3d"].item()
z = np.load(sys.argv[2], allow_pickle=True)
d2 = z["positions_2d"].item()
meta = z["metadata"].item()
w = d3["S9"]["Walking 1"]
print(json.dumps({"subjects": list(d3.keys()), "s11": len(d3["S11"]), "shape": list(w.shape), "dtype": str(w.dtype),
  "first": w[0].astype(float).ravel().tolist(), "cams": [list(a.shape) for a in d2["S9"]["Walking 1"]],
  "meta": meta["num_joints"]}))
"#,
        &[&dir.join("data_3d_h36m.npz"), &dir.join("data_2d_h36m_gt.npz")],
    );
    let py: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(py["subjects"], serde_json::json!(["S1", "S5", "S6", "S7", "S8", "S9", "S11"]));
    assert_eq!(py["s11"], 29);
    assert_eq!(py["dtype"], "float32");
    let seqs = read_h36m_3d(&dir.join("data_3d_h36m.npz")).unwrap();
    let w = seqs.iter().find(|s| s.subject == "S9" && s.action == "Walking 1").unwrap();
    assert_eq!(py["shape"], serde_json::json!(w.positions.shape));
    let first: Vec<f64> = w.positions.data[..96].iter().map(|&v| v as f64).collect();
    assert!(same_floats(&py["first"], &first));
    assert_eq!(py["cams"].as_array().unwrap().len(), 4);
    assert_eq!(py["meta"], 17);
}

#[test]
fn ffprobe_reads_the_rendered_mp4() {
    let clip = tiny().join("renders/synth_000000");
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_frames"])
        .args(["-show_entries", "stream=codec_name,width,height,nb_read_frames,pix_fmt", "-of", "json"])
        .arg(clip.join("rgb.mp4"))
        .output()
        .expect("ffprobe must be installed: scripts/lib/setup.sh installs the Debian package `ffmpeg`");
    assert!(out.status.success(), "ffprobe failed: {}", String::from_utf8_lossy(&out.stderr));
    let probe: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stream = &probe["streams"][0];
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(clip.join("clip.json")).unwrap()).unwrap();
    assert_eq!(stream["width"], meta["width"]);
    assert_eq!(stream["height"], meta["height"]);
    assert_eq!(stream["pix_fmt"], "yuv420p");
    assert_eq!(stream["nb_read_frames"].as_str().unwrap(), meta["num_frames"].to_string());
}

/// Runs pyslowfast's copy of the official AVA evaluator on our GT, label
/// map and exclusions, with `detections` as the detection CSV; returns mAP.
fn official_ava_map(root: &Path, detections: &Path) -> f64 {
    let out = python(
        r#"
import sys, logging
import numpy as np
if not hasattr(np, "float"): np.float = float
if not hasattr(np, "NAN"): np.NAN = np.nan
import slowfast.utils.ava_eval_helper as h
categories, whitelist = h.read_labelmap(sys.argv[1])
gt = h.read_csv(sys.argv[2], whitelist, load_score=False)
det = h.read_csv(sys.argv[3], whitelist, load_score=True)
excluded = h.read_exclusions(sys.argv[4])
m = h.run_evaluation(categories, gt, det, excluded, verbose=False)
print("MAP=%.9f" % float(m["PascalBoxes_Precision/mAP@0.5IOU"]))
"#,
        &[
            &root.join("ava/ava_action_list_v2.2.pbtxt"),
            &root.join("ava/ava_train_v2.2.csv"),
            detections,
            &root.join("ava/ava_train_excluded_timestamps_v2.2.csv"),
        ],
    );
    let line = out.lines().find_map(|l| l.strip_prefix("MAP=")).expect("evaluator printed the mAP");
    line.trim().parse().unwrap()
}

#[test]
fn the_official_ava_evaluator_reads_our_files() {
    let root = tiny();
    let gt = std::fs::read_to_string(root.join("ava/ava_train_v2.2.csv")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Perfect detections (the GT boxes, score 1) score mAP 1 …
    let perfect: String = gt
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},1.0\n", f[..7].join(","))
        })
        .collect();
    let path = dir.path().join("perfect.csv");
    std::fs::write(&path, perfect).unwrap();
    assert_eq!(official_ava_map(root, &path), 1.0);
    // … and boxes moved off the people (to a corner, where no one stands:
    // a shifted box could land on someone else) score 0.
    let wrong: String = gt
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},0.000,0.000,0.020,0.020,{},0.9\n", f[0], f[1], f[6])
        })
        .collect();
    std::fs::write(&path, wrong).unwrap();
    assert_eq!(official_ava_map(root, &path), 0.0);
}
