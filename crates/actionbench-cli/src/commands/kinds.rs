use std::process::ExitCode;

use crate::output::{OutputFormat, TextTable, print_json};

pub(crate) fn run(binary: super::Binary, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let registry = binary.registry();
    let mut rows = Vec::new();
    for name in registry.names() {
        let kind = registry.get(name).expect("listed names exist");
        let defaults = kind
            .canonical_params(&toml::Table::new())
            .map(|t| t.to_string())
            .unwrap_or_else(|e| format!("(required: {e})"));
        let parts = kind.partitioning().is_ok();
        rows.push((
            name,
            kind.implementation_version(),
            parts,
            defaults.trim().replace('\n', "; "),
            kind.description(),
        ));
    }
    match format {
        OutputFormat::Json => print_json(&serde_json::Value::Array(
            rows.iter()
                .map(|(n, v, parts, d, about)| {
                    serde_json::json!({
                        "kind": n, "implementation_version": v, "partitions": parts,
                        "default_params": d, "description": about,
                    })
                })
                .collect(),
        ))?,
        _ => {
            let mut table = TextTable::new(["kind", "version", "partitions", "default params"]);
            for (n, v, parts, d, _) in rows {
                table.push(vec![n.to_string(), v.to_string(), if parts { "yes" } else { "-" }.to_string(), d]);
            }
            table.print(format)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
