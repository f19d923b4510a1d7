//! A temporary project and a runner for the `actionbench` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) struct Project {
    pub(crate) dir: tempfile::TempDir,
}

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn from(out: Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The `run --format json` document as (stage, status) pairs.
    pub(crate) fn statuses(&self) -> Vec<(String, String)> {
        let doc: serde_json::Value = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr));
        doc.as_array()
            .expect("a JSON array")
            .iter()
            .map(|e| (e["stage"].as_str().unwrap().to_string(), e["status"].as_str().unwrap().to_string()))
            .collect()
    }
}

pub(crate) fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

pub(crate) fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_actionbench")
}

/// `actionbench-ffmpeg`, built next to `actionbench` by the workspace's test
/// build (its crate's own test makes cargo build it), where `actionbench`
/// looks for it when it hands a command over.
pub(crate) fn ffmpeg_bin() -> String {
    let path =
        std::path::Path::new(bin()).with_file_name(format!("actionbench-ffmpeg{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: run the workspace's tests (`cargo nextest run --workspace`), which build it",
        path.display()
    );
    path.display().to_string()
}

impl Project {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
        Project { dir }
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub(crate) fn write(&self, rel: &str, text: &str) -> &Self {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    pub(crate) fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(args).current_dir(self.root()).env("ACTIONBENCH_NO_PROGRESS", "1").env_remove("ACTIONBENCH_CACHE_DIR");
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("run actionbench"))
    }

    /// Runs and expects success.
    pub(crate) fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, 0, "actionbench {args:?} failed:\nstdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
        r
    }

    /// Lines of the marker log written by the test stages.
    /// Runs a command that must succeed and prints JSON (`--format json`); its document.
    pub(crate) fn json(&self, args: &[&str]) -> serde_json::Value {
        let r = self.ok(args);
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", r.stdout))
    }

    pub(crate) fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("log.txt")).unwrap_or_default().lines().map(str::to_string).collect()
    }

    pub(crate) fn clear_log(&self) {
        let _ = std::fs::remove_file(self.path("log.txt"));
    }
}

/// Waits for a file a stage creates (an event, with a deadline so a broken
/// run fails instead of hanging).
pub(crate) fn wait_for_file(path: &Path) {
    let start = std::time::Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "{} never appeared", path.display());
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Waits until process `pid` has exited: gone from `/proc`, or a zombie
/// not yet reaped (an event, with a deadline).
pub(crate) fn wait_for_exit(pid: u32) {
    let start = std::time::Instant::now();
    loop {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return };
        // `pid (comm) STATE ...`; comm may hold spaces and parentheses.
        if stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])) {
            return;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "process {pid} never exited");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Reads a spawned command's stderr up to the line saying it waits for the
/// run lock another command holds; returns what it said so far (an event:
/// the test goes on only once the command is really waiting).
pub(crate) fn read_until_waiting(stderr: &mut impl std::io::BufRead, what: &str) -> String {
    let mut said = String::new();
    loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "{what} ended without waiting for the lock: {said}");
        said.push_str(&line);
        if line.contains("Waiting for another `actionbench run`") {
            return said;
        }
    }
}

/// Runs a closure with insta writing to the project-level `snapshots/cli/`.
pub(crate) fn with_snapshots(f: impl FnOnce()) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../../snapshots/cli"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(f);
}
