//! `actionbench leaderboard`: the project's tier-0 benchmark run in a copy
//! of its files, checked, shown (snapshot: CPU results, 4 decimals) and
//! made to regress on purpose.

use crate::harness::{Project, with_snapshots};

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn copy_of_the_ava_benchmark() -> Project {
    let p = Project::new();
    for rel in [
        "pipelines/ava-eval-fixture.toml",
        "benchmarks/ava-eval-fixture/benchmark.toml",
        "benchmarks/ava-eval-fixture/data/gt.csv",
        "benchmarks/ava-eval-fixture/data/pred.csv",
        "benchmarks/ava-eval-fixture/data/action_list.txt",
    ] {
        p.write(rel, &std::fs::read_to_string(format!("{REPO}/{rel}")).unwrap());
    }
    p
}

#[test]
fn tier0_benchmark_runs_checks_and_shows() {
    let p = copy_of_the_ava_benchmark();
    let run = p.run(&["leaderboard", "run"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("bit-identical"), "{}", run.stdout);
    let record: serde_json::Value = serde_json::from_str(
        &p.read(&format!("benchmarks/ava-eval-fixture/results/{}.json", actionbench_leaderboard_machine_class())),
    )
    .unwrap();
    assert!(record["provenance"]["stage-keys"]["eval"].as_str().unwrap().len() == 64);
    assert_eq!(p.run(&["leaderboard", "check"]).code, 0);
    let show = p.ok(&["leaderboard", "show", "ava-eval-fixture"]);
    // CPU results only: the machine class is the one varying cell.
    let shown = show.stdout.replace(&actionbench_leaderboard_machine_class(), "[machine]");
    with_snapshots(|| insta::assert_snapshot!("leaderboard_show_ava_eval_fixture", shown));
    let csv = p.ok(&["leaderboard", "show", "--format", "csv"]);
    assert!(csv.stdout.starts_with("benchmark,dataset,split"), "{}", csv.stdout);
    let report = p.ok(&["leaderboard", "report"]);
    assert!(std::path::Path::new(report.stdout.trim()).ends_with("index.html"), "{}", report.stdout);
}

#[test]
fn check_fails_naming_the_row_that_moved() {
    let p = copy_of_the_ava_benchmark();
    let def = p.read("benchmarks/ava-eval-fixture/benchmark.toml");
    p.write("benchmarks/ava-eval-fixture/benchmark.toml", &def.replace("expected = 0.0938", "expected = 0.0937"));
    let run = p.run(&["leaderboard", "run", "ava-eval-fixture"]);
    assert_eq!(run.code, 1, "a regression exits 1: {}", run.stdout);
    assert!(run.stderr.contains("regression: ava-eval-fixture") && run.stderr.contains("mAP"), "{}", run.stderr);
    assert!(run.stdout.contains("REGRESSED"), "{}", run.stdout);
    let check = p.run(&["leaderboard", "check"]);
    assert_eq!(check.code, 1);
    let typo = p.run(&["leaderboard", "check", "ava-eval-fixtur"]);
    assert_eq!(typo.code, 1);
    assert!(typo.stderr.contains("no benchmark `ava-eval-fixtur` (known: ava-eval-fixture)"), "{}", typo.stderr);
}

#[test]
fn a_benchmark_without_results_is_not_a_pass() {
    let p = copy_of_the_ava_benchmark();
    let check = p.run(&["leaderboard", "check"]);
    assert_eq!(check.code, 1);
    assert!(check.stdout.contains("not-run"), "{}", check.stdout);
}

/// The machine class the binary records (same rule as the library).
fn actionbench_leaderboard_machine_class() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{}-{}core-cpu", std::env::consts::ARCH, cores)
}
