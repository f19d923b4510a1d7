//! The crate DAG (the README's crate map): each crate may depend only
//! on the workspace crates listed for it, and heavy dependencies stay in
//! their corner. A new crate must be added here on purpose.

use std::collections::BTreeMap;

/// Workspace crate -> the workspace crates it may depend on.
const ALLOWED_INTERNAL: &[(&str, &[&str])] = &[
    ("actionbench-core", &[]),
    ("actionbench-pipeline", &["actionbench-core"]),
    ("actionbench-formats", &["actionbench-core"]),
    ("actionbench-metrics", &["actionbench-core"]),
    ("actionbench-shards", &["actionbench-core"]),
    // Dataset manifests: read stage tables (shards) found through the catalog.
    ("actionbench-manifest", &["actionbench-core", "actionbench-pipeline", "actionbench-shards"]),
    // The remote cache: stage outputs in the local cache, shared through object storage.
    ("actionbench-remote", &["actionbench-core", "actionbench-pipeline"]),
    // Stages as SLURM batch jobs (sbatch/squeue/sacct/scancel as processes).
    ("actionbench-slurm", &["actionbench-core", "actionbench-pipeline"]),
    // `sql --remote`: tables read in place from the remote's object store.
    (
        "actionbench-sql",
        &[
            "actionbench-core",
            "actionbench-manifest",
            "actionbench-pipeline",
            "actionbench-remote",
            "actionbench-shards",
        ],
    ),
    ("actionbench-synth", &["actionbench-core", "actionbench-formats", "actionbench-video"]),
    ("actionbench-video", &["actionbench-core"]),
    ("actionbench-loader", &["actionbench-core", "actionbench-pipeline", "actionbench-shards", "actionbench-sql"]),
    ("actionbench-models", &["actionbench-core"]),
    (
        "actionbench-leaderboard",
        &["actionbench-core", "actionbench-manifest", "actionbench-pipeline", "actionbench-shards"],
    ),
    // The fuzz harnesses call every parser that reads files from strangers.
    ("actionbench-fuzz", &["actionbench-formats", "actionbench-loader", "actionbench-pipeline", "actionbench-stages"]),
    (
        "actionbench-train",
        &[
            "actionbench-core",
            "actionbench-pipeline",
            "actionbench-metrics",
            "actionbench-shards",
            "actionbench-sql",
            "actionbench-loader",
            "actionbench-models",
            // `model.init`: PyTorch checkpoints through the safe reader.
            "actionbench-formats",
            // `data.manifest`: runs pinned to a published manifest version.
            "actionbench-manifest",
        ],
    ),
    (
        "actionbench-stages",
        &[
            "actionbench-core",
            "actionbench-pipeline",
            "actionbench-formats",
            "actionbench-metrics",
            "actionbench-shards",
        ],
    ),
    (
        "actionbench-video-stages",
        &[
            "actionbench-core",
            "actionbench-pipeline",
            "actionbench-formats",
            "actionbench-shards",
            "actionbench-stages",
            "actionbench-synth",
            "actionbench-video",
        ],
    ),
    (
        "actionbench-cli",
        &[
            "actionbench-core",
            "actionbench-pipeline",
            "actionbench-stages",
            "actionbench-formats",
            "actionbench-metrics",
            "actionbench-shards",
            "actionbench-sql",
            "actionbench-train",
            "actionbench-leaderboard",
            "actionbench-manifest",
            "actionbench-remote",
            "actionbench-slurm",
        ],
    ),
    (
        "actionbench-ffmpeg",
        &["actionbench-core", "actionbench-cli", "actionbench-synth", "actionbench-video", "actionbench-video-stages"],
    ),
    // The Python package (`python/`): the command line's run/status
    // (`actionbench_cli::embed`), SQL, the loader, the catalog, shards.
    (
        "actionbench-py",
        &[
            "actionbench-cli",
            "actionbench-core",
            "actionbench-loader",
            "actionbench-pipeline",
            "actionbench-shards",
            "actionbench-sql",
        ],
    ),
];

/// Heavy or terminal-facing external crates -> the only workspace crates
/// allowed to name them.
const CORNERS: &[(&str, &[&str])] = &[
    ("datafusion", &["actionbench-sql"]),
    // The HTTP client, TLS and cloud credentials come with it (SQL names
    // its store type to register the remote with DataFusion).
    ("object_store", &["actionbench-remote", "actionbench-sql"]),
    ("burn", &["actionbench-loader", "actionbench-models", "actionbench-train"]),
    ("burn-cuda", &["actionbench-train", "actionbench-models"]),
    // LibTorch (the `libtorch` feature's thread setting): the trainer only.
    ("tch", &["actionbench-train"]),
    ("indicatif", &["actionbench-cli"]),
    ("ffmpeg-next", &["actionbench-video"]),
    ("plotters", &["actionbench-leaderboard"]),
    // Nothing but the Python package links Python.
    ("pyo3", &["actionbench-py"]),
    // The binary's global allocator; a library must not choose one. The
    // shards write benchmark and the training-step benchmarks (examples,
    // dev-dependencies) mirror the binary.
    ("mimalloc", &["actionbench-cli", "actionbench-ffmpeg", "actionbench-shards", "actionbench-train"]),
    ("libmimalloc-sys", &["actionbench-cli", "actionbench-ffmpeg", "actionbench-train"]),
];

#[test]
fn crate_dependencies_follow_the_dag() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED_INTERNAL.iter().copied().collect();
    let mut problems = Vec::new();
    for package in meta["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        let Some(ok_internal) = allowed.get(name) else {
            problems.push(format!("`{name}` is not in the DAG table of depcheck.rs: add it with its allowed edges"));
            continue;
        };
        for dep in package["dependencies"].as_array().unwrap() {
            let dep_name = dep["name"].as_str().unwrap();
            let dev = dep["kind"].as_str() == Some("dev");
            if dep_name.starts_with("actionbench-") && !dev && !ok_internal.contains(&dep_name) {
                problems.push(format!("`{name}` depends on `{dep_name}`, which the DAG does not allow"));
            }
            if let Some((_, owners)) = CORNERS.iter().find(|(c, _)| *c == dep_name)
                && !owners.contains(&name)
            {
                problems.push(format!("`{name}` depends on `{dep_name}`, which belongs in {owners:?} only"));
            }
        }
    }
    assert!(problems.is_empty(), "crate DAG violations:\n{}", problems.join("\n"));
}

/// `actionbench` (crate `actionbench-cli`) must have no path to FFmpeg: no
/// normal dependency, direct or transitive, may reach `ffmpeg-next` or
/// `ffmpeg-sys-next`. Checked on the resolved graph, so an edge added
/// anywhere below the CLI fails here, while `actionbench-ffmpeg` must reach
/// it (so the check can see FFmpeg at all).
#[test]
fn actionbench_has_no_dependency_path_to_ffmpeg() {
    // This machine's platform only: other platforms' dependencies are not
    // downloaded, and the question is about the binary built here.
    let rustc = std::process::Command::new("rustc").arg("-vV").output().expect("run rustc -vV");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc -vV names the host");
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline", "--locked", "--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    // Package id -> its normal (not dev, not build) dependencies.
    let mut deps: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().unwrap() {
        let normal = node["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["dep_kinds"].as_array().unwrap().iter().any(|k| k["kind"].is_null()));
        deps.insert(node["id"].as_str().unwrap(), normal.map(|d| d["pkg"].as_str().unwrap()).collect());
    }
    let path_to_ffmpeg = |from: &str| -> Option<Vec<String>> {
        let start = names.iter().find(|(_, n)| **n == from).map(|(id, _)| *id).expect("workspace crate");
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(id) = queue.pop_front() {
            if matches!(names[id], "ffmpeg-next" | "ffmpeg-sys-next") {
                let mut path = vec![names[id].to_string()];
                let mut at = id;
                while let Some(p) = parent.get(at) {
                    path.push(names[p].to_string());
                    at = p;
                }
                path.reverse();
                return Some(path);
            }
            for &d in deps.get(id).map(Vec::as_slice).unwrap_or_default() {
                if d != start && !parent.contains_key(d) {
                    parent.insert(d, id);
                    queue.push_back(d);
                }
            }
        }
        None
    };
    assert!(path_to_ffmpeg("actionbench-ffmpeg").is_some(), "actionbench-ffmpeg should reach FFmpeg");
    // The Python wheel runs video pipelines through the command line, so
    // it links no FFmpeg either.
    for krate in ["actionbench-cli", "actionbench-py"] {
        if let Some(path) = path_to_ffmpeg(krate) {
            panic!("`{krate}` reaches FFmpeg: {}", path.join(" -> "));
        }
    }
}
