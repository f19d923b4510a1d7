//! The remote cache against a real S3-compatible server (moto, installed by
//! `scripts/test` from `scripts/requirements-test.txt`), on loopback: push,
//! wipe, pull; concurrent pushes; a push killed mid-way; a flipped blob;
//! `run --remote`; `gc --remote`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::harness::{Project, Run};

/// A moto S3 server on a free loopback port, stopped on drop.
struct S3Server {
    child: Child,
    port: u16,
}

impl S3Server {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `moto_server` ({e}): install it with `pip install 'moto[server]'` (scripts/test does)"
                )
            });
        let mut server = S3Server { child, port };
        // Ready when it answers (an event, with a deadline).
        let start = std::time::Instant::now();
        while server.request("GET", "/", b"").is_none() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("moto_server exited: {status}");
            }
            assert!(start.elapsed() < std::time::Duration::from_secs(60), "moto_server never answered");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        server
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One HTTP/1.1 request with a dummy signature (moto reads the access
    /// key from it but does not check the signature; it refuses some
    /// requests with none):
    /// status code and body, or `None` if nothing listens yet.
    fn request(&self, method: &str, path: &str, body: &[u8]) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/octet-stream\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, \
             SignedHeaders=host, Signature=0\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        );
        stream.write_all(head.as_bytes()).ok()?;
        stream.write_all(body).ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).ok()?;
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text.split(' ').nth(1)?.parse().ok()?;
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        Some((status, body))
    }

    fn create_bucket(&self, bucket: &str) {
        let (status, body) = self.request("PUT", &format!("/{bucket}"), b"").expect("moto answers");
        assert_eq!(status, 200, "{body}");
    }

    /// Keys under `prefix` in `bucket`.
    fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let (status, body) =
            self.request("GET", &format!("/{bucket}?list-type=2&prefix={prefix}"), b"").expect("moto answers");
        assert_eq!(status, 200, "{body}");
        body.split("<Key>").skip(1).filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string())).collect()
    }

    fn put(&self, bucket: &str, key: &str, content: &[u8]) {
        let (status, body) = self.request("PUT", &format!("/{bucket}/{key}"), content).expect("moto answers");
        assert_eq!(status, 200, "{body}");
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `actionbench` in `p` with test credentials in the environment.
fn command(p: &Project, args: &[&str]) -> Command {
    let mut cmd = p.command(args);
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT")
        .env_remove("AWS_SESSION_TOKEN");
    cmd
}

fn run(p: &Project, args: &[&str]) -> Run {
    Run::from(command(p, args).output().expect("run actionbench"))
}

fn ok(p: &Project, args: &[&str]) -> Run {
    let r = run(p, args);
    assert_eq!(r.code, 0, "actionbench {args:?} failed:\nstdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    r
}

fn json(p: &Project, args: &[&str]) -> Value {
    let r = ok(p, args);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", r.stdout, r.stderr))
}

/// NTU ingest, ST-GCN (tiny) training, prediction and evaluation on the
/// four files [`ntu_files`] writes (also the SLURM tests' pipeline).
pub(crate) const PIPELINE: &str = r#"
[stages.ntu]
uses = "ingest.ntu"
inputs = ["data/ntu"]
params = { dataset = "ntu60" }

[stages.train]
uses = "train"
inputs = ["@ntu"]
[stages.train.params]
model = { kind = "stgcn", num-classes = 60, size = "tiny" }
data = { filter = "xsub = 'train'", batch-size = 2, skeleton = { frames = 2, bodies = 1 } }
train = { optimizer = { kind = "sgd", momentum = 0.9, nesterov = false, weight-decay = 0.0 }, lr = 0.1, epochs = 1, seed = 0 }

[stages.predict]
uses = "predict"
inputs = ["@train", "@ntu"]
params = { model = "@train", filter = "xsub = 'val'" }

[stages.eval]
uses = "eval.classify"
inputs = ["@predict"]
params = { pred = "@predict", topk = [1] }
"#;

/// A project with four NTU files, the pipeline above (or its ingest
/// only) and a remote in `bucket` of `s3`.
/// Four NTU `.skeleton` files (two cross-subject training subjects, one test).
pub(crate) fn ntu_files(p: &Project) {
    let skeleton = crate::inspect::skeleton_text();
    for name in ["S001C001P001R001A001", "S001C001P002R001A002", "S001C001P003R001A003", "S001C002P003R002A013"] {
        p.write(&format!("data/ntu/{name}.skeleton"), &skeleton);
    }
}

fn project(s3: &S3Server, bucket: &str, ingest_only: bool) -> Project {
    let p = Project::new();
    ntu_files(&p);
    let pipeline = if ingest_only { &PIPELINE[..PIPELINE.find("[stages.train]").unwrap()] } else { PIPELINE };
    p.write("pipelines/n.toml", pipeline);
    s3.create_bucket(bucket);
    p.write("actionbench.toml", &format!("[remote]\nurl = \"s3://{bucket}/lab\"\nendpoint = \"{}\"\n", s3.endpoint()));
    p
}

/// stage -> (state, remote) from `status --format json`.
fn status(p: &Project) -> Vec<(String, String, Value)> {
    json(p, &["status", "n", "--format", "json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (s["stage"].as_str().unwrap().to_string(), s["state"].as_str().unwrap().to_string(), s["remote"].clone())
        })
        .collect()
}

fn results(doc: &Value) -> Vec<(String, String)> {
    doc["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["stage"].as_str().unwrap().to_string(), s["result"].as_str().unwrap().to_string()))
        .collect()
}

const SQL: &str = "SELECT count(*) AS n, sum(label) AS labels, min(sample_id) AS first FROM n.ntu";

#[test]
fn push_wipe_pull_gives_fresh_stages_and_the_same_answers() {
    let s3 = S3Server::start();
    let p = project(&s3, "pushpull", false);
    ok(&p, &["run", "n"]);
    let before = ok(&p, &["sql", SQL, "--format", "json"]).stdout;
    let metrics_sql = "SELECT run_id, stage, split, metric, value, step FROM actionbench.metrics \
                       ORDER BY run_id, stage, split, metric, step";
    let metrics = ok(&p, &["sql", metrics_sql, "--format", "json"]).stdout;
    let rows: Value = serde_json::from_str(&metrics).unwrap();
    assert!(rows.as_array().is_some_and(|r| r.iter().any(|m| m["stage"] == "eval")), "{metrics}");
    let fresh = |remote: bool| -> Vec<(String, String, Value)> {
        ["ntu", "train", "predict", "eval"]
            .iter()
            .map(|s| (s.to_string(), "fresh".to_string(), Value::Bool(remote)))
            .collect()
    };
    assert_eq!(status(&p), fresh(false));

    let pushed = json(&p, &["push", "--format", "json"]);
    let all = |what: &str| -> Vec<(String, String)> {
        ["eval", "ntu", "predict", "train"].iter().map(|s| (s.to_string(), what.to_string())).collect()
    };
    assert_eq!(results(&pushed), all("uploaded"), "{pushed}");
    assert_eq!(status(&p), fresh(true));
    // Pushing again sends nothing.
    assert_eq!(results(&json(&p, &["push", "--format", "json"])), all("already-there"));

    std::fs::remove_dir_all(p.path(".actionbench")).unwrap();
    let stale = json(&p, &["status", "n", "--format", "json"]);
    for s in stale.as_array().unwrap() {
        assert_eq!(s["state"], "stale", "{stale}");
        assert_eq!(s["remote"], true, "{stale}");
    }
    let table = ok(&p, &["status", "n"]).stdout;
    assert!(table.contains("on remote") && table.contains("`actionbench run --remote` fetches it"), "{table}");

    // SQL reads the remote's shards in place: same answers, nothing pulled.
    assert_eq!(ok(&p, &["sql", SQL, "--remote", "--format", "json"]).stdout, before);
    let predictions = "SELECT count(*) AS n FROM n.predict";
    assert_eq!(ok(&p, &["sql", predictions, "--remote", "--format", "json"]).stdout, r#"[{"n":2}]"#.to_string() + "\n");
    assert_eq!(std::fs::read_dir(p.path(".actionbench/v1/stages")).unwrap().count(), 0);
    let without = run(&p, &["sql", SQL]);
    assert_eq!(without.code, 1, "without --remote the table is not there");

    let pulled = json(&p, &["pull", "--format", "json"]);
    assert_eq!(results(&pulled), all("downloaded"), "{pulled}");
    assert_eq!(status(&p), fresh(true));
    assert_eq!(ok(&p, &["sql", SQL, "--format", "json"]).stdout, before);
    assert_eq!(ok(&p, &["sql", metrics_sql, "--format", "json"]).stdout, metrics);
    let again = ok(&p, &["run", "n", "--format", "json"]);
    assert!(again.statuses().iter().all(|(_, s)| s == "cached"), "{}", again.stdout);

    // `run --remote` on a wiped cache fetches every stage instead of running it.
    std::fs::remove_dir_all(p.path(".actionbench")).unwrap();
    let fetched = ok(&p, &["run", "n", "--remote", "--format", "json"]);
    assert!(fetched.statuses().iter().all(|(_, s)| s == "pulled"), "{}", fetched.stdout);
    assert_eq!(ok(&p, &["sql", SQL, "--format", "json"]).stdout, before);

    // What `run --remote` computes goes up: a new seed is a new key.
    let r = ok(&p, &["run", "n", "--remote", "-S", "train.params.train.seed=1", "--format", "json"]);
    let st = r.statuses();
    assert!(st.contains(&("ntu".into(), "cached".into())) && st.contains(&("train".into(), "ran".into())), "{st:?}");
    let keys = s3.list("pushpull", "lab/v1/stages/");
    assert_eq!(keys.len(), 7, "4 stages + train, predict, eval of seed 1: {keys:?}");
}

#[test]
fn remote_writes_are_all_or_nothing_and_every_download_is_verified() {
    let s3 = S3Server::start();
    let p = project(&s3, "atomic", true);
    ok(&p, &["run", "n"]);
    let key = json(&p, &["status", "n", "--format", "json"])[0]["key"].as_str().unwrap().to_string();
    let blobs_in_output = std::fs::read_dir(p.path(&format!(".actionbench/v1/stages/{key}"))).unwrap().count();
    assert!(blobs_in_output >= 2, "the ingest output has several files");
    // The blob of the table's first shard (named by its blake3, which the index records).
    let index: Value = serde_json::from_str(&p.read(&format!(".actionbench/v1/stages/{key}/_index.json"))).unwrap();
    let shard = index["shards"][0]["blake3"].as_str().unwrap().to_string();
    let victim = format!("lab/v1/cas/{}/{shard}", &shard[..2]);

    // A push killed after its first blob leaves no record: the stage is
    // not on the remote, and the next push completes it.
    let killed = command(&p, &["push"]).env("ACTIONBENCH_FAULT_ABORT_AFTER_BLOBS", "1").output().unwrap();
    assert!(!killed.status.success(), "the fault hook aborts the push");
    assert_eq!(s3.list("atomic", "lab/v1/stages/"), Vec::<String>::new());
    assert!(!s3.list("atomic", "lab/v1/cas/").is_empty(), "some blobs went up before the kill");
    assert_eq!(status(&p)[0].2, Value::Bool(false));

    // Two pushes of the same stage at once: both succeed, one record.
    let copy = Project::new();
    copy_tree(p.root(), copy.root());
    let a = command(&p, &["push", "--format", "json"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let b =
        command(&copy, &["push", "--format", "json"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (a, b) = (Run::from(a.wait_with_output().unwrap()), Run::from(b.wait_with_output().unwrap()));
    assert_eq!((a.code, b.code), (0, 0), "{}\n{}", a.stderr, b.stderr);
    let mut outcomes: Vec<String> =
        [&a, &b].iter().map(|r| results(&serde_json::from_str(&r.stdout).unwrap())[0].1.clone()).collect();
    outcomes.sort();
    assert_eq!(outcomes, ["already-there", "uploaded"]);
    let records = s3.list("atomic", "lab/v1/stages/");
    assert_eq!(records.len(), 1, "{records:?}");

    // A blob flipped on the server is refused by name, and nothing is
    // published locally.
    let blobs = s3.list("atomic", "lab/v1/cas/");
    assert!(blobs.contains(&victim), "{victim} in {blobs:?}");
    s3.put("atomic", &victim, b"not what it was");
    std::fs::remove_dir_all(p.path(".actionbench")).unwrap();
    let refused = run(&p, &["pull"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!("blob `{victim}`")) && refused.stderr.contains("damaged"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("hint: nothing was published locally"), "{}", refused.stderr);
    assert_eq!(status(&p)[0].1, "stale");
    let by_sql = run(&p, &["sql", SQL, "--remote"]);
    assert_eq!(by_sql.code, 1, "{}", by_sql.stderr);
    assert!(by_sql.stderr.contains(&format!("blob `{victim}`")), "{}", by_sql.stderr);
    let by_run = run(&p, &["run", "n", "--remote"]);
    assert_eq!(by_run.code, 1, "{}", by_run.stderr);
    assert!(by_run.stderr.contains(&format!("blob `{victim}`")), "{}", by_run.stderr);

    // gc --remote: a dry run by default; it keeps what a lock file names.
    let kept = json(&p, &["gc", "--remote", "--grace", "0", "--format", "json"]);
    assert_eq!(kept["dry_run"], true);
    assert_eq!(kept["removed"]["records"], 0, "{kept}");
    std::fs::remove_file(p.path("pipelines/n.lock")).unwrap();
    // A grace longer than the clock's age keeps every blob (and does not overflow).
    let patient = json(&p, &["gc", "--remote", "--grace", "99999999999", "--format", "json"]);
    assert_eq!((patient["removed"]["records"].as_u64(), patient["removed"]["blobs"].as_u64()), (Some(1), Some(0)));
    assert_eq!(patient["removed"]["young_blobs"].as_u64(), Some(blobs.len() as u64));
    let dry = json(&p, &["gc", "--remote", "--grace", "0", "--format", "json"]);
    assert_eq!(
        (dry["removed"]["records"].as_u64(), dry["removed"]["blobs"].as_u64()),
        (Some(1), Some(blobs.len() as u64))
    );
    assert_eq!(s3.list("atomic", "lab/v1/stages/").len(), 1, "a dry run removes nothing");
    ok(&p, &["gc", "--remote", "--grace", "0", "--apply"]);
    assert_eq!(s3.list("atomic", "lab/v1/").len(), 0);
}

#[test]
fn remote_settings_mistakes_are_clear() {
    let p = Project::new();
    p.write("pipelines/n.toml", "[stages.a]\ncmd = \"true\"\n");
    let r = run(&p, &["push"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("this project has no remote") && r.stderr.contains("hint: add `[remote]`"),
        "{}",
        r.stderr
    );
    p.write("actionbench.toml", "[remote]\nurl = \"s3://b/p\"\naccess-key-id = \"AKIA\"\n");
    let r = run(&p, &["pull"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("actionbench.toml:3:1: unknown field `access-key-id`"), "{}", r.stderr);
    assert!(r.stderr.contains("credentials never go in project files"), "{}", r.stderr);
    p.write("actionbench.toml", "[remote]\nurl = \"s3//b/p\"\n");
    let r = run(&p, &["run", "n", "--remote"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("actionbench.toml:2:1: remote url `s3//b/p` is neither"), "{}", r.stderr);
    // A remote that does not answer: `status` says so and goes on; `push` fails.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    p.write("data/ntu/S001C001P001R001A001.skeleton", &crate::inspect::skeleton_text());
    p.write("pipelines/n.toml", &PIPELINE[..PIPELINE.find("[stages.train]").unwrap()]);
    p.write("actionbench.toml", &format!("[remote]\nurl = \"s3://b/p\"\nendpoint = \"http://127.0.0.1:{port}\"\n"));
    let r = run(&p, &["status", "n"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("warning: cannot ask the remote"), "{}", r.stderr);
    ok(&p, &["run", "n"]);
    let r = run(&p, &["push", "n"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("remote `s3://b/p`") && r.stderr.contains("hint: check `[remote]`"), "{}", r.stderr);
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for entry in walk(from) {
        let rel = entry.strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(&entry, &dest).unwrap();
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.push(path.clone());
            out.extend(walk(&path));
        } else if path.file_name().is_some_and(|n| n != "lock") {
            out.push(path);
        }
    }
    out
}
