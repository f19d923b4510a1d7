//! Two `run`s at once on one cache: the lock makes the second wait, then
//! find everything fresh; nothing runs twice, nothing is corrupted.

use crate::harness::Project;

#[test]
fn concurrent_runs_do_not_run_a_stage_twice() {
    let p = Project::new();
    p.write(
        "pipelines/c.toml",
        "[stages.a]\ncmd = \"echo ran >> log.txt; sleep 1; echo done > out.txt\"\nouts = [\"out.txt\"]\n\n\
         [stages.b]\ncmd = \"cat out.txt > b.txt\"\ndeps = [\"out.txt\"]\nouts = [\"b.txt\"]\n",
    );
    let spawn = || {
        p.command(&["run", "c", "--format", "json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let outs = [first.wait_with_output().unwrap(), second.wait_with_output().unwrap()];
    for o in &outs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(p.log(), ["ran"], "stage `a` ran exactly once");
    assert_eq!(p.read("b.txt"), "done\n");
    let statuses: Vec<String> = outs.iter().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).collect();
    assert_eq!(statuses.iter().filter(|s| s.contains("\"ran\"")).count(), 1, "{statuses:?}");
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
