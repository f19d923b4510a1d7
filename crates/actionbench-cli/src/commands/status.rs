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
}

pub(crate) fn run(args: &StatusArgs, binary: super::Binary, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let engine = super::open_engine(&args.pipeline, binary)?;
    let statuses = engine.status(&args.stages)?;
    match format {
        OutputFormat::Json => print_json(&status_json(&statuses))?,
        OutputFormat::Csv => {
            let mut table = TextTable::new(["stage", "state", "key", "reasons"]);
            for s in &statuses {
                let reasons: Vec<String> = s.reasons.iter().map(ToString::to_string).collect();
                table.push(vec![
                    s.stage.clone(),
                    state(s.state).into(),
                    s.key.map(|k| k.to_hex()).unwrap_or_default(),
                    reasons.join("; "),
                ]);
            }
            table.print(format)?;
        }
        OutputFormat::Table => {
            let mut table = TextTable::new(["stage", "state", "key", "why"]);
            for s in &statuses {
                let key = s.key.map(|k| k.short()).unwrap_or_else(|| "-".into());
                let mut reasons = s.reasons.iter().map(ToString::to_string);
                table.push(vec![s.stage.clone(), state(s.state).into(), key, reasons.next().unwrap_or_default()]);
                for more in reasons {
                    table.push(vec![String::new(), String::new(), String::new(), more]);
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
