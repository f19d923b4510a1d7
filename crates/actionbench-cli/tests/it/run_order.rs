//! Stages run in dependency order, once; re-runs are cached; an edit
//! re-runs exactly the edited stage and its descendants.

use crate::harness::{Project, pairs};

/// a -> b -> d, a -> c -> d, plus an independent e. Every stage appends
/// `start:X` / `end:X` to log.txt (not an output, so it only records runs).
pub(crate) fn diamond() -> Project {
    let p = Project::new();
    p.write("data/in.txt", "payload\n");
    p.write(
        "pipelines/p.toml",
        r#"
[stages.d]
cmd = "echo start:d >> log.txt; cat out/b.txt out/c.txt > out/d.txt; echo end:d >> log.txt"
deps = ["out/b.txt", "out/c.txt"]
outs = ["out/d.txt"]

[stages.a]
cmd = "echo start:a >> log.txt; cp data/in.txt out/a.txt; echo end:a >> log.txt"
deps = ["data/in.txt"]
outs = ["out/a.txt"]

[stages.b]
cmd = "echo start:b >> log.txt; sed s/payload/B/ out/a.txt > out/b.txt; echo end:b >> log.txt"
deps = ["@a", "out/a.txt"]
outs = ["out/b.txt"]

[stages.c]
cmd = "echo start:c >> log.txt; sed s/payload/C/ out/a.txt > out/c.txt; echo end:c >> log.txt"
deps = ["out/a.txt"]
outs = ["out/c.txt"]

[stages.e]
cmd = "echo start:e >> log.txt; echo e > out/e.txt; echo end:e >> log.txt"
outs = ["out/e.txt"]
"#,
    );
    p
}

fn position(log: &[String], marker: &str) -> usize {
    log.iter().position(|l| l == marker).unwrap_or_else(|| panic!("`{marker}` not in log {log:?}"))
}

#[test]
fn stages_run_in_dependency_order_then_all_cached() {
    let p = diamond();
    let first = p.ok(&["run", "p", "-j", "1", "--format", "json"]);
    let log = p.log();
    assert_eq!(log.len(), 10, "each stage ran exactly once: {log:?}");
    for (before, after) in [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")] {
        assert!(position(&log, &format!("end:{before}")) < position(&log, &format!("start:{after}")), "{log:?}");
    }
    // Sequential with -j 1: no stage starts before the previous one ended.
    for pair in log.chunks(2) {
        assert_eq!(pair[0].replace("start:", ""), pair[1].replace("end:", ""), "{log:?}");
    }
    assert!(first.statuses().iter().all(|(_, s)| s == "ran"));
    assert_eq!(p.read("out/d.txt"), "B\nC\n");

    p.clear_log();
    let second = p.ok(&["run", "p", "--format", "json"]);
    assert!(p.log().is_empty(), "a second run runs nothing: {:?}", p.log());
    assert_eq!(
        second.statuses(),
        pairs(&[("a", "cached"), ("b", "cached"), ("c", "cached"), ("d", "cached"), ("e", "cached")])
    );
}

#[test]
fn editing_one_stage_reruns_it_and_its_descendants_only() {
    let p = diamond();
    p.ok(&["run", "p"]);
    p.clear_log();
    let toml = p.read("pipelines/p.toml").replace("s/payload/C/", "s/payload/CC/");
    p.write("pipelines/p.toml", &toml);
    let r = p.ok(&["run", "p", "--format", "json"]);
    assert_eq!(r.statuses(), pairs(&[("a", "cached"), ("b", "cached"), ("c", "ran"), ("d", "ran"), ("e", "cached")]));
    assert_eq!(p.read("out/d.txt"), "B\nCC\n");
}

#[test]
fn touching_an_input_without_changing_it_reruns_nothing() {
    let p = diamond();
    p.ok(&["run", "p"]);
    p.clear_log();
    let f = std::fs::File::options().write(true).open(p.path("data/in.txt")).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5)).unwrap();
    let r = p.ok(&["run", "p", "--format", "json"]);
    assert!(r.statuses().iter().all(|(_, s)| s == "cached"), "{:?}", r.statuses());
    assert!(p.log().is_empty());
    // A real change is seen.
    p.write("data/in.txt", "payload2\n");
    let r = p.ok(&["run", "p", "--format", "json"]);
    assert_eq!(r.statuses(), pairs(&[("a", "ran"), ("b", "ran"), ("c", "ran"), ("d", "ran"), ("e", "cached")]));
}

#[test]
fn target_runs_only_what_it_needs() {
    let p = diamond();
    let r = p.ok(&["run", "p", "b", "--format", "json"]);
    assert_eq!(r.statuses(), pairs(&[("a", "ran"), ("b", "ran")]));
    assert!(!p.path("out/c.txt").exists());
    // --force re-runs the named target only.
    p.clear_log();
    let r = p.ok(&["run", "p", "b", "--force", "--format", "json"]);
    assert_eq!(r.statuses(), pairs(&[("a", "cached"), ("b", "ran")]));
    assert_eq!(p.log(), ["start:b", "end:b"]);
}

#[test]
fn dry_run_runs_nothing() {
    let p = diamond();
    let r = p.ok(&["run", "p", "--dry-run", "--format", "json"]);
    assert!(r.statuses().iter().all(|(_, s)| s == "skipped"), "{:?}", r.statuses());
    assert!(p.log().is_empty());
    assert!(!p.path("pipelines/p.lock").exists());
}

#[test]
fn builtin_stage_params_rerun_it_and_descendants() {
    let p = Project::new();
    p.write("data/x.csv", "1\n").write("data/y.txt", "2\n");
    p.write(
        "pipelines/inv.toml",
        r#"
[stages.inventory]
uses = "files.manifest"
inputs = ["data"]
params = { extensions = [".csv"] }

[stages.count]
cmd = "echo run >> log.txt; wc -l < {@inventory}/files.csv > out/n.txt"
deps = ["@inventory"]
outs = ["out/n.txt"]

[stages.other]
cmd = "echo other > out/o.txt"
outs = ["out/o.txt"]
"#,
    );
    p.ok(&["run", "inv"]);
    assert_eq!(p.read("out/n.txt").trim(), "2");
    let toml = p.read("pipelines/inv.toml").replace("extensions = [\".csv\"]", "extensions = []");
    p.write("pipelines/inv.toml", &toml);
    let r = p.ok(&["run", "inv", "--format", "json"]);
    assert_eq!(r.statuses(), pairs(&[("inventory", "ran"), ("count", "ran"), ("other", "cached")]));
    assert_eq!(p.read("out/n.txt").trim(), "3");
    // Back to the old params: the old output is still in the cache.
    let toml = p.read("pipelines/inv.toml").replace("extensions = []", "extensions = [\".csv\"]");
    p.write("pipelines/inv.toml", &toml);
    let r = p.ok(&["run", "inv", "--format", "json"]);
    assert_eq!(r.statuses(), pairs(&[("inventory", "cached"), ("count", "ran"), ("other", "cached")]));
}

#[test]
fn independent_stages_run_in_parallel_with_jobs() {
    // Each stage waits (up to 10 s) until the other has started: this only
    // succeeds if both run at the same time.
    let p = Project::new();
    let stage = |me: &str, other: &str| {
        format!(
            "[stages.{me}]\ncmd = \"touch {me}.started; i=0; while [ ! -e {other}.started ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; test -e {other}.started && echo {me} > out/{me}.txt\"\nouts = [\"out/{me}.txt\"]\n"
        )
    };
    p.write("pipelines/par.toml", &format!("{}{}", stage("left", "right"), stage("right", "left")));
    let r = p.ok(&["run", "par", "-j", "2", "--format", "json"]);
    assert_eq!(r.statuses(), pairs(&[("left", "ran"), ("right", "ran")]));
}
