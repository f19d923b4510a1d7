use std::process::ExitCode;

use actionbench_pipeline::StageState;

use crate::output::{OutputFormat, TextTable, print_json};

/// Arguments of `actionbench status`.
#[derive(clap::Args)]
pub(crate) struct StatusArgs {
    /// Pipeline name (a file in `pipelines/`, without `.toml`) or path.
    pub(crate) pipeline: String,
    /// Only these stages and what they need (default: all).
    stages: Vec<String>,
    /// Do not ask the project's remote (`[remote]` in actionbench.toml)
    /// which outputs it has.
    #[arg(long)]
    no_remote: bool,
}

/// Which built-in stages' current keys the project's remote has (`None`
/// when the project has no remote or `--no-remote`).
fn on_remote(
    args: &StatusArgs,
    engine: &actionbench_pipeline::Engine,
    statuses: &[actionbench_pipeline::StageStatus],
) -> anyhow::Result<Option<Vec<Option<bool>>>> {
    let root = &engine.pipeline().root;
    if args.no_remote || actionbench_remote::RemoteConfig::load(root)?.is_none() {
        return Ok(None);
    }
    let remote = actionbench_remote::Remote::open(root)?;
    let mut out = Vec::with_capacity(statuses.len());
    for s in statuses {
        let builtin = engine
            .pipeline()
            .stage(&s.stage)
            .is_some_and(|d| matches!(d.body, actionbench_pipeline::StageBody::Builtin { .. }));
        out.push(match s.key {
            Some(key) if builtin => Some(remote.has_stage(&key)?),
            _ => None,
        });
    }
    Ok(Some(out))
}

/// The line `status` adds to a stale stage whose output the remote has.
const ON_REMOTE: &str = "its output is on the remote: `actionbench run --remote` fetches it instead of running it";

pub(crate) fn run(args: &StatusArgs, binary: super::Binary, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let engine = super::open_engine(&args.pipeline, binary)?;
    let statuses = engine.status(&args.stages)?;
    // The remote is a bonus here: when it cannot be asked, say so and go on.
    let remote = on_remote(args, &engine, &statuses).unwrap_or_else(|e| {
        eprintln!("warning: cannot ask the remote which outputs it has: {e:#}");
        None
    });
    let remote_of = |i: usize| remote.as_ref().and_then(|r| r[i]);
    let reasons_of = |i: usize, s: &actionbench_pipeline::StageStatus| -> Vec<String> {
        let mut reasons: Vec<String> = s.reasons.iter().map(ToString::to_string).collect();
        if s.state == StageState::Stale && remote_of(i) == Some(true) {
            reasons.push(ON_REMOTE.into());
        }
        reasons
    };
    let remote_cell = |i: usize| match remote_of(i) {
        Some(true) => "yes".to_string(),
        Some(false) => "no".to_string(),
        None => "-".to_string(),
    };
    match format {
        OutputFormat::Json => {
            let mut doc = status_json(&statuses);
            if let (Some(_), Some(items)) = (&remote, doc.as_array_mut()) {
                for (i, item) in items.iter_mut().enumerate() {
                    item["remote"] = remote_of(i).into();
                }
            }
            print_json(&doc)?
        }
        OutputFormat::Csv => {
            let mut header = vec!["stage", "state", "key", "reasons"];
            if remote.is_some() {
                header.insert(3, "remote");
            }
            let mut table = TextTable::new(header);
            for (i, s) in statuses.iter().enumerate() {
                let mut row = vec![
                    s.stage.clone(),
                    state(s.state).into(),
                    s.key.map(|k| k.to_hex()).unwrap_or_default(),
                    reasons_of(i, s).join("; "),
                ];
                if remote.is_some() {
                    row.insert(3, remote_cell(i));
                }
                table.push(row);
            }
            table.print(format)?;
        }
        OutputFormat::Table => {
            let mut header = vec!["stage", "state", "key", "why"];
            if remote.is_some() {
                header.insert(3, "on remote");
            }
            let mut table = TextTable::new(header);
            for (i, s) in statuses.iter().enumerate() {
                let key = s.key.map(|k| k.short()).unwrap_or_else(|| "-".into());
                let mut reasons = reasons_of(i, s).into_iter();
                let mut row = vec![s.stage.clone(), state(s.state).into(), key, reasons.next().unwrap_or_default()];
                if remote.is_some() {
                    row.insert(3, remote_cell(i));
                }
                table.push(row);
                for more in reasons {
                    let mut row = vec![String::new(), String::new(), String::new(), more];
                    if remote.is_some() {
                        row.insert(3, String::new());
                    }
                    table.push(row);
                }
            }
            table.print(format)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn state(s: StageState) -> &'static str {
    match s {
        StageState::Fresh => "fresh",
        StageState::Stale => "stale",
    }
}

/// `status --format json`: one object per stage (reasons with their message).
pub(crate) fn status_json(statuses: &[actionbench_pipeline::StageStatus]) -> serde_json::Value {
    let mut doc = Vec::new();
    for s in statuses {
        let reasons: Vec<serde_json::Value> = s
            .reasons
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("message".into(), r.to_string().into());
                }
                v
            })
            .collect();
        doc.push(serde_json::json!({
            "stage": s.stage,
            "state": s.state,
            "key": s.key,
            "reasons": reasons,
        }));
    }
    serde_json::Value::Array(doc)
}
