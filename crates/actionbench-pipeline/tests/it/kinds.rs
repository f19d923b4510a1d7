use actionbench_core::Diagnose as _;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use actionbench_pipeline::{
    Engine, NoopReporter, ParamError, PipelineDef, Reason, Registry, ResolvedInput, RunOptions, StageContext,
    StageError, StageKind, StageOutcome, StageState,
};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ConcatParams {
    #[serde(default)]
    separator: String,
    #[serde(default)]
    fail: bool,
    /// Report a hash of `out.txt` to the engine: "right" or "wrong".
    #[serde(default)]
    claim: Option<String>,
    /// Appended to `out.txt` after the claim.
    #[serde(default)]
    append_after_claim: String,
}

/// Concatenates every input file (and every file of upstream outputs) into
/// `out.txt`; `fail = true` writes half a file and then fails.
struct Concat {
    version: u32,
    tool: String,
    runs: Arc<AtomicU32>,
}

impl StageKind for Concat {
    fn name(&self) -> &'static str {
        "test.concat"
    }
    fn implementation_version(&self) -> u32 {
        self.version
    }
    type Params = ConcatParams;
    fn check(&self, p: &ConcatParams) -> Result<(), ParamError> {
        if p.separator == "forbidden" {
            return Err(ParamError::at("separator", "must not be \"forbidden\""));
        }
        Ok(())
    }
    fn tool_versions(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("fake-libav".to_string(), self.tool.clone())])
    }
    fn run(&self, ctx: &StageContext<'_>, p: &ConcatParams) -> Result<(), StageError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let mut text = String::new();
        for input in ctx.inputs {
            match input {
                ResolvedInput::Files { files, .. } => {
                    for f in files {
                        text.push_str(&std::fs::read_to_string(&f.path)?);
                        text.push_str(&p.separator);
                    }
                }
                ResolvedInput::Stage { paths, .. } => {
                    for dir in paths {
                        text.push_str(&std::fs::read_to_string(dir.join("out.txt"))?);
                        text.push_str(&p.separator);
                    }
                }
            }
        }
        let out = ctx.out_dir.join("out.txt");
        std::fs::write(&out, &text)?;
        match p.claim.as_deref() {
            Some("right") => ctx.wrote_file(&out, actionbench_core::Fingerprint::of_bytes(text.as_bytes())),
            Some(_) => ctx.wrote_file(&out, actionbench_core::Fingerprint::of_bytes(b"not the content")),
            None => {}
        }
        if !p.append_after_claim.is_empty() {
            text.push_str(&p.append_after_claim);
            std::fs::write(&out, &text)?;
        }
        if p.fail {
            return Err("asked to fail".into());
        }
        Ok(())
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    runs: Arc<AtomicU32>,
}

impl Fixture {
    fn new(pipeline: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/a.txt"), "A").unwrap();
        std::fs::write(dir.path().join("data/b.txt"), "B").unwrap();
        std::fs::write(dir.path().join("pipelines/p.toml"), pipeline).unwrap();
        Fixture { dir, runs: Arc::new(AtomicU32::new(0)) }
    }

    fn engine(&self, version: u32, tool: &str) -> actionbench_pipeline::Result<Engine> {
        let mut registry = Registry::new();
        registry.register(Concat { version, tool: tool.into(), runs: self.runs.clone() });
        let def = PipelineDef::load("p", self.dir.path())?;
        Engine::new(def, registry, Some(self.dir.path().join("cache")))
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }
}

const TWO_STAGES: &str = r#"
[stages.first]
uses = "test.concat"
inputs = ["data/*.txt"]
params = { separator = "|" }

[stages.second]
uses = "test.concat"
inputs = ["@first", "data/a.txt"]
"#;

fn run_all(engine: &Engine) -> Vec<(String, &'static str)> {
    engine
        .run(&RunOptions { jobs: 2, ..Default::default() }, &NoopReporter)
        .unwrap()
        .into_iter()
        .map(|r| (r.stage, r.outcome.label()))
        .collect()
}

#[test]
fn builtin_outputs_are_published_in_the_cache_and_reused() {
    let f = Fixture::new(TWO_STAGES);
    let engine = f.engine(1, "5.1").unwrap();
    assert_eq!(run_all(&engine), [("first".to_string(), "ran"), ("second".to_string(), "ran")]);
    let lock = engine.lock_file().unwrap();
    let second = engine.cache().stage_dir(&lock.stages["second"].key);
    assert_eq!(std::fs::read_to_string(second.join("out.txt")).unwrap(), "A|B|A");
    assert_eq!(f.runs.load(Ordering::SeqCst), 2);
    assert_eq!(run_all(&engine), [("first".to_string(), "cached"), ("second".to_string(), "cached")]);
    assert_eq!(f.runs.load(Ordering::SeqCst), 2);
    // The lock file round-trips and is deterministic.
    let text = std::fs::read_to_string(f.root().join("pipelines/p.lock")).unwrap();
    assert!(text.contains("[stages.first.definition.tools]\nfake-libav = \"5.1\""), "{text}");
}

/// A stage may give the engine the hashes of files it wrote (shard writers
/// hash as they write); the engine takes them instead of reading the files
/// back, but only while each file keeps its size and mtime.
#[test]
fn reported_output_hashes_are_used_while_the_file_is_unchanged() {
    let outputs = |params: &str| {
        let f = Fixture::new(&format!(
            "[stages.x]\nuses = \"test.concat\"\ninputs = [\"data\"]\nparams = {{ {params} }}\n"
        ));
        let engine = f.engine(1, "x").unwrap();
        assert_eq!(run_all(&engine), [("x".to_string(), "ran")]);
        engine.lock_file().unwrap().stages["x"].outputs.clone()
    };
    let read_back = outputs("separator = \"!\"");
    assert_eq!(outputs("separator = \"!\", claim = \"right\""), read_back);
    // The engine trusts the report (it did not read the file)...
    assert_ne!(outputs("separator = \"!\", claim = \"wrong\""), read_back);
    // ...unless the file changed after it: then it hashes the content.
    let appended = outputs("separator = \"\", claim = \"wrong\", append_after_claim = \"A!B!\"");
    assert_ne!(appended, read_back);
    assert_eq!(outputs("separator = \"\", append_after_claim = \"A!B!\""), appended);
}

#[test]
fn implementation_and_tool_versions_make_stages_stale() {
    let f = Fixture::new(TWO_STAGES);
    run_all(&f.engine(1, "5.1").unwrap());
    let status = f.engine(2, "6.0").unwrap().status(&[]).unwrap();
    assert_eq!(status[0].state, StageState::Stale);
    assert_eq!(
        status[0].reasons,
        [
            Reason::ImplementationChanged { kind: "test.concat".into(), old: 1, new: 2 },
            Reason::ToolChanged { tool: "fake-libav".into(), old: Some("5.1".into()), new: Some("6.0".into()) },
        ]
    );
    assert!(status[1].reasons.contains(&Reason::UpstreamChanged { stage: "first".into() }), "{:?}", status[1].reasons);
}

#[test]
fn failing_builtin_stage_publishes_nothing() {
    let f = Fixture::new("[stages.bad]\nuses = \"test.concat\"\ninputs = [\"data\"]\nparams = { fail = true }\n");
    let engine = f.engine(1, "x").unwrap();
    let reports = engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap();
    assert_eq!(reports[0].outcome, StageOutcome::failed("asked to fail"));
    let key = reports[0].key.unwrap();
    assert!(!engine.cache().stage_dir(&key).exists(), "a failed stage leaves no cache entry");
    assert_eq!(std::fs::read_dir(f.root().join("cache/v1/tmp")).unwrap().count(), 0, "its work directory is gone");
    assert!(!f.root().join("pipelines/p.lock").exists());
    assert_eq!(engine.status(&[]).unwrap()[0].reasons, [Reason::NeverRun]);
}

#[test]
fn param_errors_name_file_line_and_stage() {
    let f = Fixture::new("[stages.x]\nuses = \"test.concat\"\ninputs = [\"data\"]\n\nparams = { separatr = \",\" }\n");
    let err = f.engine(1, "x").err().expect("an error");
    assert_eq!(
        err.to_string(),
        "pipelines/p.toml:5:12: stage `x`: params of `test.concat`: unknown field `separatr`, expected one of `separator`, `fail`, `claim`, `append_after_claim`"
    );
    assert_eq!(
        err.hint().as_deref(),
        Some("Did you mean `separator`? (`actionbench kinds` lists the params of `test.concat`)")
    );
    let f = Fixture::new("[stages.x]\nuses = \"test.concat\"\ninputs = [\"data\"]\nparams = { separator = 3 }\n");
    let err = f.engine(1, "x").err().expect("an error");
    assert!(
        err.to_string().starts_with(
            "pipelines/p.toml:4:24: stage `x`: params of `test.concat`: `separator`: invalid type: integer `3`"
        ),
        "{err}"
    );
    // A kind's own check, in a `[stages.NAME.params]` table: the error is at
    // the key's line, not at the table's.
    let f = Fixture::new(
        "[stages.x]\nuses = \"test.concat\"\ninputs = [\"data\"]\n\n[stages.x.params]\nfail = false\nseparator = \"forbidden\"\n",
    );
    let err = f.engine(1, "x").err().expect("an error");
    assert_eq!(
        err.to_string(),
        "pipelines/p.toml:7:1: stage `x`: params of `test.concat`: `separator`: must not be \"forbidden\""
    );
    let f = Fixture::new("[stages.x]\nuses = \"test.concta\"\n");
    let err = f.engine(1, "x").err().expect("an error");
    assert_eq!(err.to_string(), "pipelines/p.toml:2: stage `x`: unknown stage kind `test.concta`");
    assert_eq!(err.hint().as_deref(), Some("Did you mean `test.concat`? (`actionbench kinds` lists every kind)"));
    // A prefix of a longer kind's name suggests it.
    let f = Fixture::new("[stages.x]\nuses = \"test.con\"\n");
    let err = f.engine(1, "x").err().expect("an error");
    assert_eq!(err.hint().as_deref(), Some("Did you mean `test.concat`? (`actionbench kinds` lists every kind)"));
}

#[test]
fn directory_input_changes_are_explained_file_by_file() {
    let f = Fixture::new("[stages.x]\nuses = \"test.concat\"\ninputs = [\"data\"]\n");
    run_all(&f.engine(1, "x").unwrap());
    std::fs::write(f.root().join("data/b.txt"), "B2").unwrap();
    std::fs::write(f.root().join("data/c.txt"), "C").unwrap();
    std::fs::remove_file(f.root().join("data/a.txt")).unwrap();
    let status = f.engine(1, "x").unwrap().status(&[]).unwrap();
    assert_eq!(
        status[0].reasons,
        [Reason::InputChanged {
            entry: "data".into(),
            modified: vec!["b.txt".into()],
            added: vec!["c.txt".into()],
            removed: vec!["a.txt".into()],
        }]
    );
    assert_eq!(
        status[0].reasons[0].to_string(),
        "input `data` changed: 1 modified (`b.txt`), 1 added (`c.txt`), 1 removed (`a.txt`)"
    );
}
