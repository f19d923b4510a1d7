//! Render scene sets: the default `actions` scene is pinned byte for
//! byte; the `layout` scene's files, labels and splits.

use std::path::{Path, PathBuf};

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
