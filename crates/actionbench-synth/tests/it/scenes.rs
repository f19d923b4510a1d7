//! Render scene sets: the default `actions` scene is pinned byte for
//! byte; the `layout` scene's files, labels and splits; the `gestures`
//! scene's datasets, vocabularies, subjects, splits and hands.

use std::path::{Path, PathBuf};

use std::collections::{BTreeMap, BTreeSet};

use actionbench_synth::body::j;
use actionbench_synth::camera::{Camera, cv_pixel};
use actionbench_synth::gestures::{self, ACTIONS, Dataset, GESTURES, GestureClip, Task, action_name};
use actionbench_synth::hands::HandShape;
use actionbench_synth::scene::{OBJECTS, VERBS};
use actionbench_synth::{Format, NoProgress, Preset, RenderScene, SynthConfig, generate};

use crate::support::{files, tiny};

/// FNV-1a: the same on every platform and release.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Existing benchmarks depend on the actions scene's files: every file of
/// the shared tiny set's `renders/` but the mp4s (whose bytes follow the
/// encoder build; their frames are pinned by the crate's unit test), and
/// the summary. Measured on the code before the layout scene was added
/// (commit 2d823f9).
#[test]
fn actions_scene_files_are_unchanged() {
    let root = tiny().join("renders");
    let mut h = 0xcbf2_9ce4_8422_2325;
    let mut count = 0;
    for name in files(&root) {
        if name.extension().is_some_and(|e| e == "mp4") {
            continue;
        }
        h = fnv(h, name.to_string_lossy().as_bytes());
        h = fnv(h, &std::fs::read(root.join(&name)).unwrap());
        count += 1;
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tiny().join("synth.json")).unwrap()).unwrap();
    let mut renders = summary["outputs"]["renders"].clone();
    renders["encoder"] = serde_json::Value::Null;
    h = fnv(h, renders.to_string().as_bytes());
    assert_eq!((count, format!("{h:016x}").as_str()), (82, "e319668bb979266c"));
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A tiny layout set, half real.
fn layout_set(dir: &Path) -> PathBuf {
    let config = SynthConfig::new(Preset::Tiny, 5)
        .with_render_clips(Some(12))
        .and_then(|c| c.with_render_scene(RenderScene::Layout))
        .and_then(|c| c.with_real_fraction(Some(0.5)))
        .unwrap();
    let config = SynthConfig { formats: [Format::Renders].into_iter().collect(), ..config };
    generate(&config, dir, &NoProgress).unwrap();
    dir.join("renders")
}

/// Real clips carry only their video; synthetic clips exactly their
/// source's labels, with the object as segmentation id 2 and in the boxes.
#[test]
fn layout_clips_carry_their_domains_labels() {
    let dir = tempfile::tempdir().unwrap();
    let root = layout_set(dir.path());
    let mut kinds = std::collections::BTreeSet::new();
    for i in 0..12 {
        let c = root.join(format!("synth_{i:06}"));
        let clip = read_json(&c.join("clip.json"));
        let labels = &clip["labels"];
        let real = clip["domain"] == "real";
        assert_eq!(real, i % 2 == 1, "every other clip is real at 0.5");
        let want = match clip["source"].as_str() {
            None => [false; 5],
            Some("scene") => [true, true, false, false, false],
            Some("people") => [true, false, true, false, true],
            Some("objects") => [false, false, true, true, false],
            Some(other) => panic!("source {other}"),
        };
        assert_eq!(real, clip["source"].is_null());
        for (k, name) in ["depth", "normals", "segmentation", "boxes", "joints3d"].iter().enumerate() {
            assert_eq!(labels[name], want[k], "clip {i} {name}");
            let file = if k < 3 { c.join(name) } else { c.join(format!("{name}.json")) };
            assert_eq!(file.exists(), want[k], "clip {i}: {}", file.display());
            if want[k] {
                kinds.insert(*name);
            }
        }
        if labels["segmentation"] == true {
            let ids: std::collections::BTreeSet<u8> = (0..8).flat_map(|f| seg(&c, f)).collect();
            assert!(ids.contains(&2), "clip {i}: the object is id 2 ({ids:?})");
        }
        if labels["boxes"] == true {
            let boxes = read_json(&c.join("boxes.json"));
            let objects = boxes["frames"].as_array().unwrap().iter().filter(|f| f["object"]["id"] == 2).count();
            assert!(objects > 0, "clip {i}: the object's box");
        }
    }
    assert_eq!(kinds.len(), 5, "every label kind exists in some clip");
    let summary = read_json(&dir.path().join("synth.json"));
    assert_eq!(summary["outputs"]["renders"]["scene"], "layout");
    assert_eq!(summary["outputs"]["renders"]["real_clips"], 6);
}

fn seg(clip: &Path, f: usize) -> Vec<u8> {
    let path = clip.join(format!("segmentation/{f:06}.png"));
    let mut reader =
        png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap())).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut buf).unwrap();
    buf
}

/// clip.json's splits: verb/object names, compositions, per-verb shot
/// ranks of real clips, and the walk's depth in the 3D joints.
#[test]
fn layout_clip_json_holds_the_splits() {
    let dir = tempfile::tempdir().unwrap();
    let root = layout_set(dir.path());
    let mut next = [0; 4];
    for i in 0..12 {
        let c = root.join(format!("synth_{i:06}"));
        let clip = read_json(&c.join("clip.json"));
        let (verb, object) =
            (clip["label"].as_u64().unwrap() as usize, clip["object_label"].as_u64().unwrap() as usize);
        assert_eq!(clip["action"], VERBS[verb]);
        assert_eq!(clip["object"], OBJECTS[object]);
        assert_eq!(clip["composition"], if object == verb % 3 { "novel" } else { "seen" });
        if clip["domain"] == "real" {
            assert_eq!(clip["shot"], next[verb], "clip {i}");
            next[verb] += 1;
        } else {
            assert!(clip["shot"].is_null());
            assert!((101..=108).contains(&clip["subject"].as_u64().unwrap()), "synthetic subjects are 101..");
        }
        if clip["labels"]["joints3d"] == true && verb < 2 {
            let joints = read_json(&c.join("joints3d.json"));
            let depth = |f: usize| -> f64 {
                let js = joints["frames"][f]["people"][0]["joints"].as_array().unwrap();
                js.iter().map(|p| p[2].as_f64().unwrap()).sum::<f64>() / js.len() as f64
            };
            let (first, last) = (depth(0), depth(7));
            assert!(if verb == 0 { last < first } else { last > first }, "clip {i}: {first} → {last}");
        }
    }
    assert_eq!(next.iter().sum::<usize>(), 6);
}

#[test]
fn layout_params_are_checked() {
    let base = || SynthConfig::new(Preset::Tiny, 0);
    let err = base().with_class_names(&["clapping"]).unwrap().with_render_scene(RenderScene::Layout).unwrap_err();
    assert!(err.to_string().contains("own four verbs"), "{err}");
    let err = base().with_real_fraction(Some(0.5)).unwrap_err();
    assert!(err.to_string().contains("layout render scene"), "{err}");
    let layout = || base().with_render_scene(RenderScene::Layout).unwrap();
    for bad in [-0.1, 1.5, f64::NAN] {
        let err = layout().with_real_fraction(Some(bad)).unwrap_err();
        assert!(err.to_string().contains("between 0 and 1"), "{err}");
    }
    assert_eq!("layout".parse::<RenderScene>().unwrap(), RenderScene::Layout);
    assert!("room".parse::<RenderScene>().unwrap_err().to_string().contains("unknown render scene `room`"));
}

/// A tiny gestures set (12 clips per dataset).
fn gestures_set(dir: &Path, seed: u64) -> PathBuf {
    let config = SynthConfig::new(Preset::Tiny, seed)
        .with_render_clips(Some(36))
        .and_then(|c| c.with_render_scene(RenderScene::Gestures))
        .unwrap();
    let config = SynthConfig { formats: [Format::Renders].into_iter().collect(), ..config };
    generate(&config, dir, &NoProgress).unwrap();
    dir.join("renders")
}

fn clips(root: &Path) -> Vec<serde_json::Value> {
    (0..36).map(|i| read_json(&root.join(format!("synth_{i:06}/clip.json")))).collect()
}

/// Every clip says its task, dataset and split; `label` indexes the task's
/// vocabulary and `action` names it; the label files follow `labels`.
#[test]
fn gestures_clips_carry_task_dataset_and_split() {
    let dir = tempfile::tempdir().unwrap();
    let root = gestures_set(dir.path(), 11);
    for (i, clip) in clips(&root).iter().enumerate() {
        let dataset = ["actions", "gestures", "ntu"][i % 3];
        assert_eq!(clip["dataset"], dataset, "clip {i}");
        let task = clip["task"].as_str().unwrap();
        assert!(match dataset {
            "actions" => task == "action",
            "gestures" => task == "gesture",
            _ => task == ["action", "gesture"][(i / 3) % 2],
        });
        let label = clip["label"].as_u64().unwrap() as usize;
        let name = if task == "action" { action_name(label) } else { GESTURES[label] };
        assert_eq!(clip["action"], name, "clip {i}");
        let subject = clip["subject"].as_u64().unwrap();
        let first = [0, 100, 200][i % 3];
        assert!((first + 1..=first + 8).contains(&subject), "clip {i}: subject {subject}");
        assert_eq!(clip["split"], if subject % 4 == 0 { "test" } else { "train" }, "clip {i}");
        let c = root.join(format!("synth_{i:06}"));
        for name in ["depth", "normals", "segmentation"] {
            assert_eq!(c.join(name).is_dir(), clip["labels"][name] == true, "clip {i} {name}");
        }
        if clip["labels"]["joints3d"] == true {
            let joints = read_json(&c.join("joints3d.json"));
            assert_eq!(joints["joint_names"].as_array().unwrap().len(), 25);
            assert_eq!(joints["frames"][0]["people"][0]["joints"].as_array().unwrap().len(), 25);
        }
        // The gesture set's close camera has the longer lens.
        let fx = clip["intrinsics"]["fx"].as_f64().unwrap();
        assert_eq!(fx, if dataset == "gestures" { 64.0 * 1.6 } else { 64.0 * 0.9 }, "clip {i}");
    }
    let summary = read_json(&dir.path().join("synth.json"));
    let renders = &summary["outputs"]["renders"];
    assert_eq!(renders["scene"], "gestures");
    assert_eq!(renders["vocabularies"]["gesture"], serde_json::json!(GESTURES));
    assert_eq!(renders["vocabularies"]["action"].as_array().unwrap().len(), ACTIONS.len());
    assert_eq!(renders["shared_gestures"], serde_json::json!(["count two", "thumbs up", "hand waving"]));
    assert_eq!(renders["datasets"]["ntu"]["action_clips"], 6);
    assert_eq!(renders["datasets"]["ntu"]["gesture_clips"], 6);
}

/// One vocabulary per task: a class has one label whichever dataset it
/// comes from, the gesture set and NTU's gestures share classes, and NTU's
/// hand motions are gestures, not actions.
#[test]
fn gestures_shared_classes_have_one_label() {
    let dir = tempfile::tempdir().unwrap();
    let root = gestures_set(dir.path(), 11);
    let mut labels: BTreeMap<(String, String), BTreeSet<u64>> = BTreeMap::new();
    for clip in clips(&root) {
        let key = (clip["task"].as_str().unwrap().to_string(), clip["action"].as_str().unwrap().to_string());
        labels.entry(key).or_default().insert(clip["label"].as_u64().unwrap());
    }
    assert!(labels.values().all(|l| l.len() == 1), "{labels:?}");
    // Over many plans, by dataset: the classes each task's datasets use.
    let plans = gestures::plans(11, 3000, 8);
    let used = |dataset: Dataset, task: Task| -> BTreeMap<&str, BTreeSet<usize>> {
        let mut out: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
        for p in plans.iter().filter(|p| p.dataset == dataset && p.task == task) {
            out.entry(p.name()).or_default().insert(p.label);
        }
        out
    };
    let (set, ntu) = (used(Dataset::Gestures, Task::Gesture), used(Dataset::Ntu, Task::Gesture));
    let shared: Vec<&str> = set.keys().filter(|k| ntu.contains_key(*k)).copied().collect();
    assert_eq!(shared, ["count two", "hand waving", "thumbs up"]);
    for name in shared {
        assert_eq!(set[name], ntu[name], "`{name}` has one label in both datasets");
        assert_eq!(set[name], [GESTURES.iter().position(|g| *g == name).unwrap()].into());
    }
    assert_eq!(set.len(), 9);
    assert!(ntu.contains_key("clapping") && !set.contains_key("clapping"));
    for dataset in [Dataset::Actions, Dataset::Ntu] {
        let actions = used(dataset, Task::Action);
        assert_eq!(actions.len(), ACTIONS.len(), "{dataset:?} uses every action class");
        assert!(!actions.contains_key("hand waving") && !actions.contains_key("clapping"));
    }
    assert_eq!(used(Dataset::Actions, Task::Action), used(Dataset::Ntu, Task::Action), "same action labels");
}

/// NTU's actions and gestures come from the same performers; the action
/// and gesture sets' performers are disjoint; the split is by subject,
/// with test subjects in every dataset.
#[test]
fn gestures_subjects_and_splits() {
    let dir = tempfile::tempdir().unwrap();
    let root = gestures_set(dir.path(), 11);
    let mut subjects: BTreeMap<(String, String), BTreeSet<u64>> = BTreeMap::new();
    let mut split_of: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for clip in clips(&root) {
        let key = (clip["dataset"].as_str().unwrap().to_string(), clip["task"].as_str().unwrap().to_string());
        let subject = clip["subject"].as_u64().unwrap();
        subjects.entry(key).or_default().insert(subject);
        split_of.entry(subject).or_default().insert(clip["split"].as_str().unwrap().to_string());
    }
    let of = |d: &str, t: &str| subjects[&(d.to_string(), t.to_string())].clone();
    assert_eq!(of("ntu", "action"), of("ntu", "gesture"), "NTU's performers do both");
    assert!(of("actions", "action").is_disjoint(&of("gestures", "gesture")));
    assert!(of("ntu", "action").is_disjoint(&of("actions", "action")));
    assert!(of("ntu", "gesture").is_disjoint(&of("gestures", "gesture")));
    assert!(split_of.values().all(|s| s.len() == 1), "one split per subject: {split_of:?}");
    for key in subjects.keys() {
        let splits: BTreeSet<&String> = subjects[key].iter().flat_map(|s| &split_of[s]).collect();
        assert_eq!(splits.len(), 2, "{key:?} has train and test subjects");
    }
}

/// Same seed, same bytes: every label and JSON file, and the frames handed
/// to the encoder (rendered again through the API); the videos decode to
/// the same frames up to libx264's own variation between two encodings in
/// one process. Another seed changes every clip.
#[test]
fn gestures_set_is_deterministic() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ra, rb, rc) = (gestures_set(a.path(), 3), gestures_set(b.path(), 3), gestures_set(c.path(), 4));
    let names = files(&ra);
    assert_eq!(names, files(&rb));
    for name in names.iter().filter(|n| n.extension().is_none_or(|e| e != "mp4")) {
        assert!(std::fs::read(ra.join(name)).unwrap() == std::fs::read(rb.join(name)).unwrap(), "{}", name.display());
    }
    let spec = Preset::Tiny.spec();
    let plans = gestures::plans(3, 36, 8);
    let mut differs = 0;
    for (i, plan) in plans.iter().enumerate() {
        let render = || {
            let clip = GestureClip::new(3, i, &spec, plan);
            (0..spec.render_frames).flat_map(|f| clip.frame(f).rgb).collect::<Vec<u8>>()
        };
        let rendered = render();
        assert!(rendered == render(), "clip {i}: the renderer is a function of (seed, clip)");
        let video = format!("synth_{i:06}/rgb.mp4");
        let (x, y) = (raw(&ra.join(&video)), raw(&rb.join(&video)));
        let mean =
            |p: &[u8], q: &[u8]| p.iter().zip(q).map(|(a, b)| a.abs_diff(*b) as f64).sum::<f64>() / p.len() as f64;
        assert!(mean(&x, &y) < 0.5, "clip {i}: the two videos show other frames");
        // H.264 at CRF 18 in 4:2:0 on 64×48 frames: a few levels off on average.
        assert!(mean(&x, &rendered) < 6.0, "clip {i}: the video shows the rendered frames");
        differs += usize::from(mean(&x, &raw(&rc.join(&video))) > 2.0);
    }
    assert_eq!(differs, 36, "every clip changes with the seed");
}

fn raw(path: &Path) -> Vec<u8> {
    match frames(path).pop() {
        Some(actionbench_video::ClipFrames::Raw(v)) => v,
        _ => panic!("{}: no raw frames", path.display()),
    }
}

fn frames(path: &Path) -> Vec<actionbench_video::ClipFrames> {
    let opts = actionbench_video::SampleOptions { format: actionbench_video::FrameFormat::Raw, ..Default::default() };
    actionbench_video::decode_clips(path, &opts).unwrap().1.into_iter().map(|c| c.frames).collect()
}

/// At 112×112 the gesture camera shows the hand's shape: the same frame
/// with an open palm and with a fist differs only around the hand (within
/// 40 px of the wrist), and the open palm covers 50 or more pixels more at
/// the palm's depth.
#[test]
fn gesture_hand_shape_shows_at_the_clip_resolution() {
    let mut spec = Preset::Tiny.spec();
    spec.render_size = (112, 112);
    spec.render_frames = 16;
    let plans = gestures::plans(5, 60, 8);
    let mut checked = 0;
    for (i, plan) in plans.iter().enumerate().filter(|(_, p)| p.dataset == Dataset::Gestures) {
        let mut clip = GestureClip::new(5, i, &spec, plan);
        let side = clip.people[0].params.side;
        let f = 8;
        let joints = clip.people[0].track.joints[f];
        let cv = |p| Camera::to_cv(clip.camera.to_cam(p));
        let wrist = cv_pixel(cv(joints[[j::WRIST_L, j::WRIST_R][side]]), clip.k);
        let palm = cv(joints[[j::HAND_L, j::HAND_R][side]])[2] * 1000.0;
        let mut render = |shape: HandShape| {
            clip.people[0].shapes[f][side] = shape;
            clip.frame(f)
        };
        let (open, fist) = (render(HandShape::OPEN), render(HandShape::FIST));
        // The person's pixels within 3 cm of the palm's depth, near the wrist.
        let hand = |frame: &actionbench_synth::render::Frame| {
            (0..112 * 112)
                .filter(|&k| {
                    let (x, y) = ((k % 112) as f64 + 0.5, (k / 112) as f64 + 0.5);
                    let near = (x - wrist[0]).hypot(y - wrist[1]) < 40.0;
                    near && frame.person[k] == 1 && (frame.depth_mm[k] as f64 - palm).abs() < 30.0
                })
                .count()
        };
        let (n_open, n_fist) = (hand(&open), hand(&fist));
        // Thumbs up holds the knuckles to the camera: an open hand there
        // points its fingers at the camera. Every other gesture shows the palm.
        if plan.name() != "thumbs up" {
            assert!(n_open > n_fist + 50, "clip {i} {}: {n_open} vs {n_fist} hand pixels", plan.name());
        }
        let mut changed = 0;
        for k in 0..112 * 112 {
            if open.rgb[k * 3..k * 3 + 3] != fist.rgb[k * 3..k * 3 + 3] {
                changed += 1;
                let (x, y) = ((k % 112) as f64 + 0.5, (k / 112) as f64 + 0.5);
                let d = (x - wrist[0]).hypot(y - wrist[1]);
                assert!(d < 40.0, "clip {i}: pixel ({x}, {y}) changed {d:.0} px from the wrist");
            }
        }
        assert!(changed > 40, "clip {i}: {changed} pixels differ");
        checked += 1;
    }
    assert_eq!(checked, 20);
}

#[test]
fn gestures_params_are_checked() {
    let base = || SynthConfig::new(Preset::Tiny, 0);
    let err = base().with_class_names(&["clapping"]).unwrap().with_render_scene(RenderScene::Gestures).unwrap_err();
    assert!(err.to_string().contains("own action and gesture vocabularies"), "{err}");
    let hint = actionbench_core::Diagnose::hint(&err).unwrap();
    assert!(hint.contains("Leave `classes` out"), "{hint}");
    let gestures = base().with_render_scene(RenderScene::Gestures).unwrap();
    let err = gestures.with_real_fraction(Some(0.5)).unwrap_err();
    assert!(err.to_string().contains("layout render scene"), "{err}");
    assert_eq!("gestures".parse::<RenderScene>().unwrap(), RenderScene::Gestures);
    assert_eq!(RenderScene::Gestures.name(), "gestures");
    let err = "gesture".parse::<RenderScene>().unwrap_err();
    assert!(err.to_string().contains("unknown render scene `gesture`"), "{err}");
    let hint = actionbench_core::Diagnose::hint(&err).unwrap();
    assert!(hint.contains("gestures (") && hint.contains("layout (") && hint.contains("actions ("), "{hint}");
}
