//! `files.manifest`: an inventory of raw input files (path, size, blake3),
//! the first table of any dataset build — it pins exactly which files a
//! pipeline saw.

use actionbench_pipeline::{ParamError, ResolvedInput, StageContext, StageError, StageKind};
use serde::{Deserialize, Serialize};

/// Params of `files.manifest`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FilesManifestParams {
    /// Keep only files whose name ends with one of these (all when empty).
    #[serde(default)]
    extensions: Vec<String>,
    /// Name of the CSV written.
    #[serde(default = "default_output")]
    output: String,
}

fn default_output() -> String {
    "files.csv".into()
}

/// The `files.manifest` kind: writes `files.csv` (`path,size,blake3`),
/// sorted by path, for every file of every input.
pub struct FilesManifest;

impl StageKind for FilesManifest {
    fn name(&self) -> &'static str {
        "files.manifest"
    }

    fn implementation_version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "An inventory of raw input files (path, size, blake3), the first table of any dataset build — it pins exactly which files a pipeline saw."
    }

    type Params = FilesManifestParams;
    fn check(&self, p: &FilesManifestParams) -> Result<(), ParamError> {
        actionbench_core::ProjectPath::new(&p.output).map_err(|e| format!("`output`: {e}"))?;
        Ok(())
    }

    fn run(&self, ctx: &StageContext<'_>, p: &FilesManifestParams) -> Result<(), StageError> {
        let mut rows = Vec::new();
        for input in ctx.inputs {
            match input {
                ResolvedInput::Files { files, .. } => {
                    for f in files {
                        if p.extensions.is_empty() || p.extensions.iter().any(|e| f.display.ends_with(e.as_str())) {
                            rows.push((f.display.clone(), f.size, f.hash.to_hex()));
                        }
                    }
                }
                ResolvedInput::Stage { stage, .. } => {
                    return Err(format!("`files.manifest` takes files, not the output of stage `{stage}`").into());
                }
            }
        }
        rows.sort();
        rows.dedup();
        let out = ctx.out_dir.join(&p.output);
        let mut writer = csv::Writer::from_path(&out)?;
        writer.write_record(["path", "size", "blake3"])?;
        for (i, (path, size, hash)) in rows.iter().enumerate() {
            writer.write_record([path.as_str(), &size.to_string(), hash.as_str()])?;
            if i % 1024 == 0 {
                ctx.progress(i as u64, Some(rows.len() as u64));
            }
        }
        writer.flush()?;
        Ok(())
    }
}
