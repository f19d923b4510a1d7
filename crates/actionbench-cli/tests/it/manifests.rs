//! Dataset manifests: publish from an ingest stage, change the data,
//! publish again; `manifest diff` equals its SQL join, `manifest verify`
//! names the changed and missing files, versions are immutable and a
//! tampered file is caught; the Croissant file loads in `mlcroissant`.

use serde_json::{Value, json};

use crate::harness::Project;

/// (sample_id, change) pairs of `manifest diff --format json`.
fn diff_pairs(p: &Project, name: &str) -> Vec<(String, String, Vec<String>)> {
    let d = p.json(&["manifest", "diff", name, "v1", "v2", "--format", "json"]);
    d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let what = c["what"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect();
            (c["sample_id"].as_str().unwrap().to_string(), c["change"].as_str().unwrap().to_string(), what)
        })
        .collect()
}

/// The same pairs from the SQL join `manifest diff --sql` prints.
fn sql_pairs(p: &Project, name: &str) -> Vec<(String, String)> {
    let sql = p.ok(&["manifest", "diff", name, "v1", "v2", "--sql"]).stdout;
    let rows = p.json(&["sql", sql.trim(), "--format", "json"]);
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| (r["sample_id"].as_str().unwrap().to_string(), r["change"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn ntu_manifests_are_versioned_diffed_verified_and_immutable() {
    let p = Project::new();
    let skeleton = crate::inspect::skeleton_text();
    // P001 and P002 are cross-subject training subjects, P003 is not.
    for name in ["S001C001P001R001A001", "S001C001P002R001A002", "S001C001P003R001A003", "S001C002P003R002A013"] {
        p.write(&format!("data/ntu/{name}.skeleton"), &skeleton);
    }
    p.write(
        "pipelines/n.toml",
        "[stages.ntu]\nuses = \"ingest.ntu\"\ninputs = [\"data/ntu\"]\nparams = { dataset = \"ntu60\" }\n",
    );
    p.ok(&["run", "n"]);
    let published =
        p.ok(&["manifest", "publish", "ntu60", "--from", "n.ntu", "-m", "first", "--licence", "CC BY-NC 4.0"]);
    assert!(published.stdout.starts_with("published ntu60@v1: 4 samples"), "{}", published.stdout);
    for file in [
        "manifests/ntu60/v1.parquet",
        "manifests/ntu60/v1.toml",
        "manifests/ntu60/v1.jsonld",
        "manifests/ntu60/index.toml",
        "pipelines/n.lock",
    ] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(p.path(file)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "{file} is committed and shared: readable by all");
    }
    let rows = p.json(&[
            "sql",
            "SELECT sample_id, label, xsub, xview, root, path, size, frame_end, shard, \"row\" FROM manifests.ntu60 ORDER BY sample_id",
            "--format",
            "json",
        ],
    );
    assert_eq!(rows.as_array().unwrap().len(), 4);
    assert_eq!(
        rows[0],
        json!({"sample_id": "S001C001P001R001A001", "label": 0, "xsub": "train", "xview": "val", "root": "data",
               "path": "S001C001P001R001A001.skeleton", "size": skeleton.len(), "frame_end": 2,
               "shard": "part-00000.parquet", "row": 0})
    );
    assert_eq!(rows[2]["xsub"], "val");
    let meta = p.json(&["manifest", "show", "ntu60@v1", "--format", "json"]);
    assert_eq!(meta["splits"]["xsub"], json!({"train": 2, "val": 2}));
    assert_eq!(meta["classes"], json!({"0": 1, "1": 1, "2": 1, "12": 1}));
    assert_eq!(meta["producer"]["stage"], "ntu");
    assert_eq!(meta["licence"], "CC BY-NC 4.0");

    // Nothing changed: nothing published. An explicit existing version is refused.
    let again = p.ok(&["manifest", "publish", "ntu60", "--from", "n.ntu"]);
    assert!(again.stderr.contains("unchanged since v1"), "{}", again.stderr);
    let v1_bytes = std::fs::read(p.path("manifests/ntu60/v1.parquet")).unwrap();
    let refused = p.run(&["manifest", "publish", "ntu60", "--from", "n.ntu", "--as-version", "1"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("already has version 1; published versions are never rewritten"),
        "{}",
        refused.stderr
    );

    // One file's content changes; one file is relabelled (NTU's label is the
    // action code in the file name, so its id changes too: removed + added).
    // One joint moves (x 0.5 -> 0.75 on the body line's lean): still a valid file.
    let changed = skeleton.replacen(" 0.5 -0.25 ", " 0.75 -0.25 ", 1);
    assert_ne!(changed, skeleton);
    p.write("data/ntu/S001C001P002R001A002.skeleton", &changed);
    std::fs::rename(p.path("data/ntu/S001C001P003R001A003.skeleton"), p.path("data/ntu/S001C001P003R001A004.skeleton"))
        .unwrap();
    p.ok(&["run", "n"]);
    // What a publish killed before its TOML leaves is not a version: the
    // next publish replaces it.
    p.write("manifests/ntu60/v2.parquet", "half a file");
    p.write("manifests/ntu60/v2.jsonld", "{");
    let published = p.ok(&["manifest", "publish", "ntu60", "--from", "n.ntu", "-m", "fixed"]);
    assert!(published.stdout.starts_with("published ntu60@v2"), "{}", published.stdout);
    assert_eq!(std::fs::read(p.path("manifests/ntu60/v1.parquet")).unwrap(), v1_bytes, "v1 is never rewritten");
    let v2 = p.json(&["manifest", "show", "ntu60@v2", "--format", "json"]);
    assert_eq!((v2["parent"].as_u64(), v2["licence"].as_str()), (Some(1), Some("CC BY-NC 4.0")), "the licence is kept");

    let diff = diff_pairs(&p, "ntu60");
    assert_eq!(
        diff,
        [
            ("S001C001P002R001A002".into(), "changed".into(), vec!["content".to_string()]),
            ("S001C001P003R001A003".into(), "removed".into(), vec![]),
            ("S001C001P003R001A004".into(), "added".into(), vec![]),
        ]
    );
    let sql = sql_pairs(&p, "ntu60");
    assert_eq!(sql, diff.iter().map(|(id, c, _)| (id.clone(), c.clone())).collect::<Vec<_>>());

    // Verify: v2 matches the data here; v1 names the changed and the missing file.
    let ok = p.json(&["manifest", "verify", "ntu60", "--format", "json"]);
    assert_eq!((ok["files"].as_u64(), ok["problems"].as_array().unwrap().len()), (Some(4), 0));
    let bad = p.run(&["manifest", "verify", "ntu60@v1"]);
    assert_eq!(bad.code, 1);
    let lines: Vec<&str> = bad.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", bad.stdout);
    assert!(
        lines[0].starts_with("differs  ") && lines[0].contains("data/ntu/S001C001P002R001A002.skeleton"),
        "{}",
        bad.stdout
    );
    assert!(
        lines[1].starts_with("missing  ") && lines[1].ends_with("data/ntu/S001C001P003R001A003.skeleton"),
        "{}",
        bad.stdout
    );
    assert!(bad.stderr.contains("4 source files checked, 1 missing, 1 differ"), "{}", bad.stderr);
    // A collaborator's copy elsewhere, given with --root.
    let elsewhere = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(p.path("data/ntu")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), elsewhere.path().join(entry.file_name())).unwrap();
    }
    let root = elsewhere.path().display().to_string();
    let copy = p.json(&["manifest", "verify", "ntu60@v2", "--root", &root, "--format", "json"]);
    assert_eq!(copy["problems"], json!([]));
    std::fs::remove_file(elsewhere.path().join("S001C002P003R002A013.skeleton")).unwrap();
    let copy = p.run(&["manifest", "verify", "ntu60@v2", "--root", &format!("data={root}")]);
    assert_eq!(copy.code, 1);
    assert!(copy.stdout.contains("S001C002P003R002A013.skeleton"), "{}", copy.stdout);

    // The latest version is `manifests.NAME`; each is `manifests."NAME@vN"`.
    let n = p.json(&[
        "sql",
        "SELECT (SELECT count(*) FROM manifests.\"ntu60@v1\") AS v1, (SELECT count(*) FROM manifests.ntu60) AS latest",
        "--format",
        "json",
    ]);
    assert_eq!(n, json!([{"v1": 4, "latest": 4}]));

    // A tampered version is caught, by SQL and by every command.
    let mut tampered = v1_bytes.clone();
    tampered.push(0);
    std::fs::write(p.path("manifests/ntu60/v1.parquet"), &tampered).unwrap();
    let r = p.run(&["sql", "SELECT 1"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("v1.parquet` was changed after it was published"), "{}", r.stderr);
    assert!(p.run(&["manifest", "diff", "ntu60", "v1", "v2"]).stderr.contains("was changed after it was published"));
    std::fs::write(p.path("manifests/ntu60/v1.parquet"), &v1_bytes).unwrap();
    let toml = p.read("manifests/ntu60/v2.toml");
    p.write("manifests/ntu60/v2.toml", &toml.replace("fixed", "edited"));
    let r = p.run(&["manifest", "show", "ntu60@v2"]);
    assert!(r.stderr.contains("v2.toml` was changed after it was published"), "{}", r.stderr);
    p.write("manifests/ntu60/v2.toml", &toml);

    // Croissant: the JSON-LD loads in MLCommons' own library, with its records.
    let script = "import sys, mlcroissant as mlc\n\
                  ds = mlc.Dataset(jsonld=sys.argv[1])\n\
                  rows = list(ds.records(record_set='samples'))\n\
                  print(len(rows), ds.metadata.name)\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script, &p.path("manifests/ntu60/v2.jsonld").display().to_string()])
        .output()
        .expect("python3 runs (scripts/test installs mlcroissant)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "mlcroissant rejects it:\n{stderr}");
    assert!(!stderr.contains("is not standard"), "the context is Croissant 1.0's own:\n{stderr}");
    assert!(!stderr.contains("license\" is recommended"), "the licence given is there:\n{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "4 ntu60");
}

#[test]
fn a_relabelled_sample_is_a_label_change() {
    let p = Project::new();
    let csv = "label,youtube_id,time_start,time_end,split\nabseiling,aaa,0,10,train\nbowling,bbb,5,15,train\nbowling,ccc,0,10,val\n";
    p.write("data/k400/train.csv", csv);
    p.write("pipelines/k.toml", "[stages.labels]\nuses = \"ingest.labels\"\ninputs = [\"data/k400/train.csv\"]\nparams = { format = \"kinetics-csv\" }\n");
    p.ok(&["run", "k"]);
    p.ok(&["manifest", "publish", "k400", "--from", "k.labels"]);
    p.write("data/k400/train.csv", &csv.replace("bowling,ccc", "abseiling,ccc"));
    p.ok(&["run", "k"]);
    p.ok(&["manifest", "publish", "k400", "--from", "k.labels"]);
    let diff = diff_pairs(&p, "k400");
    // Every row's source is the one CSV, whose content changed.
    assert_eq!(
        diff,
        [
            ("aaa_000000_000010".into(), "changed".into(), vec!["content".to_string()]),
            ("bbb_000005_000015".into(), "changed".into(), vec!["content".to_string()]),
            ("ccc_000000_000010".into(), "changed".into(), vec!["label".to_string(), "content".to_string()]),
        ]
    );
    assert_eq!(sql_pairs(&p, "k400"), diff.iter().map(|(id, c, _)| (id.clone(), c.clone())).collect::<Vec<_>>());
    let labels = p.json(&[
            "sql",
            "SELECT a.label AS a, b.label AS b FROM manifests.\"k400@v1\" a JOIN manifests.\"k400@v2\" b USING (sample_id) WHERE a.label <> b.label",
            "--format",
            "json",
        ],
    );
    assert_eq!(labels, json!([{"a": 1, "b": 0}]));
}

const PINNED: &str = r#"
[stages.ntu]
uses = "ingest.ntu"
inputs = ["data/ntu"]
params = { dataset = "ntu60" }

[stages.train]
uses = "train"
inputs = ["@ntu", "manifests/ntu60/v1.parquet"]
[stages.train.params]
model = { kind = "stgcn", num-classes = 60, size = "tiny" }
data = { manifest = "ntu60@v1", filter = "xsub = 'train'", batch-size = 2, skeleton = { frames = 2, bodies = 1 } }
train = { optimizer = { kind = "sgd", momentum = 0.9, nesterov = false, weight-decay = 0.0 }, lr = 0.1, epochs = 1, seed = 0 }

[stages.predict]
uses = "predict"
inputs = ["@train", "@ntu", "manifests/ntu60/v1.parquet"]
params = { model = "@train", manifest = "ntu60@v1", filter = "xsub = 'val'" }

[stages.eval]
uses = "eval.classify"
inputs = ["@predict"]
params = { pred = "@predict", topk = [1] }
"#;

#[test]
fn a_training_run_pinned_to_a_manifest_version() {
    let p = Project::new();
    let skeleton = crate::inspect::skeleton_text();
    for name in ["S001C001P001R001A001", "S001C001P002R001A002", "S001C001P003R001A003", "S001C002P003R002A013"] {
        p.write(&format!("data/ntu/{name}.skeleton"), &skeleton);
    }
    // A sample outside the manifest: ingested, but not trained on.
    p.write("pipelines/n.toml", &PINNED[..PINNED.find("[stages.train]").unwrap()]);
    p.ok(&["run", "n"]);
    p.ok(&["manifest", "publish", "ntu60", "--from", "n.ntu"]);
    p.write("data/ntu/S001C001P004R001A005.skeleton", &skeleton);

    // The manifest's file must be an input (its content is in the key).
    p.write(
        "pipelines/n.toml",
        &PINNED.replace(", \"manifests/ntu60/v1.parquet\"]\n[stages.train.params]", "]\n[stages.train.params]"),
    );
    let r = p.run(&["run", "n", "train"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("`manifests/ntu60/v1.parquet` is not one of the stage's `inputs`"), "{}", r.stderr);

    p.write("pipelines/n.toml", PINNED);
    p.ok(&["run", "n"]);
    // What `predict` scored: the manifest's val samples (P003); P004 (a
    // training subject anyway) is in the table but not in v1.
    let scored = p.json(&["sql", "SELECT sample_id FROM n.predict ORDER BY sample_id", "--format", "json"]);
    assert_eq!(scored, json!([{"sample_id": "S001C001P003R001A003"}, {"sample_id": "S001C002P003R002A013"}]));
    // The training run saw the two training samples of v1, not P004's.
    let steps = p.json(&["sql", "SELECT steps FROM n.train_runs", "--format", "json"]);
    assert_eq!(steps[0]["steps"], 1, "2 samples, batch 2, 1 epoch");

    // The leaderboard records the manifest version and its hash.
    let top1 = p.json(&[
        "sql",
        "SELECT value FROM actionbench.metrics WHERE stage = 'eval' AND metric = 'top1'",
        "--format",
        "json",
    ]);
    let top1 = top1[0]["value"].as_f64().unwrap();
    p.write(
        "benchmarks/pinned/benchmark.toml",
        &format!(
            "title = \"pinned\"\ntier = 0\npipeline = \"n\"\nstages = [\"eval\"]\ndataset = \"ntu60@v1\"\nsplit = \"xsub-val\"\nmodel = \"ST-GCN\"\n\n[protocol]\ndataset-version = \"ntu60@v1\"\nevaluation = \"top-1\"\n\n[[metrics]]\nname = \"top1\"\nexpected = {top1:?}\n"
        ),
    );
    let run = p.run(&["leaderboard", "run", "pinned"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let results = std::fs::read_dir(p.path("benchmarks/pinned/results")).unwrap().next().unwrap().unwrap().path();
    let record: Value = serde_json::from_str(&std::fs::read_to_string(results).unwrap()).unwrap();
    let hash = p.json(&["manifest", "show", "ntu60@v1", "--format", "json"])["parquet-blake3"].clone();
    assert_eq!(record["provenance"]["manifests"], json!({"ntu60@v1": hash}));

    // The data changes under the manifest: the pinned run refuses it.
    p.write("data/ntu/S001C001P001R001A001.skeleton", &skeleton.replacen(" 0.5 -0.25 ", " 0.75 -0.25 ", 1));
    let r = p.run(&["run", "n"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("sample `S001C001P001R001A001`'s source file is not the one manifest `ntu60@v1` records"),
        "{}",
        r.stderr
    );
}
