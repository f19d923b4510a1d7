//! One tiny dataset shared by the read-back tests (generated once).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use actionbench_synth::{NoProgress, Preset, SynthConfig, generate};

/// Seed of the shared dataset.
pub(crate) const SEED: u64 = 7;

/// The shared tiny dataset (all formats).
pub(crate) fn tiny() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("synth");
        generate(&SynthConfig::new(Preset::Tiny, SEED), &out, &NoProgress).expect("tiny generation");
        (dir, out)
    })
    .1
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
