//! `actionbench status` says why each stage is stale (snapshots of the
//! transcript a user reads).

use crate::harness::{Project, with_snapshots};
use crate::run_order::diamond;

#[test]
fn status_explains_every_kind_of_change() {
    let p = diamond();
    p.write("data/raw/one.txt", "1\n").write("data/raw/two.txt", "2\n");
    let toml = p.read("pipelines/p.toml")
        + r#"
[stages.inventory]
uses = "files.manifest"
inputs = ["data/raw"]
"#;
    p.write("pipelines/p.toml", &toml);
    with_snapshots(|| {
        insta::assert_snapshot!("status_never_run", p.ok(&["status", "p"]).stdout);
        p.ok(&["run", "p"]);
        insta::assert_snapshot!("status_all_fresh", p.ok(&["status", "p"]).stdout);

        // One input file edited, one added to a directory input, a command
        // edited, an output modified by hand, a param added.
        p.write("data/in.txt", "changed\n");
        p.write("data/raw/two.txt", "2!\n").write("data/raw/three.txt", "3\n");
        let toml = p
            .read("pipelines/p.toml")
            .replace("echo e > out/e.txt", "echo E > out/e.txt")
            .replace("inputs = [\"data/raw\"]", "inputs = [\"data/raw\"]\nparams = { extensions = [\".txt\"] }");
        p.write("pipelines/p.toml", &toml);
        insta::assert_snapshot!("status_after_edits", p.ok(&["status", "p"]).stdout);

        p.ok(&["run", "p"]);
        p.write("out/d.txt", "tampered\n");
        std::fs::remove_file(p.path("out/e.txt")).unwrap();
        insta::assert_snapshot!("status_outputs_changed", p.ok(&["status", "p"]).stdout);
    });
}

#[test]
fn status_json_names_reasons() {
    let p = Project::new();
    p.write("data/a.txt", "a\n");
    p.write(
        "pipelines/j.toml",
        "[stages.one]\ncmd = \"cp data/a.txt out.txt\"\ndeps = [\"data/a.txt\"]\nouts = [\"out.txt\"]\n",
    );
    p.ok(&["run", "j"]);
    p.write("data/a.txt", "b\n");
    let doc: serde_json::Value = serde_json::from_str(&p.ok(&["status", "j", "--format", "json"]).stdout).unwrap();
    assert_eq!(doc[0]["stage"], "one");
    assert_eq!(doc[0]["state"], "stale");
    assert_eq!(doc[0]["reasons"][0]["reason"], "input-changed");
    assert_eq!(doc[0]["reasons"][0]["entry"], "data/a.txt");
    assert_eq!(doc[0]["reasons"][0]["message"], "input `data/a.txt` changed");
    let csv = p.ok(&["status", "j", "--format", "csv"]).stdout;
    assert!(csv.starts_with("stage,state,key,reasons\none,stale,"), "{csv}");
}

#[test]
fn tool_version_is_part_of_the_key() {
    let p = Project::new();
    p.write("tool-version.txt", "1.0\n");
    p.write(
        "pipelines/t.toml",
        "[stages.one]\ncmd = \"echo x > out.txt\"\nouts = [\"out.txt\"]\ntools = { mytool = \"cat tool-version.txt\" }\n",
    );
    p.ok(&["run", "t"]);
    p.write("tool-version.txt", "2.0\n");
    let out = p.ok(&["status", "t"]).stdout;
    assert!(out.contains("tool `mytool` changed: `1.0` -> `2.0`"), "{out}");
}
