//! Every writer's output read back by actionbench's own readers, with the
//! properties real data has (names, splits, shapes, tracks, labels).

use std::collections::BTreeSet;
use std::path::Path;

use actionbench_formats::ava::{AvaDialect, AvaTimestamp, read_ava_csv, read_ava_exclusions};
use actionbench_formats::h36m::{read_h36m_2d, read_h36m_3d};
use actionbench_formats::joblib::read_joblib;
use actionbench_formats::kinetics_skeleton::{read_kinetics_labels, read_kinetics_skeleton};
use actionbench_formats::label_map::{LabelMapKind, read_label_map};
use actionbench_formats::ntu::{NtuBenchmark, NtuDataset, NtuSampleName, read_ntu_skeleton};
use actionbench_formats::pickle::PickleOptions;
use actionbench_formats::value::PyValue;
use actionbench_synth::CLASSES;

use crate::support::{files, tiny};

#[test]
fn ntu_files_parse_and_follow_the_naming_and_split_rules() {
    let dir = tiny().join("ntu/nturgb+d_skeletons");
    let names = files(&dir);
    assert_eq!(names.len(), 4 * CLASSES.len() * 3, "4 subjects × classes × 3 cameras");
    let mut splits = BTreeSet::new();
    let (mut empty_frames, mut inferred, mut two_body_files) = (0, 0, 0);
    for n in &names {
        let name = NtuSampleName::from_path(n).unwrap_or_else(|| panic!("bad sample name {}", n.display()));
        assert_eq!(n.extension().unwrap(), "skeleton");
        assert!(NtuDataset::Ntu60.contains(&name), "{name} outside NTU60 ranges");
        for b in NtuDataset::Ntu60.benchmarks() {
            splits.insert((b.name(), b.split(&name), name.camera));
        }
        let sk = read_ntu_skeleton(&dir.join(n)).unwrap();
        assert!(sk.frames.len() >= 8);
        let persons = CLASSES[name.label() as usize].persons;
        assert!(sk.max_bodies() <= persons && sk.max_bodies() >= 1, "{name}: {} bodies", sk.max_bodies());
        if sk.max_bodies() == 2 {
            two_body_files += 1;
        }
        for f in &sk.frames {
            if f.bodies.is_empty() {
                empty_frames += 1;
            }
            for b in &f.bodies {
                assert!(b.body_id > 72_057_594_037_927_935, "Kinect-like u64 body id");
                assert_eq!(b.joints.len(), 25);
                inferred += b.joints.iter().filter(|j| j.tracking_state == 1).count();
                // Standing people are 1–2.2 m tall in camera space; depth is positive.
                let z = b.joints[0].position[2];
                assert!(z > 1.0 && z < 6.0, "{name}: SpineBase depth {z}");
                assert!(b.joints.iter().all(|j| j.position.iter().all(|v| v.is_finite())));
            }
        }
    }
    assert_eq!(two_body_files, 4 * 4 * 3, "the interactions have two bodies");
    assert!(empty_frames > 0, "some frames lost every body, as on real NTU");
    assert!(inferred > 0, "some joints are inferred");
    // Subjects 1, 2, 4 are NTU60 cross-subject training subjects, 3 is not;
    // camera 1 is the cross-view test view.
    let name = |s, c| NtuSampleName { setup: 1, camera: c, subject: s, replication: 1, action: 1 };
    assert_eq!(NtuBenchmark::Ntu60XSub.split(&name(3, 2)), "val");
    assert_eq!(NtuBenchmark::Ntu60XSub.split(&name(4, 2)), "train");
    assert!(splits.contains(&("xsub", "train", 1)) && splits.contains(&("xsub", "val", 1)));
    assert!(splits.contains(&("xview", "val", 1)) && splits.contains(&("xview", "train", 2)));
    assert!(!splits.contains(&("xview", "val", 2)));
}

#[test]
fn the_three_cameras_see_the_same_performance() {
    let dir = tiny().join("ntu/nturgb+d_skeletons");
    let read = |c: u16| {
        let n = NtuSampleName { setup: 1, camera: c, subject: 1, replication: 1, action: 10 };
        read_ntu_skeleton(&dir.join(format!("{n}.skeleton"))).unwrap()
    };
    let (a, b) = (read(1), read(2));
    assert_eq!(a.frames.len(), b.frames.len(), "same length from every view");
    // Bone lengths agree across views (up to sensor noise).
    let bone = |sk: &actionbench_formats::ntu::NtuSkeleton| {
        let f = sk.frames.iter().find(|f| !f.bodies.is_empty()).unwrap();
        let j = &f.bodies[0].joints;
        let d: f32 = (0..3).map(|i| (j[13].position[i] - j[14].position[i]).powi(2)).sum();
        d.sqrt()
    };
    assert!((bone(&a) - bone(&b)).abs() < 0.06, "{} vs {}", bone(&a), bone(&b));
}

#[test]
fn kinetics_json_reads_back_with_labels() {
    let dir = tiny().join("kinetics");
    let mut videos = 0;
    for split in ["train", "val"] {
        let labels = read_kinetics_labels(&dir.join(format!("kinetics_{split}_label.json"))).unwrap();
        for (id, entry) in &labels {
            assert_eq!(id.len(), 11);
            let v = read_kinetics_skeleton(&dir.join(format!("kinetics_{split}")).join(format!("{id}.json"))).unwrap();
            assert_eq!(v.label_index, Some(entry.label_index));
            assert_eq!(v.label.as_deref(), Some(CLASSES[entry.label_index as usize].name));
            for f in &v.data {
                assert!(f.frame_index >= 1);
                for p in &f.persons {
                    assert_eq!((p.pose.len(), p.score.len()), (36, 18));
                    assert!(p.pose.iter().all(|&x| (0.0..=1.0).contains(&x)));
                    for (k, &s) in p.score.iter().enumerate() {
                        if s == 0.0 {
                            assert_eq!((p.pose[2 * k], p.pose[2 * k + 1]), (0.0, 0.0), "missing joints are 0,0");
                        }
                    }
                }
            }
            videos += 1;
        }
    }
    assert_eq!(videos, 24);
}

#[test]
fn h36m_npz_files_read_back() {
    let dir = tiny().join("h36m");
    let seqs = read_h36m_3d(&dir.join("data_3d_h36m.npz")).unwrap();
    assert_eq!(seqs.len(), 7 * 30 - 1, "S11 has no Directions");
    assert!(seqs.iter().any(|s| s.subject == "S9" && s.action == "Walking 1"));
    for s in &seqs {
        assert_eq!(&s.positions.shape[1..], &[32, 3]);
        // z is up: the head is above the feet.
        let t = 0;
        let z = |j: usize| s.positions.data[(t * 32 + j) * 3 + 2];
        assert!(z(15) > z(3) + 1.0, "{} {}: head {} foot {}", s.subject, s.action, z(15), z(3));
    }
    let d2 = read_h36m_2d(&dir.join("data_2d_h36m_gt.npz")).unwrap();
    assert_eq!(d2.metadata.num_joints, Some(17));
    assert_eq!(d2.metadata.layout_name, None, "the _gt file has no layout name");
    assert_eq!(d2.metadata.keypoints_symmetry, Some((vec![4, 5, 6, 11, 12, 13], vec![1, 2, 3, 14, 15, 16])));
    for (s2, s3) in d2.sequences.iter().zip(&seqs) {
        assert_eq!((&s2.subject, &s2.action), (&s3.subject, &s3.action));
        assert_eq!(s2.cameras.len(), 4);
        for c in &s2.cameras {
            assert_eq!(c.shape, [s3.positions.shape[0], 17, 2]);
            assert!(c.data.iter().all(|&v| (0.0..1002.0).contains(&v)), "pixels inside the 1000×1000 frames");
        }
    }
}

fn dict_get<'a>(v: &'a PyValue, key: &str) -> &'a PyValue {
    v.get(key).unwrap_or_else(|| panic!("missing key `{key}`"))
}

#[test]
fn ava_files_and_phalp_tracks_read_back_and_agree() {
    let root = tiny();
    let map = read_label_map(&root.join("ava/ava_action_list_v2.2.pbtxt")).unwrap();
    assert_eq!(map.kind, LabelMapKind::Pbtxt);
    let ids: BTreeSet<i64> = map.entries.iter().map(|e| e.id).collect();
    let mut rows = read_ava_csv(&root.join("ava/ava_train_v2.2.csv"), AvaDialect::Activitynet2019).unwrap();
    rows.extend(read_ava_csv(&root.join("ava/ava_val_v2.2.csv"), AvaDialect::Activitynet2019).unwrap());
    assert!(!rows.is_empty());
    read_ava_exclusions(&root.join("ava/ava_train_excluded_timestamps_v2.2.csv"), AvaDialect::Activitynet2019).unwrap();
    let text = std::fs::read_to_string(root.join("ava/ava_train_v2.2.csv")).unwrap();
    assert!(text.lines().all(|l| l.split(',').nth(1).is_some_and(|t| t.len() == 4)), "zero-padded timestamps");
    let mut persons_by_video: std::collections::BTreeMap<String, BTreeSet<i64>> = Default::default();
    for r in &rows {
        let AvaTimestamp::Seconds(t) = r.timestamp else { panic!("integer timestamps") };
        assert!((902..904).contains(&t), "tiny videos cover 900–904 s: keyframes 902, 903; got {t}");
        let b = r.bbox.unwrap();
        assert!(0.0 <= b.x1 && b.x1 < b.x2 && b.x2 <= 1.0 && 0.0 <= b.y1 && b.y1 < b.y2 && b.y2 <= 1.0);
        assert!(ids.contains(&b.action_id), "action {} in the label map", b.action_id);
        persons_by_video.entry(r.video_id.clone()).or_default().insert(b.score.unwrap() as i64);
    }
    let results = files(&root.join("phalp/results"));
    assert_eq!(results.len(), 2);
    let mut missed = 0;
    for f in &results {
        let path = root.join("phalp/results").join(f);
        assert_eq!(std::fs::read(&path).unwrap()[0], 0x78, "zlib-compressed like PHALP's compress=3");
        let video = f.to_str().unwrap().strip_prefix("demo_").unwrap().strip_suffix(".pkl").unwrap().to_string();
        let value = read_joblib(&path, PickleOptions::default()).unwrap();
        let frames = value.as_dict().unwrap();
        assert_eq!(frames.len(), 40, "4 s at 10 fps");
        let mut tids = BTreeSet::new();
        for (k, (key, frame)) in frames.iter().enumerate() {
            let expected = format!("{video}/img/{:06}.jpg", k + 1);
            assert_eq!(key.as_str(), Some(expected.as_str()));
            assert_eq!(dict_get(frame, "time").as_i64(), Some(k as i64));
            assert_eq!(dict_get(frame, "frame_path").as_str(), Some(expected.as_str()));
            let tid = dict_get(frame, "tid").as_seq().unwrap();
            let n = tid.len();
            for key in [
                "bbox",
                "tracked_time",
                "center",
                "scale",
                "size",
                "conf",
                "class_name",
                "smpl",
                "camera",
                "3d_joints",
                "2d_joints",
            ] {
                assert_eq!(dict_get(frame, key).as_seq().unwrap().len(), n, "parallel list `{key}`");
            }
            for (i, t) in tid.iter().enumerate() {
                tids.insert(t.as_i64().unwrap());
                let smpl = &dict_get(frame, "smpl").as_seq().unwrap()[i];
                assert_eq!(dict_get(smpl, "global_orient").as_array().unwrap().shape, vec![1, 3, 3]);
                assert_eq!(dict_get(smpl, "body_pose").as_array().unwrap().shape, vec![23, 3, 3]);
                assert_eq!(dict_get(smpl, "betas").as_array().unwrap().shape, vec![10]);
                let j3 = dict_get(frame, "3d_joints").as_seq().unwrap()[i].as_array().unwrap();
                assert_eq!(j3.shape, vec![45, 3]);
                assert_eq!(dict_get(frame, "2d_joints").as_seq().unwrap()[i].as_array().unwrap().shape, vec![90]);
                assert!(matches!(dict_get(frame, "conf").as_seq().unwrap()[i], PyValue::Scalar(_)));
                // Rotation matrices are orthonormal.
                let r = dict_get(smpl, "body_pose").as_array().unwrap().to_f64().unwrap();
                for m in r.chunks(9) {
                    let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6])
                        + m[2] * (m[3] * m[7] - m[4] * m[6]);
                    assert!((det - 1.0).abs() < 1e-4, "det {det}");
                }
                if dict_get(frame, "tracked_time").as_seq().unwrap()[i].as_i64() != Some(0) {
                    missed += 1;
                }
            }
            let tracked = dict_get(frame, "tracked_ids").as_seq().unwrap();
            assert!(tracked.iter().all(|t| tid.contains(t)), "tracked_ids ⊂ tid");
        }
        // Every AVA person id is a PHALP track of the same video.
        if let Some(persons) = persons_by_video.get(&video) {
            assert!(persons.is_subset(&tids), "AVA persons {persons:?} vs PHALP tracks {tids:?}");
        }
    }
    assert!(missed > 0, "some tracks persist through missed detections");
}

fn png_info(path: &Path) -> (png::ColorType, png::BitDepth, (u32, u32), Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.color_type, info.bit_depth, (info.width, info.height), buf)
}

#[test]
fn render_clips_follow_the_layout() {
    let root = tiny().join("renders");
    let clips: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(clips.len(), 4);
    let first = root.join("synth_000000");
    let clip: serde_json::Value = serde_json::from_slice(&std::fs::read(first.join("clip.json")).unwrap()).unwrap();
    let (w, h) = (clip["width"].as_u64().unwrap() as u32, clip["height"].as_u64().unwrap() as u32);
    let n = clip["num_frames"].as_u64().unwrap() as usize;
    assert_eq!(clip["clip_id"], "synth_000000");
    assert_eq!(CLASSES[clip["label"].as_u64().unwrap() as usize].name, clip["action"].as_str().unwrap());
    for l in ["rgb", "depth", "normals", "segmentation", "boxes", "joints3d"] {
        assert_eq!(clip["labels"][l], true, "the first clip has every label");
    }
    assert!(std::fs::metadata(first.join("rgb.mp4")).unwrap().len() > 100);
    let (ct, bd, size, depth) = png_info(&first.join("depth/000000.png"));
    assert_eq!((ct, bd, size), (png::ColorType::Grayscale, png::BitDepth::Sixteen, (w, h)));
    let (ct, bd, _, seg) = png_info(&first.join("segmentation/000000.png"));
    assert_eq!((ct, bd), (png::ColorType::Indexed, png::BitDepth::Eight));
    let (ct, _, _, normals) = png_info(&first.join("normals/000000.png"));
    assert_eq!(ct, png::ColorType::Rgb);
    let people = seg.iter().filter(|&&v| v > 0).count();
    assert!(people > 20, "a person covers some pixels ({people})");
    // Person pixels are nearer than the room behind them, with unit normals.
    let joints: serde_json::Value =
        serde_json::from_slice(&std::fs::read(first.join("joints3d.json")).unwrap()).unwrap();
    assert_eq!(joints["joint_names"].as_array().unwrap().len(), 25);
    assert_eq!(joints["frames"].as_array().unwrap().len(), n);
    let root_z = joints["frames"][0]["people"][0]["joints"][0][2].as_f64().unwrap() * 1000.0;
    for (i, &s) in seg.iter().enumerate() {
        let d = u16::from_be_bytes([depth[2 * i], depth[2 * i + 1]]) as f64;
        assert!(d > 0.0, "every pixel sees a surface");
        if s == 1 {
            assert!((d - root_z).abs() < 900.0, "person depth {d} mm vs pelvis {root_z} mm");
            let nv: Vec<f64> = normals[3 * i..3 * i + 3].iter().map(|&c| c as f64 / 127.5 - 1.0).collect();
            let len = (nv.iter().map(|v| v * v).sum::<f64>()).sqrt();
            assert!((len - 1.0).abs() < 0.03, "unit normal, got {len}");
        }
    }
    let boxes: serde_json::Value = serde_json::from_slice(&std::fs::read(first.join("boxes.json")).unwrap()).unwrap();
    assert_eq!(boxes["frames"].as_array().unwrap().len(), n);
    // Clips without a label have no file for it.
    for c in &clips {
        let clip: serde_json::Value = serde_json::from_slice(&std::fs::read(c.join("clip.json")).unwrap()).unwrap();
        assert_eq!(c.join("depth").exists(), clip["labels"]["depth"] == true);
        assert_eq!(c.join("boxes.json").exists(), clip["labels"]["boxes"] == true);
        assert_eq!(c.join("joints3d.json").exists(), clip["labels"]["joints3d"] == true);
        if clip["labels"]["segmentation"] == true {
            assert_eq!(files(&c.join("segmentation")).len(), n);
        } else {
            assert!(!c.join("segmentation").exists());
        }
    }
}
