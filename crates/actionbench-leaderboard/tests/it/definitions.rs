use std::path::Path;

use actionbench_leaderboard::{BenchmarkDef, Tier, load_benchmarks, load_claimed};

pub(crate) const TIER2: &str = r#"
title = "ST-GCN on synthetic NTU60 x-sub"
tier = 2
pipeline = "ntu60-xsub"
stages = ["eval-s0", "eval-s1", "eval-s2"]
seeds = [0, 1, 2]
split = "x-sub val"
dataset = "synthetic NTU60"
model = "ST-GCN tiny"
[protocol]
dataset-version = "synth small"
evaluation = "top-1, one clip"
[[metrics]]
name = "top1"
expected = 0.80
"#;

#[test]
fn parses_a_definition_with_its_tier() {
    let def = BenchmarkDef::parse(TIER2, Path::new("b.toml")).unwrap();
    assert_eq!(def.tier, Tier::Training);
    assert_eq!(def.stages.len(), 3);
    assert!(def.metrics[0].higher_is_better);
}

#[test]
fn errors_name_the_file_line_and_rule() {
    let typo = TIER2.replace("pipeline =", "pipline =");
    let err = BenchmarkDef::parse(&typo, Path::new("benchmarks/x/benchmark.toml")).unwrap_err().to_string();
    assert!(err.contains("benchmarks/x/benchmark.toml") && err.contains("line 4") && err.contains("pipline"), "{err}");

    let bad_tier = TIER2.replace("tier = 2", "tier = 7");
    let err = BenchmarkDef::parse(&bad_tier, Path::new("b.toml")).unwrap_err().to_string();
    assert!(err.contains("tier must be 0"), "{err}");

    let two_seeds = TIER2.replace(r#"["eval-s0", "eval-s1", "eval-s2"]"#, r#"["eval-s0", "eval-s1"]"#);
    let err = BenchmarkDef::parse(&two_seeds, Path::new("b.toml")).unwrap_err().to_string();
    assert!(err.contains("at least 3 seeds"), "{err}");

    let no_protocol = TIER2.replace("evaluation = \"top-1, one clip\"\n", "");
    let err = BenchmarkDef::parse(&no_protocol, Path::new("b.toml")).unwrap_err().to_string();
    assert!(err.contains("`evaluation`"), "{err}");
}

#[test]
fn loads_benchmarks_and_claimed_rows_from_a_project() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["b-second", "a-first"] {
        std::fs::create_dir_all(dir.path().join("benchmarks").join(name)).unwrap();
        std::fs::write(dir.path().join("benchmarks").join(name).join("benchmark.toml"), TIER2).unwrap();
    }
    std::fs::write(
        dir.path().join("benchmarks/claimed.toml"),
        r#"[[claimed]]
paper = "LART"
source = "Table 3"
benchmark = "ava-lart"
dataset = "AVA"
split = "val"
model = "LART"
metric = "mAP"
value = 45.1
unit = "points"
[claimed.protocol]
ava-version = "2.2"
"#,
    )
    .unwrap();
    let names: Vec<String> = load_benchmarks(dir.path()).unwrap().into_iter().map(|b| b.name).collect();
    assert_eq!(names, ["a-first", "b-second"]);
    let claimed = load_claimed(dir.path()).unwrap();
    assert_eq!(claimed[0].value, 45.1);
    assert_eq!(claimed[0].protocol["ava-version"], "2.2");
}

#[test]
fn the_projects_own_claimed_rows_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if root.join("benchmarks/claimed.toml").exists() {
        let claimed = load_claimed(&root).unwrap();
        assert!(claimed.len() >= 10, "the four papers' headline numbers");
        for paper in ["LART", "PViT", "UPS", "MultiTask"] {
            assert!(claimed.iter().any(|c| c.paper == paper), "{paper} has claimed rows");
        }
    }
}
