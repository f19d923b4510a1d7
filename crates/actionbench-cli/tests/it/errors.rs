//! Bad pipeline files and bad arguments: clear errors naming file, line and
//! stage, exit code 1 (2 for usage errors), and nothing run.

use crate::harness::{Project, with_snapshots};

fn error_of(toml: &str) -> String {
    let p = Project::new();
    p.write("data/a.txt", "a\n");
    p.write("pipelines/bad.toml", toml);
    let r = p.run(&["run", "bad"]);
    assert_eq!(r.code, 1, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stdout.is_empty(), "nothing on stdout: {}", r.stdout);
    assert!(!p.path("pipelines/bad.lock").exists(), "nothing ran");
    r.stderr
}

#[test]
fn pipeline_file_errors_name_file_line_and_stage() {
    with_snapshots(|| {
        insta::assert_snapshot!(
            "error_unknown_key",
            error_of("[stages.a]\ncmd = \"true\"\nouts = []\ndesp = [\"data/a.txt\"]\n")
        );
        insta::assert_snapshot!("error_type", error_of("[stages.a]\ncmd = \"true\"\nouts = \"out.txt\"\n"));
        insta::assert_snapshot!("error_syntax", error_of("[stages.a]\ncmd = \"true\n"));
        insta::assert_snapshot!(
            "error_missing_input",
            error_of(
                "[stages.a]\ncmd = \"true\"\n\n[stages.b]\ncmd = \"true\"\ndeps = [\n  \"data/a.txt\",\n  \"data/nope.txt\",\n]\n"
            )
        );
        insta::assert_snapshot!(
            "error_cycle",
            error_of(
                "[stages.a]\ncmd = \"true\"\ndeps = [\"@c\"]\n\n[stages.b]\ncmd = \"true\"\ndeps = [\"@a\"]\n\n[stages.c]\ncmd = \"true\"\ndeps = [\"@b\"]\n"
            )
        );
        insta::assert_snapshot!(
            "error_unknown_kind",
            error_of("[stages.a]\nuses = \"files.manifets\"\ninputs = [\"data\"]\n")
        );
        insta::assert_snapshot!(
            "error_bad_param",
            error_of(
                "[stages.a]\nuses = \"files.manifest\"\ninputs = [\"data\"]\nparams = { extension = [\".csv\"] }\n"
            )
        );
        insta::assert_snapshot!(
            "error_param_type",
            error_of(
                "[stages.a]\nuses = \"files.manifest\"\ninputs = [\"data\"]\nparams = { extensions = \".csv\" }\n"
            )
        );
        insta::assert_snapshot!(
            "error_out_escapes",
            error_of("[stages.a]\ncmd = \"true\"\nouts = [\"../../etc/x\"]\n")
        );
        insta::assert_snapshot!("error_unknown_ref", error_of("[stages.a]\ncmd = \"true\"\ndeps = [\"@nope\"]\n"));
        insta::assert_snapshot!(
            "error_placeholder_not_in_deps",
            error_of("[stages.a]\ncmd = \"cat {@b}\"\n[stages.b]\ncmd = \"true\"\n")
        );
    });
}

#[test]
fn unknown_pipeline_and_stage_and_usage_errors() {
    let p = Project::new();
    p.write("pipelines/ok.toml", "[stages.a]\ncmd = \"true\"\n\n[stages.train-s0]\ncmd = \"true\"\n");
    let r = p.run(&["run", "nope"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("error: No pipeline `nope`"), "{}", r.stderr);
    assert!(r.stderr.contains("hint: "), "{}", r.stderr);
    let r = p.run(&["run", "ok", "b"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr, "error: Pipeline `ok` has no stage `b`\n\nhint: The stages are: `a`, `train-s0`\n");
    // A prefix of a stage's name suggests it.
    let r = p.run(&["run", "ok", "train"]);
    assert_eq!(
        r.stderr,
        "error: Pipeline `ok` has no stage `train`\n\nhint: Did you mean `train-s0`? The stages are: `a`, `train-s0`\n"
    );
    // Usage errors exit 2.
    assert_eq!(p.run(&["run"]).code, 2);
    assert_eq!(p.run(&["run", "ok", "-j", "0"]).code, 2);
    assert_eq!(p.run(&["frobnicate"]).code, 2);
    let help = p.run(&["run", "--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("--dry-run"), "{}", help.stdout);
    // Outside a project.
    let outside = tempfile::tempdir().unwrap();
    let r = std::process::Command::new(crate::harness::bin())
        .args(["status", "x"])
        .current_dir(outside.path())
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("No actionbench project here"));
}

#[test]
fn failing_command_keeps_previous_output_and_reports_its_stderr() {
    let p = Project::new();
    p.write("pipelines/f.toml", "[stages.a]\ncmd = \"echo good > out.txt\"\nouts = [\"out.txt\"]\n\n[stages.b]\ncmd = \"cat out.txt > b.txt\"\ndeps = [\"@a\"]\nouts = [\"b.txt\"]\n");
    p.ok(&["run", "f"]);
    let toml = p
        .read("pipelines/f.toml")
        .replace("echo good > out.txt", "echo partial > out.txt; echo 'disk on fire' >&2; exit 7");
    p.write("pipelines/f.toml", &toml);
    let r = p.run(&["run", "f", "--format", "json"]);
    assert_eq!(r.code, 1);
    assert_eq!(p.read("out.txt"), "good\n", "the previous output is kept");
    assert_eq!(crate::harness::pairs(&[("a", "failed"), ("b", "skipped")]), r.statuses());
    assert!(r.stderr.contains("stage `a` failed: the command failed (exit status 7)"), "{}", r.stderr);
    assert!(r.stderr.contains("disk on fire"), "{}", r.stderr);
    // A command that succeeds without writing its outs fails too.
    let toml = p.read("pipelines/f.toml").replace("echo partial > out.txt; echo 'disk on fire' >&2; exit 7", "true");
    p.write("pipelines/f.toml", &toml);
    let r = p.run(&["run", "f"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("did not produce `out.txt`"), "{}", r.stderr);
    assert_eq!(p.read("out.txt"), "good\n");
}

/// The three errors a user meets first, as they see them: a mistyped param
/// key (at the key's line and column), a truncated `.skeleton` (file, line,
/// hint), a SQL typo (message and caret, no Rust debug text).
#[test]
fn first_errors_transcripts() {
    with_snapshots(|| {
        insta::assert_snapshot!(
            "transcript_param_typo",
            error_of(
                "[stages.skel]\nuses = \"ingest.ntu\"\ninputs = [\"data\"]\n\n[stages.skel.params]\ndataset = \"ntu60\"\nmax-bodys = 2\n"
            )
        );

        let p = Project::new();
        let mut text = String::from("2\r\n1\r\n72057594037931101 0 1 2 1 3 0 0.5 -0.25 2\r\n25\r\n");
        for j in 0..8 {
            text.push_str(&format!("{} 0.5 3 256 212 960 540 1 0 0 0 2\r\n", j as f32 / 10.0));
        }
        p.write("data/skel/S001C002P003R002A013.skeleton", &text);
        p.write(
            "pipelines/n.toml",
            "[stages.skel]\nuses = \"ingest.ntu\"\ninputs = [\"data/skel\"]\nparams = { dataset = \"ntu60\", missing-list = \"none\" }\n",
        );
        let r = p.run(&["run", "n"]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        insta::assert_snapshot!("transcript_truncated_skeleton", r.stderr);

        let r = p.run(&["sql", "SELEC count(*) FROM n.skel"]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(!r.stderr.contains("ParserError("), "{}", r.stderr);
        insta::assert_snapshot!("transcript_sql_typo", r.stderr);
    });
}

/// `ingest.kinetics` is the start of `ingest.kinetics-skeleton`: the hint
/// names it (it used to list every kind).
#[test]
fn unknown_kind_suggests_the_kind_it_starts() {
    let p = Project::new();
    p.write("pipelines/k.toml", "[stages.k]\nuses = \"ingest.kinetics\"\ninputs = [\"data\"]\n");
    p.write("data/a.json", "{}");
    let r = p.run(&["run", "k"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("unknown stage kind `ingest.kinetics`"), "{}", r.stderr);
    assert!(r.stderr.contains("hint: Did you mean `ingest.kinetics-skeleton`?"), "{}", r.stderr);
}
