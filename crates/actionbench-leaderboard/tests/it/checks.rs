use std::collections::BTreeMap;
use std::path::Path;

use actionbench_leaderboard::{BenchmarkDef, Provenance, ResultRecord, RowState, Verdict, check, check_all, rows};

use crate::definitions::TIER2;

fn record(values: &[(&str, Vec<f64>)], machine: &str) -> ResultRecord {
    ResultRecord {
        benchmark: "b".into(),
        values: values.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        data_order_hash: None,
        provenance: Provenance { machine_class: machine.into(), device: "cpu".into(), ..Default::default() },
    }
}

fn def(text: &str) -> BenchmarkDef {
    BenchmarkDef::parse(text, Path::new("b.toml")).unwrap()
}

const TIER0: &str = r#"
title = "AVA evaluator on frozen predictions"
tier = 0
pipeline = "ava-eval"
stages = ["eval"]
split = "val"
dataset = "AVA fixture"
model = "frozen predictions"
[protocol]
dataset-version = "AVA v2.2"
evaluation = "frame-mAP@0.5"
[[metrics]]
name = "mAP"
expected = 0.09385522
"#;

#[test]
fn tier0_is_bit_exact() {
    let d = def(TIER0);
    assert_eq!(check(&d, &record(&[("mAP", vec![0.09385522])], "m"))[0].verdict, Verdict::Pass);
    let moved = check(&d, &record(&[("mAP", vec![0.09385522 + 1e-12])], "m"));
    assert_eq!(moved[0].verdict, Verdict::Regressed);
    assert!(moved[0].detail.contains("must not move"), "{}", moved[0].detail);
    assert_eq!(check(&d, &record(&[], "m"))[0].verdict, Verdict::Missing);
}

#[test]
fn tier1_allows_a_tenth_of_a_point_and_needs_the_same_data_order() {
    let text = TIER0.replace("tier = 0", "tier = 1").replace("expected = 0.09385522", "expected = 0.5") + "\n" + "";
    let mut d = def(&text);
    assert_eq!(check(&d, &record(&[("mAP", vec![0.5009])], "m"))[0].verdict, Verdict::Pass);
    assert_eq!(check(&d, &record(&[("mAP", vec![0.5011])], "m"))[0].verdict, Verdict::Regressed);
    d.data_order_hash = Some("abc".into());
    let mut r = record(&[("mAP", vec![0.5])], "m");
    r.data_order_hash = Some("abd".into());
    let c = check(&d, &r);
    assert_eq!(c[0].verdict, Verdict::NotComparable);
    assert!(c[0].detail.contains("data order"), "{}", c[0].detail);
    r.data_order_hash = Some("abc".into());
    assert_eq!(check(&d, &r)[0].verdict, Verdict::Pass);
}

#[test]
fn tier2_band_is_half_a_point_or_two_sigma_and_flags_better_runs() {
    let d = def(TIER2);
    // Within 0.5 point (0.005 of a fraction).
    let ok = check(&d, &record(&[("top1", vec![0.797, 0.800, 0.799])], "m"));
    assert_eq!(ok[0].verdict, Verdict::Pass, "{}", ok[0].detail);
    // Seeds spread widely: the band is 2σ.
    let wide = check(&d, &record(&[("top1", vec![0.70, 0.80, 0.90])], "m"));
    assert_eq!(wide[0].verdict, Verdict::Pass, "{}", wide[0].detail);
    assert!((wide[0].tolerance - 0.2).abs() < 1e-9);
    let worse = check(&d, &record(&[("top1", vec![0.78, 0.785, 0.79])], "m"));
    assert_eq!(worse[0].verdict, Verdict::Regressed);
    assert!(worse[0].detail.contains("worse"), "{}", worse[0].detail);
    let better = check(&d, &record(&[("top1", vec![0.83, 0.83, 0.83])], "m"));
    assert_eq!(better[0].verdict, Verdict::SuspiciouslyBetter);
    assert!(better[0].verdict.fails());
    // Two seeds are not enough.
    assert_eq!(check(&d, &record(&[("top1", vec![0.8, 0.8])], "m"))[0].verdict, Verdict::Missing);
}

#[test]
fn tier3_uses_the_median_within_one_machine_class() {
    let text = r#"
title = "ingest wall time"
tier = 3
pipeline = "p"
stages = ["s"]
repeat = 5
machine-class = "x86_64-2core-cpu"
split = "-"
dataset = "synthetic"
model = "-"
[protocol]
dataset-version = "tiny"
evaluation = "wall seconds"
[[metrics]]
name = "seconds"
expected = 10.0
higher-is-better = false
unit = "seconds"
"#;
    let d = def(text);
    let m = "x86_64-2core-cpu";
    // One outlier does not move the median.
    assert_eq!(check(&d, &record(&[("seconds", vec![10.0, 10.2, 9.9, 30.0, 10.1])], m))[0].verdict, Verdict::Pass);
    assert_eq!(check(&d, &record(&[("seconds", vec![10.7, 10.7, 10.7, 10.7, 10.7])], m))[0].verdict, Verdict::Warn);
    let slow = check(&d, &record(&[("seconds", vec![11.5; 5])], m));
    assert_eq!(slow[0].verdict, Verdict::Regressed);
    assert!(slow[0].detail.contains("15.0 % slower"), "{}", slow[0].detail);
    let other = check(&d, &record(&[("seconds", vec![1.0; 5])], "aarch64-64core-cuda"));
    assert_eq!(other[0].verdict, Verdict::NotComparable);
}

#[test]
fn rows_carry_states_and_claimed_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let bdir = dir.path().join("benchmarks/ntu");
    std::fs::create_dir_all(&bdir).unwrap();
    std::fs::write(bdir.join("benchmark.toml"), TIER2).unwrap();
    let benches = actionbench_leaderboard::load_benchmarks(dir.path()).unwrap();
    // Not run yet.
    let checked = check_all(&benches).unwrap();
    let r = rows(&checked, &[]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].state, RowState::NotRun);
    // A passing record, saved and loaded back.
    let mut rec = record(&[("top1", vec![0.80, 0.801, 0.799])], "x86_64-2core-cpu");
    rec.provenance.seeds = vec![0, 1, 2];
    let path = rec.save(&bdir).unwrap();
    assert!(path.ends_with("results/x86_64-2core-cpu.json"));
    let checked = check_all(&benches).unwrap();
    let claimed = vec![actionbench_leaderboard::Claimed {
        paper: "ST-GCN".into(),
        source: "Table 1".into(),
        benchmark: "ntu".into(),
        dataset: "NTU RGB+D 60".into(),
        split: "x-sub".into(),
        model: "ST-GCN".into(),
        metric: "top-1".into(),
        value: 81.5,
        unit: "points".into(),
        protocol: BTreeMap::new(),
    }];
    let r = rows(&checked, &claimed);
    assert_eq!(r.iter().map(|r| r.state).collect::<Vec<_>>(), [RowState::Reproduced, RowState::Claimed]);
    let md = actionbench_leaderboard::board::to_markdown(&r);
    // Our fraction and the paper's points in one unit.
    assert!(md.contains("| 80.00 ± 0.10 pt | reproduced |"), "{md}");
    assert!(md.contains("| 81.50 pt | claimed |"), "{md}");
    let csv = actionbench_leaderboard::board::to_csv(&r);
    assert_eq!(csv.lines().count(), 3);
    let json: serde_json::Value = serde_json::from_str(&actionbench_leaderboard::board::to_json(&r)).unwrap();
    assert_eq!(json[0]["state"], "reproduced");
    // A regressed record.
    record(&[("top1", vec![0.7, 0.7, 0.7])], "x86_64-2core-cpu").save(&bdir).unwrap();
    let r = rows(&check_all(&benches).unwrap(), &[]);
    assert_eq!(r[0].state, RowState::Regressed);
}
