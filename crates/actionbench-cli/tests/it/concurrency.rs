//! Two `run`s at once on one cache: the lock makes the second wait, then
//! find everything fresh; nothing runs twice, nothing is corrupted.

use crate::harness::{Project, read_until_waiting, wait_for_file};

/// The first run's stage waits for `go.flag`; the test starts the second
/// run only once the first is inside the stage, and lets the stage finish
/// only once the second says it is waiting for the lock.
#[test]
fn concurrent_runs_do_not_run_a_stage_twice() {
    use std::io::{BufReader, Read};

    let p = Project::new();
    p.write(
        "pipelines/c.toml",
        "[stages.a]\ncmd = \"echo ran >> log.txt; touch a.started; while [ ! -e go.flag ]; do sleep 0.02; done; echo done > out.txt\"\nouts = [\"out.txt\"]\n\n\
         [stages.b]\ncmd = \"cat out.txt > b.txt\"\ndeps = [\"out.txt\"]\nouts = [\"b.txt\"]\n",
    );
    let spawn = || {
        p.command(&["run", "c", "--format", "json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn();
    wait_for_file(&p.path("a.started"));
    let mut second = spawn();
    // The second run says it waits for the lock the first holds.
    let mut stderr = BufReader::new(second.stderr.take().unwrap());
    let mut said = read_until_waiting(&mut stderr, "the second run");
    p.write("go.flag", "");
    let first = first.wait_with_output().unwrap();
    stderr.read_to_string(&mut said).unwrap();
    let second = second.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(second.status.success(), "{said}");
    assert_eq!(p.log(), ["ran"], "stage `a` ran exactly once");
    assert_eq!(p.read("b.txt"), "done\n");
    let statuses: Vec<String> =
        [&first, &second].iter().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).collect();
    assert!(statuses[0].contains("\"ran\""), "the first run ran the stages: {}", statuses[0]);
    assert!(!statuses[1].contains("\"ran\""), "the second found them fresh: {}", statuses[1]);
    assert!(p.ok(&["status", "c"]).stdout.lines().skip(1).all(|l| l.contains("fresh")));
}

#[test]
fn gc_removes_unreferenced_cache_entries() {
    let p = Project::new();
    p.write("data/a.csv", "1\n");
    p.write("pipelines/g.toml", "[stages.inv]\nuses = \"files.manifest\"\ninputs = [\"data\"]\n");
    p.ok(&["run", "g"]);
    p.write("data/a.csv", "2\n");
    p.ok(&["run", "g"]);
    let stages = p.path(".actionbench/v1/stages");
    assert_eq!(std::fs::read_dir(&stages).unwrap().count(), 2);
    let dry: serde_json::Value = serde_json::from_str(&p.ok(&["gc", "--dry-run", "--format", "json"]).stdout).unwrap();
    assert_eq!(dry["removed"]["stage_outputs"], 1);
    assert_eq!(std::fs::read_dir(&stages).unwrap().count(), 2, "dry run removes nothing");
    p.ok(&["gc"]);
    assert_eq!(std::fs::read_dir(&stages).unwrap().count(), 1);
    assert!(p.ok(&["status", "g"]).stdout.contains("fresh"), "the live entry survives gc");
}
