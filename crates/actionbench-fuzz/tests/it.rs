//! Replays every seed of `fuzz/seeds.txt` and every input the fuzzers found
//! (`fuzz/regressions/TARGET/`) through the harnesses: a crash fixed once
//! stays fixed, with no fuzzer in CI.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files_below(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for e in entries {
            files_below(&e, out);
        }
    } else {
        out.push(path.to_path_buf());
    }
}

/// `(target, files)` of the seed list.
fn seeds() -> Vec<(String, Vec<PathBuf>)> {
    let list = std::fs::read_to_string(repo().join("fuzz/seeds.txt")).unwrap();
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (target, path) = l.split_once(char::is_whitespace).unwrap();
            let mut files = Vec::new();
            let path = repo().join(path.trim());
            assert!(path.exists(), "fuzz/seeds.txt names `{}`, which does not exist", path.display());
            files_below(&path, &mut files);
            (target.to_string(), files)
        })
        .collect()
}

#[test]
fn every_target_has_a_fuzzer_and_seeds() {
    let seeded: Vec<String> = seeds().into_iter().map(|(t, _)| t).collect();
    for (name, _) in actionbench_fuzz::TARGETS {
        assert!(repo().join(format!("fuzz/fuzz_targets/{name}.rs")).is_file(), "no fuzz/fuzz_targets/{name}.rs");
        assert!(seeded.iter().any(|t| t == name), "fuzz/seeds.txt has no seed for `{name}`");
    }
    for t in &seeded {
        assert!(actionbench_fuzz::target(t).is_some(), "fuzz/seeds.txt names `{t}`, which is not a target");
    }
}

#[test]
fn seeds_and_found_inputs_replay_without_a_crash() {
    let mut replays = seeds();
    let regressions = repo().join("fuzz/regressions");
    for (name, _) in actionbench_fuzz::TARGETS {
        let mut files = Vec::new();
        let dir = regressions.join(name);
        if dir.is_dir() {
            files_below(&dir, &mut files);
        }
        replays.push((name.to_string(), files));
    }
    // Worker threads have 2 MiB stacks: replay on one no larger.
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for (target, files) in replays {
                let harness = actionbench_fuzz::target(&target).unwrap();
                for f in files {
                    let bytes = std::fs::read(&f).unwrap();
                    eprintln!("{target}: {}", f.display());
                    harness(&bytes);
                }
            }
        })
        .unwrap()
        .join()
        .expect("a replayed input crashed its harness (the file is named above)");
}
