//! One tiny dataset shared by the read-back tests (generated once).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use actionbench_synth::{NoProgress, Preset, SynthConfig, generate};

/// Seed of the shared dataset.
pub(crate) const SEED: u64 = 7;

/// The shared tiny dataset (all formats), generated once per test binary.
///
/// nextest runs each test in its own process, so a `TempDir` in a static
/// would never be dropped and would leak one dataset per test. Instead it
/// lives in cargo's target tmp dir under a name tied to this build of the
/// test binary; the first process generates it into a sibling and renames
/// it into place, so a concurrent one sees either nothing or all of it.
pub(crate) fn tiny() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let parent = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let exe = std::env::current_exe().and_then(std::fs::metadata).expect("test binary metadata");
        let built = exe.modified().expect("mtime").duration_since(std::time::UNIX_EPOCH).expect("after 1970");
        let name = format!("synth-tiny-{SEED}-{}-{}", built.as_nanos(), exe.len());
        let dir = parent.join(&name);
        if !dir.join("synth").is_dir() {
            let work = tempfile::tempdir_in(parent).expect("temp dir");
            generate(&SynthConfig::new(Preset::Tiny, SEED), &work.path().join("synth"), &NoProgress)
                .expect("tiny generation");
            // Losing the race to another test process is fine: its copy is
            // the same dataset.
            let kept = work.keep();
            if std::fs::rename(&kept, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&kept);
            }
            // Datasets of earlier builds of this binary.
            for e in std::fs::read_dir(parent).into_iter().flatten().flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with("synth-tiny-") && n != name {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        dir.join("synth")
    })
}

/// Every file below `root`, relative, sorted.
pub(crate) fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).expect("below root").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Runs a Python snippet with `python3`; fails the test with its output
/// when it fails (CI always has Python: scripts/test installs it).
pub(crate) fn python(script: &str, args: &[&Path]) -> String {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 must be installed (scripts/test installs it with numpy and joblib)");
    assert!(
        out.status.success(),
        "python3 failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
