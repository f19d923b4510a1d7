//! The two binaries: `actionbench` starts without FFmpeg's libraries and
//! hands the commands that need them to `actionbench-ffmpeg`.

use std::process::Command;

use crate::harness::{Project, bin, ffmpeg_bin};

/// The shared libraries the dynamic loader maps for `binary` (what `ldd`
/// prints: with this variable set, glibc's loader lists them and exits).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn loaded_libraries(binary: &str) -> String {
    let out = Command::new(binary).env("LD_TRACE_LOADED_OBJECTS", "1").output().expect("start the binary");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn actionbench_loads_no_ffmpeg_library() {
    let full = loaded_libraries(&ffmpeg_bin());
    assert!(full.contains("libavcodec.so") && full.contains("libavformat.so"), "{full}");
    let thin = loaded_libraries(bin());
    assert!(thin.contains("libc.so"), "{thin}");
    assert!(!thin.contains("libav") && !thin.contains("libswscale"), "`actionbench` loads FFmpeg:\n{thin}");
}

/// A project whose pipeline `video` has a `synth` stage (it encodes clips)
/// and whose pipeline `plain` has only kinds `actionbench` runs itself.
fn project() -> Project {
    let p = Project::new();
    p.write("data/a.csv", "x\n1\n");
    p.write("pipelines/plain.toml", "[stages.files]\nuses = \"files.manifest\"\ninputs = [\"data\"]\n");
    p.write(
        "pipelines/video.toml",
        "[stages.files]\nuses = \"files.manifest\"\ninputs = [\"data\"]\n\n\
         [stages.gen]\nuses = \"synth\"\nparams = { preset = \"tiny\", formats = [\"ntu\"] }\n",
    );
    p
}

#[test]
fn commands_that_need_ffmpeg_are_handed_over() {
    let p = project();
    // `kinds` lists the video kinds, which only `actionbench-ffmpeg` has.
    let kinds = p.run(&["kinds"]);
    assert_eq!(kinds.code, 0, "{}", kinds.stderr);
    for kind in ["ingest.video", "ingest.renders", "synth", "ingest.ntu", "train"] {
        assert!(kinds.stdout.contains(kind), "{kind} missing:\n{}", kinds.stdout);
    }
    // `status` of a pipeline with `synth` is answered, not refused.
    let status = p.run(&["status", "video"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(status.stdout.contains("gen") && status.stdout.contains("files"), "{}", status.stdout);
    // A typo in a kind is answered with every kind, the video ones too.
    p.write("pipelines/typo.toml", "[stages.v]\nuses = \"ingest.vide\"\ninputs = [\"data\"]\n");
    let typo = p.run(&["run", "typo"]);
    assert_eq!(typo.code, 1, "{}", typo.stderr);
    assert!(typo.stderr.contains("Did you mean `ingest.video`?"), "{}", typo.stderr);
}

#[test]
fn without_actionbench_ffmpeg_only_video_commands_fail() {
    let p = project();
    let missing = p.path("no-such-dir/actionbench-ffmpeg");
    let run = |args: &[&str]| {
        let out = p.command(args).env("ACTIONBENCH_FFMPEG_BIN", &missing).output().expect("run actionbench");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // What needs no FFmpeg runs in `actionbench` itself.
    let (code, stdout, stderr) = run(&["run", "plain"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("files"), "{stdout}");
    let (code, _, stderr) = run(&["sql", "SELECT 1"]);
    assert_eq!(code, Some(0), "{stderr}");
    // What does fails with the reason, the path tried and the fix.
    let (code, stdout, stderr) = run(&["run", "video"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    for part in [
        "stage `gen` of `pipelines/video.toml` uses `synth`",
        &format!("`{}` cannot be started", missing.display()),
        "hint: Install both binaries",
    ] {
        assert!(stderr.contains(part), "{part:?} missing:\n{stderr}");
    }
    assert!(!p.path("pipelines/video.lock").exists(), "nothing ran");
    let (code, _, stderr) = run(&["kinds"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("`kinds` lists the video kinds too"), "{stderr}");
    // Pointed at `actionbench` itself: an error, not an endless exec.
    let out = p.command(&["kinds"]).env("ACTIONBENCH_FFMPEG_BIN", bin()).output().expect("run actionbench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("names `actionbench` itself"), "{stderr}");
}
