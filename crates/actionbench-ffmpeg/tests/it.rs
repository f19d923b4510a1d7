//! `actionbench-ffmpeg` has every stage kind, the video ones included (its
//! test also makes cargo build it, next to `actionbench`, for the CLI's
//! hand-over tests).

#[test]
fn kinds_lists_the_video_kinds_and_the_others() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_actionbench-ffmpeg"))
        .args(["kinds", "--format", "json"])
        .output()
        .expect("run actionbench-ffmpeg");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let kinds: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let names: Vec<&str> = kinds.as_array().expect("array").iter().filter_map(|k| k["kind"].as_str()).collect();
    for kind in ["ingest.video", "ingest.renders", "synth", "ingest.ntu", "eval.ava", "train", "predict"] {
        assert!(names.contains(&kind), "`{kind}` missing from {names:?}");
    }
}

/// `docs/reference/` is what `actionbench reference` prints: regenerate it
/// after changing a kind, its params' doc comments or a command.
#[test]
fn checked_in_reference_is_current() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/reference");
    for (page, file) in [("stage-kinds", "stage-kinds.md"), ("cli", "cli.md")] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_actionbench-ffmpeg"))
            .args(["reference", page])
            .output()
            .expect("run actionbench-ffmpeg");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let generated = String::from_utf8(out.stdout).expect("utf-8");
        let checked_in = std::fs::read_to_string(docs.join(file)).unwrap_or_default();
        assert!(
            generated == checked_in,
            "docs/reference/{file} is stale: run `cargo run -p actionbench-ffmpeg -- reference {page} > docs/reference/{file}`"
        );
    }
}
