//! Render scene sets: the default `actions` scene is pinned byte for byte.

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
