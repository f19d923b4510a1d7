//! `kill -9` in the middle of a stage: the previous complete output comes
//! back, and a re-run gives byte-identical outputs.

use crate::harness::{Project, wait_for_exit, wait_for_file};

/// The stage writes half its output, then its shell's pid into
/// `started.flag`, and waits for `go.flag` before writing the rest, so the
/// test can kill it at a known point.
fn pausing_project() -> Project {
    let p = Project::new();
    p.write("data/in.txt", "v1\n");
    p.write(
        "pipelines/k.toml",
        r#"
[stages.slow]
cmd = "cat data/in.txt > out/r.txt; echo $$ > pid.tmp; mv pid.tmp started.flag; while [ ! -e go.flag ]; do sleep 0.05; done; echo second-half >> out/r.txt; seq 1 2000 > out/big.txt"
deps = ["data/in.txt"]
outs = ["out/r.txt", "out/big.txt"]

[stages.after]
cmd = "cat out/r.txt out/big.txt | wc -c > out/after.txt"
deps = ["out/r.txt", "out/big.txt"]
outs = ["out/after.txt"]
"#,
    );
    p
}

#[test]
fn kill_9_mid_stage_keeps_previous_output_and_rerun_is_identical() {
    let p = pausing_project();
    // A complete first run.
    p.write("go.flag", "");
    p.ok(&["run", "k"]);
    assert_eq!(p.read("out/r.txt"), "v1\nsecond-half\n");
    let previous = (p.read("out/r.txt"), p.read("out/big.txt"), p.read("out/after.txt"));

    // Change the input, start a run, and kill -9 it while the stage has
    // written only half of its output.
    p.write("data/in.txt", "v2\n");
    std::fs::remove_file(p.path("go.flag")).unwrap();
    let _ = std::fs::remove_file(p.path("started.flag"));
    let mut child = p
        .command(&["run", "k"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&p.path("started.flag"));
    assert_eq!(p.read("out/r.txt"), "v2\n", "the stage is half-way");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The kernel kills the stage's shell when the engine dies
    // (PR_SET_PDEATHSIG); wait for that before touching its outputs.
    let shell: u32 = p.read("started.flag").trim().parse().unwrap();
    wait_for_exit(shell);

    // The next actionbench command puts the previous complete output back
    // and reports the stage stale.
    let status = p.ok(&["status", "k"]).stdout;
    assert_eq!((p.read("out/r.txt"), p.read("out/big.txt"), p.read("out/after.txt")), previous);
    assert!(status.contains("slow   stale"), "{status}");

    // The re-run produces byte-identical outputs to a clean run elsewhere.
    p.write("go.flag", "");
    p.ok(&["run", "k"]);
    let clean = pausing_project();
    clean.write("data/in.txt", "v2\n").write("go.flag", "");
    clean.ok(&["run", "k"]);
    for out in ["out/r.txt", "out/big.txt", "out/after.txt"] {
        assert_eq!(std::fs::read(p.path(out)).unwrap(), std::fs::read(clean.path(out)).unwrap(), "{out}");
    }
    assert_eq!(p.read("pipelines/k.lock"), clean.read("pipelines/k.lock"), "same keys and output hashes");
    assert!(p.ok(&["status", "k"]).stdout.lines().skip(1).all(|l| l.contains("fresh")));
}
