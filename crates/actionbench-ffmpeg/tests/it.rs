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
