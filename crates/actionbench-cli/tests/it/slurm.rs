//! `run --executor slurm` on a real one-node SLURM cluster on loopback
//! (`scripts/lib/slurm-cluster`: Debian's slurmctld/slurmd/munge, which
//! `scripts/test` installs and starts; a test run alone starts it too).

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::harness::{Project, Run, wait_for_exit, wait_for_file};

/// `SLURM_CONF` of the test cluster, started if it is not answering.
fn cluster() -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/lib/slurm-cluster");
    let out = Command::new(script).arg("up").output().expect("run scripts/lib/slurm-cluster");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "scripts/lib/slurm-cluster up failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.trim().strip_prefix("SLURM_CONF=").expect("it prints SLURM_CONF=PATH").to_string()
}

fn command(p: &Project, conf: &str, args: &[&str]) -> Command {
    let mut cmd = p.command(args);
    cmd.env("SLURM_CONF", conf).env("ACTIONBENCH_SLURM_POLL_MS", "100");
    cmd
}

fn run(p: &Project, conf: &str, args: &[&str]) -> Run {
    Run::from(command(p, conf, args).output().expect("run actionbench"))
}

fn slurm_tool(conf: &str, tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).env("SLURM_CONF", conf).output().expect("run a SLURM command");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The state a job settles in (`COMPLETING` passes while its processes
/// are cleaned up): polled until final, with a deadline.
fn final_state(conf: &str, job: &str) -> String {
    let start = std::time::Instant::now();
    loop {
        let state = slurm_tool(conf, "squeue", &["-h", "-t", "all", "-o", "%T", "-j", job]).trim().to_string();
        if !matches!(state.as_str(), "PENDING" | "RUNNING" | "COMPLETING" | "CONFIGURING") {
            return state;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "job {job} stays {state}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The remote tests' NTU pipeline, with resources for its train stage,
/// and its ingest split into `partitions` parts (a job array on SLURM).
/// Besides the remote tests' four files, 96 of a test subject (only
/// `predict` reads them): 100 samples make four read chunks of
/// `ingest.ntu`, one per part.
fn ntu_project(partitions: Option<u32>) -> Project {
    let p = Project::new();
    crate::remote::ntu_files(&p);
    let skeleton = crate::inspect::skeleton_text();
    for k in 0..96 {
        p.write(&format!("data/ntu/S00{}C001P006R001A{:03}.skeleton", 1 + k / 48, 1 + k % 48), &skeleton);
    }
    let mut pipeline = crate::remote::PIPELINE.replace(
        "inputs = [\"@ntu\"]\n[stages.train.params]",
        "inputs = [\"@ntu\"]\nresources = { cpus = 1, mem = \"200M\", time = \"00:10:00\" }\n[stages.train.params]",
    );
    assert_ne!(pipeline, crate::remote::PIPELINE);
    if let Some(n) = partitions {
        pipeline = pipeline.replace(
            "params = { dataset = \"ntu60\" }",
            &format!("params = {{ dataset = \"ntu60\" }}\npartitions = {n}"),
        );
        assert!(pipeline.contains("partitions"));
    }
    p.write("pipelines/n.toml", &pipeline);
    p
}

#[test]
fn stages_run_as_slurm_jobs_with_their_resources_and_match_a_local_run() {
    let conf = cluster();
    let p = ntu_project(Some(4));
    let r = run(&p, &conf, &["run", "n", "--executor", "slurm", "--format", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let stages = doc.as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["stage"].as_str().unwrap()).collect();
    assert_eq!(names, ["ntu", "train", "predict", "eval"]);
    for s in stages {
        assert_eq!(s["status"], "ran", "{s}");
        assert!(s["job"].as_str().is_some_and(|j| j.parse::<u64>().is_ok()), "{s}");
        // squeue saw every job.
        assert!(!s["states"].as_array().unwrap().is_empty(), "{s}");
        let log = std::path::PathBuf::from(s["log"].as_str().unwrap());
        assert!(log.is_file(), "one log per stage: {}", log.display());
    }
    // The ingest's four parts ran as an array whose every task squeue saw;
    // the stage's own job merged them after the whole array.
    let array = &stages[0]["array"];
    let array_job = array["job"].as_str().unwrap();
    assert_eq!(array["parts"], 4, "{array}");
    let tasks: Vec<&String> = array["tasks"].as_object().unwrap().keys().collect();
    assert_eq!(tasks, (0..4).map(|i| format!("{array_job}_{i}")).collect::<Vec<_>>().iter().collect::<Vec<_>>());
    for (task, states) in array["tasks"].as_object().unwrap() {
        assert!(!states.as_array().unwrap().is_empty(), "{task}: {array}");
    }
    for stage in stages.iter().skip(1) {
        assert!(stage["array"].is_null(), "{stage}");
    }
    let merge_job = stages[0]["job"].as_str().unwrap();
    let shown = slurm_tool(&conf, "scontrol", &["show", "job", &format!("{array_job}_3")]);
    assert!(shown.contains("JobName=ab:n:ntu:part") && shown.contains("ArrayTaskId=3"), "{shown}");
    let time = |job: &str, field: &str| -> String {
        let shown = slurm_tool(&conf, "scontrol", &["show", "job", job]);
        let at = shown.find(&format!("{field}=")).unwrap_or_else(|| panic!("no {field} in:\n{shown}"));
        shown[at + field.len() + 1..].split_whitespace().next().unwrap().to_string()
    };
    for i in 0..4 {
        assert!(time(merge_job, "EligibleTime") >= time(&format!("{array_job}_{i}"), "EndTime"), "part {i}");
    }
    // The train job got the stage's resources.
    let train_job = stages[1]["job"].as_str().unwrap();
    let shown = slurm_tool(&conf, "scontrol", &["show", "job", train_job]);
    for want in ["NumCPUs=1", "MinMemoryNode=200M", "TimeLimit=00:10:00", "JobName=ab:n:train"] {
        assert!(shown.contains(want), "{want} not in:\n{shown}");
    }
    // ... and the jobs waited for each other: predict became eligible
    // when train ended (SLURM clears a satisfied dependency, so its times
    // say it).
    let predict_job = stages[2]["job"].as_str().unwrap();
    assert!(time(predict_job, "EligibleTime") >= time(train_job, "EndTime"));

    // The same pipeline run here, in one process, without partitions,
    // gives the same keys and the same bytes.
    // Except `train`'s own directory: its `runs` table records the wall
    // time, and Burn gives every parameter a random id in `model.mpk`, so
    // two local runs differ there too; its weights are compared through
    // `predict`, whose output is byte-identical.
    let local = ntu_project(None);
    local.ok(&["run", "n"]);
    let lock = |p: &Project| -> toml::Table { toml::from_str(&p.read("pipelines/n.lock")).unwrap() };
    let (here, there) = (lock(&local), lock(&p));
    for stage in ["ntu", "train", "predict", "eval"] {
        assert_eq!(here["stages"][stage]["key"], there["stages"][stage]["key"], "{stage}");
        if stage != "train" {
            assert_eq!(here["stages"][stage]["outputs"], there["stages"][stage]["outputs"], "{stage}");
        }
    }

    // Nothing is stale: nothing is submitted.
    let again = run(&p, &conf, &["run", "n", "--executor", "slurm", "--format", "json"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let doc: Value = serde_json::from_str(&again.stdout).unwrap();
    assert!(doc.as_array().unwrap().iter().all(|s| s["status"] == "cached" && s["job"].is_null()), "{doc}");
}

#[test]
fn a_failed_job_says_why_and_what_depended_on_it_is_removed() {
    let conf = cluster();
    let p = Project::new();
    p.write(
        "pipelines/n.toml",
        "[stages.bad]\ncmd = \"echo going wrong >&2; exit 3\"\nouts = [\"out/bad.txt\"]\n\n\
         [stages.after]\ncmd = \"cp out/bad.txt out/after.txt\"\ndeps = [\"out/bad.txt\"]\nouts = [\"out/after.txt\"]\n",
    );
    let r = run(&p, &conf, &["run", "n", "--executor", "slurm", "--format", "json"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc[0]["status"], "failed", "{doc}");
    assert_eq!(doc[1]["status"], "skipped", "{doc}");
    assert!(doc[1]["reason"].as_str().unwrap().contains("upstream stage `bad` did not complete"), "{doc}");
    assert!(r.stderr.contains("stage `bad` failed") && r.stderr.contains("going wrong"), "{}", r.stderr);
    assert!(r.stderr.contains(&format!("job {}", doc[0]["job"].as_str().unwrap())), "{}", r.stderr);
    let after = doc[1]["job"].as_str().unwrap();
    assert_eq!(final_state(&conf, after), "CANCELLED");
    let reason = slurm_tool(&conf, "squeue", &["-h", "-t", "all", "-o", "%r", "-j", after]);
    assert_eq!(reason.trim(), "DependencyNeverSatisfied");
}

#[test]
fn a_failed_part_is_named_with_its_error_and_the_merge_is_removed() {
    let conf = cluster();
    let p = ntu_project(Some(4));
    // Sorts last: the fourth part reads it, and fails (`on-error = "fail"`).
    p.write("data/ntu/S017C003P040R002A060.skeleton", "2\n1\n");
    let pipeline = p.read("pipelines/n.toml");
    p.write("pipelines/n.toml", &pipeline[..pipeline.find("[stages.train]").unwrap()]);
    let r = run(&p, &conf, &["run", "n", "--executor", "slurm", "--format", "json"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc[0]["status"], "failed", "{doc}");
    let array = doc[0]["array"]["job"].as_str().unwrap();
    let error = doc[0]["error"].as_str().unwrap();
    for want in [
        format!("job {array}_3 (FAILED, exit 1): part 3 of 4 failed: "),
        "S017C003P040R002A060.skeleton".to_string(),
        "last lines of its log".to_string(),
    ] {
        assert!(error.contains(&want), "{want:?} not in: {error}");
    }
    assert_eq!(final_state(&conf, doc[0]["job"].as_str().unwrap()), "CANCELLED");
    // The other parts are kept for the next run; the failed one is not there.
    let parts: Vec<String> = std::fs::read_dir(p.path(".actionbench/v1/parts"))
        .unwrap()
        .flat_map(|key| std::fs::read_dir(key.unwrap().path()).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(parts, ["0-of-4", "1-of-4", "2-of-4"]);
}

#[test]
fn ctrl_c_cancels_the_submitted_jobs() {
    let conf = cluster();
    let p = Project::new();
    p.write(
        "pipelines/n.toml",
        "[stages.hold]\ncmd = \"touch started; while [ ! -e release ]; do sleep 0.1; done; touch out.txt\"\n\
         outs = [\"out.txt\"]\n\n[stages.next]\ncmd = \"cp out.txt next.txt\"\ndeps = [\"out.txt\"]\nouts = [\"next.txt\"]\n",
    );
    let child = command(&p, &conf, &["run", "n", "--executor", "slurm", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&p.path("started"));
    let pid = child.id();
    assert!(Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap().success());
    wait_for_exit(pid);
    let r = Run::from(child.wait_with_output().unwrap());
    assert_eq!(r.code, 130, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("interrupted: the submitted jobs that had not ended were cancelled"), "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    for s in doc.as_array().unwrap() {
        let job = s["job"].as_str().unwrap();
        assert!(s["error"].as_str().unwrap().contains(&format!("job {job} was cancelled")), "{s}");
        assert_eq!(final_state(&conf, job), "CANCELLED", "job {job}");
    }
    assert!(!p.path("out.txt").exists());
}

#[test]
fn bad_resources_name_the_line() {
    let p = Project::new();
    p.write("pipelines/n.toml", "[stages.a]\ncmd = \"true\"\nouts = [\"a\"]\nresources = { mem = \"32GB\" }\n");
    let r = p.run(&["status", "n"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("pipelines/n.toml:4: stage `a`: bad `resources`: `mem = \"32GB\"` is not a size"),
        "{}",
        r.stderr
    );
    p.write("pipelines/n.toml", "[stages.a]\ncmd = \"true\"\nouts = [\"a\"]\nresources = { cpu = 2 }\n");
    let r = p.run(&["status", "n"]);
    assert!(
        r.stderr.contains("unknown field `cpu`") && r.stderr.contains("hint: `resources` takes cpus"),
        "{}",
        r.stderr
    );
}
