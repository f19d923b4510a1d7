//! PHALP files of both generations (written by joblib from
//! scripts/bench.d/phalp_like.py), the LART pose vector, and LART export
//! loaded back by Python joblib.

use actionbench_core::Diagnose as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use actionbench_formats::joblib::{JoblibCompression, read_joblib, write_joblib};
use actionbench_formats::lart::{LartFrame, LartTracklet};
use actionbench_formats::phalp::{PhalpGeneration, read_phalp};
use actionbench_formats::pickle::PickleOptions;

use crate::support::real_fixture;

const GENERATOR: &str = include_str!("../../../../scripts/bench.d/phalp_like.py");

fn python(args: &[&str]) -> String {
    let out = Command::new("python3").args(args).output().expect("python3 is needed (scripts/test installs it)");
    assert!(
        out.status.success(),
        "python3 failed (needs numpy and joblib: pip install -r scripts/requirements-test.txt):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn generate(dir: &Path, generation: &str, frames: usize, people: usize) -> PathBuf {
    let script = dir.join("phalp_like.py");
    std::fs::write(&script, GENERATOR).unwrap();
    let d = dir.to_str().unwrap();
    python(&[script.to_str().unwrap(), d, generation, "1", &frames.to_string(), &people.to_string()]);
    dir.join("demo_vid000.pkl")
}

#[test]
fn both_generations_cut_into_lart_tracks() {
    for (generation, expected) in [("current", PhalpGeneration::Current), ("cvpr22", PhalpGeneration::Cvpr22)] {
        let dir = tempfile::tempdir().unwrap();
        let path = generate(dir.path(), generation, 12, 3);
        let file = read_phalp(&path).unwrap_or_else(|e| panic!("{generation}: {e}"));
        assert_eq!(file.generation, expected);
        assert_eq!(file.frames.len(), 12);
        assert_eq!(file.video_id_from_keys().as_deref(), Some("vid000"));
        assert_eq!(file.tracks.iter().map(|t| t.track_id).collect::<Vec<_>>(), [1, 2, 3]);
        // Track p (id p+1) misses frames where (k + p) % 7 == 3.
        for (p, track) in file.tracks.iter().enumerate() {
            let frames: Vec<usize> = track.detections.iter().map(|d| d.frame).collect();
            let want: Vec<usize> = (0..12).filter(|k| (k + p) % 7 != 3).collect();
            assert_eq!(frames, want, "{generation} track {}", track.track_id);
            assert_eq!((track.first_frame(), track.last_frame()), (want[0], *want.last().unwrap()));
            let d = &track.detections[0];
            assert_eq!(d.bbox, [10.0 + 50.0 * p as f32 + d.frame as f32, 20.0 + d.frame as f32, 40.0, 90.0]);
            let pose = d.pose.as_ref().unwrap();
            assert_eq!(pose.len(), 229);
            // camera = (0.1 p, 0.2, 40 + k): tz / 200 at the end.
            assert_eq!(pose[226..], [0.1 * p as f32, 0.2, (40.0 + d.frame as f32) / 200.0]);
            assert_eq!(d.joints3d.as_ref().unwrap().len(), 135);
            assert_eq!(d.appearance.as_ref().unwrap().len(), 64);
            assert_eq!(d.size, Some([480, 640]));
            assert!((d.conf - (0.9 - 0.01 * p as f32)).abs() < 1e-6);
            assert_eq!(d.camera_bbox.is_some(), generation == "current");
        }
    }
}

#[test]
fn pose_vector_matches_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let path = generate(dir.path(), "current", 3, 1);
    let file = read_phalp(&path).unwrap();
    let ours = file.tracks[0].detections[0].pose.clone().unwrap();
    let script = r#"
import sys, json, joblib, numpy as np
d = joblib.load(sys.argv[1]); f = d[list(d)[0]]; s = f["smpl"][0]
cam = f["camera"][0].reshape(1, -1).copy(); cam[0, 2] = cam[0, 2] / 200.0
v = np.hstack([s["global_orient"].reshape(1, -1), s["body_pose"].reshape(1, -1), s["betas"].reshape(1, -1), cam])
print(json.dumps([float(x) for x in v[0]]))
"#;
    let theirs: Vec<f64> = serde_json::from_str(&python(&["-c", script, path.to_str().unwrap()])).unwrap();
    assert_eq!(theirs.len(), 229);
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        // (serde_json's float parsing is not exact in the last bit.)
        assert!((*a as f64 - b).abs() <= 1e-12, "element {i}: {a} != {b}");
    }
}

#[test]
fn bad_files_name_the_frame_or_global() {
    let dir = tempfile::tempdir().unwrap();
    // The GT-box input PHALP reads is not a results file.
    let err = read_phalp(&real_fixture("phalp/gt_tracks.pkl")).unwrap_err();
    assert!(err.to_string().contains("frame `000001.jpg`") && err.to_string().contains("no `tid`"), "{err}");
    assert!(err.hint().unwrap().contains("gt_bbox"));
    // A list whose length disagrees with `tid`.
    let path = generate(dir.path(), "current", 3, 2);
    let mut value = read_joblib(&path, PickleOptions::default()).unwrap();
    if let actionbench_formats::value::PyValue::Dict(frames) = &mut value
        && let actionbench_formats::value::PyValue::Dict(fields) = &mut frames[1].1
    {
        for (k, v) in fields.iter_mut() {
            if k.as_str() == Some("conf") {
                *v = actionbench_formats::value::PyValue::List(vec![]);
            }
        }
    }
    let bad = dir.path().join("bad.pkl");
    write_joblib(&bad, &value, JoblibCompression::Zlib).unwrap();
    let err = read_phalp(&bad).unwrap_err().to_string();
    assert!(err.contains("frame `vid000/img/000002.jpg`: `conf` has 0 entries but `tid` has 2"), "{err}");
    // A torch global outside `embedding` is refused and named.
    let script = r#"
import sys, joblib, types
m = types.ModuleType("torch._utils"); sys.modules["torch._utils"] = m; sys.modules["torch"] = types.ModuleType("torch")
def _rebuild_tensor_v2(*a): return a
_rebuild_tensor_v2.__module__ = "torch._utils"; m._rebuild_tensor_v2 = _rebuild_tensor_v2
class T:
    def __reduce__(self): return (_rebuild_tensor_v2, (1,))
joblib.dump({"a/img/000001.jpg": {"time": 0, "tid": [1], "bbox": [T()]}}, sys.argv[1], compress=0)
"#;
    let evil = dir.path().join("evil.pkl");
    python(&["-c", script, evil.to_str().unwrap()]);
    let err = read_phalp(&evil).unwrap_err().to_string();
    assert!(err.contains("torch._utils._rebuild_tensor_v2") && err.contains("\"bbox\""), "{err}");
    // Any other global fails strictly, with its byte offset.
    let err = read_phalp(&dir.path().join("phalp_like.py")).unwrap_err();
    assert!(!err.to_string().is_empty());
}

#[test]
fn lart_export_loads_in_python() {
    let dir = tempfile::tempdir().unwrap();
    let frame = |fid: i64, detected: bool, has_gt: u8| LartFrame {
        fid,
        frame_name: format!("vid_a/img/{:06}.jpg", fid + 1),
        has_detection: detected,
        pose: if detected { (0..229).map(|i| i as f32).collect() } else { vec![] },
        joints3d: if detected { vec![0.5; 135] } else { vec![] },
        camera: [1.0, 2.0, 3.0],
        bbox: [1.0, 2.0, 3.0, 4.0],
        size: [480, 640],
        conf: 0.5,
        has_gt,
        labels_gt: (has_gt == 2).then(|| (0..80).map(|c| (c == 11) as u8 as f32).collect()),
        labels_pseudo: (has_gt == 1).then(|| vec![0.25; 80]),
        appearance: detected.then(|| vec![0.125; 16]),
        ..Default::default()
    };
    let t = LartTracklet {
        dataset: "ava-val".into(),
        video_id: "_-Z6wFjX_GQ".into(),
        track_id: 7,
        frames: vec![frame(30, true, 2), frame(31, false, 0), frame(32, true, 1)],
    };
    assert_eq!(t.file_name(), "ava-val__-Z6wFjX_GQ_000030_7_3.pkl");
    let path = dir.path().join(t.file_name());
    write_joblib(&path, &t.to_value(), JoblibCompression::None).unwrap();
    // What LART's loader does with it (phalp_action_datatset.py).
    let script = r#"
import sys, json, os, joblib, numpy as np
p = sys.argv[1]; name = os.path.basename(p)
d = joblib.load(p)
assert int(name.split("_")[-1][:-4]) == len(d["frame_name"]) == 3
assert "_".join(name.split("_")[:-2]) == "ava-val__-Z6wFjX_GQ_000030"
assert d["pose_shape"].shape == (3, 1, 229) and d["3d_joints"].shape == (3, 1, 45, 3)
joints = (d["3d_joints"] + d["camera"][:, None, :, :]).reshape(3, 1, 135)
appe_idx = d["apperance_index"][:, 0, 0]
labels = np.zeros((3, 1, 80))
for i in range(3):
    if appe_idx[i] != -1 and appe_idx[i] in d["action_label_psudo"]:
        labels[i, 0, :] = d["action_label_psudo"][appe_idx[i]][0]
has_gt = d["has_gt"][:, 0, 0]
labels[has_gt == 2] = d["action_label_gt"][has_gt == 2]
feats = [d["apperance_dict"][appe_idx[i]][0].tolist() for i in range(3) if appe_idx[i] != -1]
print(json.dumps({"labels": labels[:, 0, :].sum(axis=1).tolist(), "label11": labels[0, 0, 11],
  "has_det": d["has_detection"][:, 0, 0].tolist(), "fid": d["fid"][:, 0, 0].tolist(),
  "joint0": joints[0, 0, :3].tolist(), "pose_last": d["pose_shape"][2, 0, -1], "feats": len(feats),
  "names": d["frame_name"]}))
"#;
    let got: serde_json::Value = serde_json::from_str(&python(&["-c", script, path.to_str().unwrap()])).unwrap();
    assert_eq!(
        got,
        serde_json::json!({"labels": [1.0, 0.0, 20.0], "label11": 1.0, "has_det": [1.0, 0.0, 1.0],
            "fid": [30.0, 31.0, 32.0], "joint0": [1.5, 2.5, 3.5], "pose_last": 228.0, "feats": 2,
            "names": ["vid_a/img/000031.jpg", "vid_a/img/000032.jpg", "vid_a/img/000033.jpg"]})
    );
}
