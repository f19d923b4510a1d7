//! Faults beyond `kill -9` (which `crash.rs` covers): a full disk under the
//! cache, a read-only cache, runs and `gc` at once, symbolic links that lead
//! out of the project. Each leaves the previous complete outputs and says
//! what went wrong, naming the path.
//!
//! The disk-full and read-only cases mount a small tmpfs (or a read-only
//! bind mount) over the cache, which needs root; as another user they print
//! why they are skipped and pass (the read-only case then uses file modes).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{Project, Run, read_until_waiting, wait_for_file};

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A mount that is undone when the test ends, passed or not.
struct Mount(PathBuf);

impl Mount {
    fn new(args: &[&str], at: &Path) -> Option<Self> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount").args(args).arg(at).output().ok()?;
        if out.status.success() {
            Some(Mount(at.to_path_buf()))
        } else {
            eprintln!("mount {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
            None
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// The project's commands with the cache at `cache`.
fn run_with_cache(p: &Project, cache: &Path, args: &[&str]) -> Run {
    Run::from(p.command(args).env("ACTIONBENCH_CACHE_DIR", cache).output().unwrap())
}

/// Fills the file system under `dir` to the last few KiB; returns the file.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    // Leave room for small writes (a lock file), not for a stage's output.
    let len = f.metadata().unwrap().len();
    f.set_len(len.saturating_sub(8192)).unwrap();
    path
}

const PIPELINE: &str = "[stages.inv]\nuses = \"files.manifest\"\ninputs = [\"data\"]\n\n\
    [stages.copy]\ncmd = \"cat data/a.csv > out/copy.csv\"\ndeps = [\"data\"]\nouts = [\"out/copy.csv\"]\n";

#[test]
fn disk_full_under_the_cache_keeps_the_previous_outputs() {
    if !is_root() {
        eprintln!("skipped: mounting a small tmpfs as the cache needs root");
        return;
    }
    let p = Project::new();
    let cache = p.path("cache");
    let Some(_mount) = Mount::new(&["-t", "tmpfs", "-o", "size=1m", "tmpfs"], &cache) else {
        eprintln!("skipped: this machine refused to mount a tmpfs");
        return;
    };
    p.write("data/a.csv", "x\n1\n").write("pipelines/d.toml", PIPELINE);
    run_ok(&p, &cache, &["run", "d"]);
    // A command stage's outputs are journaled beside themselves, so a cache
    // on another file system than the project works (a rename into the
    // cache would fail with EXDEV).
    p.write("data/a.csv", "x\n2\n");
    run_ok(&p, &cache, &["run", "d"]);
    assert_eq!(p.read("out/copy.csv"), "x\n2\n");
    let lock = p.read("pipelines/d.lock");
    let entries = std::fs::read_dir(cache.join("v1/stages")).unwrap().count();

    let filler = fill(&cache);
    for i in 0..300 {
        p.write(&format!("data/more/file-{i:04}-with-a-long-name-to-make-the-listing-big.csv"), "y\n");
    }
    let r = run_with_cache(&p, &cache, &["run", "d"]);
    assert_ne!(r.code, 0, "a run on a full disk succeeded:\n{}", r.stderr);
    assert!(r.stderr.contains("No space left on device"), "{}", r.stderr);
    assert!(r.stderr.contains(&cache.display().to_string()), "the error names the path: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    // Nothing of the previous run is lost: the lock file, the cache entries,
    // the command stage's output.
    assert_eq!(p.read("pipelines/d.lock"), lock);
    assert_eq!(std::fs::read_dir(cache.join("v1/stages")).unwrap().count(), entries);
    assert_eq!(p.read("out/copy.csv"), "x\n2\n");
    assert_eq!(std::fs::read_dir(cache.join("v1/tmp")).unwrap().count(), 0, "no half-written work directory");

    // With space again, the same command finishes the work.
    std::fs::remove_file(filler).unwrap();
    run_ok(&p, &cache, &["run", "d"]);
    let status = run_ok(&p, &cache, &["status", "d"]).stdout;
    assert!(status.lines().skip(1).all(|l| l.contains("fresh")), "{status}");
}

fn run_ok(p: &Project, cache: &Path, args: &[&str]) -> Run {
    let r = run_with_cache(p, cache, args);
    assert_eq!(r.code, 0, "actionbench {args:?} failed:\n{}\n{}", r.stdout, r.stderr);
    r
}

#[test]
fn read_only_cache_is_a_clear_error_and_changes_nothing() {
    let p = Project::new();
    let cache = p.path("cache");
    p.write("data/a.csv", "x\n1\n").write("pipelines/d.toml", PIPELINE);
    run_ok(&p, &cache, &["run", "d"]);
    let lock = p.read("pipelines/d.lock");
    p.write("data/a.csv", "x\n2\n");
    let _mount = if is_root() {
        // Root writes through file modes: a read-only bind mount it is.
        let mount = Mount::new(&["--bind", cache.to_str().unwrap()], &cache).expect("a bind mount");
        let out = Command::new("mount").args(["-o", "remount,bind,ro"]).arg(&cache).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        Some(mount)
    } else {
        set_mode(&cache, 0o555);
        None
    };
    let r = run_with_cache(&p, &cache, &["run", "d"]);
    if !is_root() {
        set_mode(&cache, 0o755);
    }
    assert_ne!(r.code, 0, "a run on a read-only cache succeeded:\n{}", r.stderr);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(r.stderr.contains(&cache.display().to_string()), "the error names the cache: {}", r.stderr);
    assert!(
        r.stderr.contains("Read-only file system") || r.stderr.contains("Permission denied"),
        "the error says why: {}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert_eq!(p.read("pipelines/d.lock"), lock);
    assert_eq!(p.read("out/copy.csv"), "x\n1\n", "the previous output is untouched");
}

/// Sets the mode of `dir` and every directory below it.
fn set_mode(dir: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    for d in walk(dir) {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if dir.is_dir() {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            }
        }
    }
    out
}

/// Two runs and a `gc` at once: the run lock orders them, nothing runs
/// twice, `gc` removes nothing the lock files refer to.
#[test]
fn two_runs_and_a_gc_at_once() {
    use std::io::BufReader;
    let p = Project::new();
    p.write("data/a.csv", "1\n");
    p.write(
        "pipelines/c.toml",
        "[stages.inv]\nuses = \"files.manifest\"\ninputs = [\"data\"]\n\n\
         [stages.a]\ncmd = \"echo ran >> log.txt; touch a.started; while [ ! -e go.flag ]; do sleep 0.02; done; cp data/a.csv out.txt\"\n\
         deps = [\"@inv\"]\nouts = [\"out.txt\"]\n",
    );
    let spawn = |args: &[&str]| {
        p.command(args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
    };
    let first = spawn(&["run", "c"]);
    wait_for_file(&p.path("a.started"));
    // Each of the others says it waits for the lock before the first may go on.
    let mut waiting = Vec::new();
    for args in [&["run", "c"][..], &["gc"][..]] {
        let mut child = spawn(args);
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let said = read_until_waiting(&mut stderr, &format!("`{args:?}`"));
        waiting.push((args, child, stderr, said));
    }
    p.write("go.flag", "");
    assert!(first.wait_with_output().unwrap().status.success());
    for (args, child, mut stderr, said) in waiting {
        let mut said = said;
        use std::io::Read;
        stderr.read_to_string(&mut said).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "`{args:?}`: {said}");
    }
    assert_eq!(p.log(), ["ran"], "stage `a` ran exactly once");
    assert_eq!(p.read("out.txt"), "1\n");
    let status = p.ok(&["status", "c"]).stdout;
    assert!(status.lines().skip(1).all(|l| l.contains("fresh")), "gc kept every live entry:\n{status}");
}

#[test]
fn symbolic_links_out_of_the_project_are_refused() {
    let p = Project::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.csv"), "s\n").unwrap();
    let outside_real = std::fs::canonicalize(outside.path()).unwrap();
    p.write("data/a.csv", "x\n");
    std::os::unix::fs::symlink(outside.path(), p.path("data/elsewhere")).unwrap();
    std::os::unix::fs::symlink(outside.path(), p.path("ext")).unwrap();
    std::os::unix::fs::symlink(outside.path(), p.path("out")).unwrap();
    // A link inside the project that stays inside is fine.
    std::os::unix::fs::symlink(p.path("data/a.csv"), p.path("inside.csv")).unwrap();
    p.write("pipelines/walk.toml", "[stages.inv]\nuses = \"files.manifest\"\ninputs = [\"data\", \"inside.csv\"]\n");
    p.write("pipelines/entry.toml", "[stages.inv]\nuses = \"files.manifest\"\ninputs = [\"ext\"]\n");
    p.write("pipelines/outs.toml", "[stages.w]\ncmd = \"echo x > out/written.txt\"\nouts = [\"out/written.txt\"]\n");
    let target = outside_real.display().to_string();
    for (pipeline, link) in [("walk", "data/elsewhere"), ("entry", "ext")] {
        let r = p.run(&["run", pipeline]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!("`{link}` is a symbolic link to `{target}`")),
            "`{pipeline}` names the link and its target: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!("pipelines/{pipeline}.toml:3: stage `inv` failed: input ")),
            "and the line of the entry: {}",
            r.stderr
        );
        assert_eq!(r.stderr.matches("stage `inv`").count(), 1, "file and stage are said once: {}", r.stderr);
        assert!(r.stderr.contains("hint: "), "{}", r.stderr);
    }
    let r = p.run(&["run", "outs"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("refusing to write `out/written.txt`: `out` is a symbolic link to `{target}`")),
        "{}",
        r.stderr
    );
    assert!(!outside.path().join("written.txt").exists(), "nothing was written outside the project");
    // Data outside the project named by its own path is read.
    p.write("pipelines/direct.toml", &format!("[stages.inv]\nuses = \"files.manifest\"\ninputs = [\"{target}\"]\n"));
    p.ok(&["run", "direct"]);
}
