//! `actionbench manifest publish | show | diff | verify`: versioned dataset
//! manifests (see `actionbench-manifest`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use actionbench_manifest::{Manifest, ManifestIndex, PublishOptions, Published};
use serde_json::json;

use crate::output::{OutputFormat, TextTable, print_json};

/// `actionbench manifest …`.
#[derive(clap::Subcommand)]
pub(crate) enum ManifestCommand {
    /// Publish a stage's table as the next version of a manifest (`manifests/NAME/vN.{parquet,toml,jsonld}`).
    Publish(PublishArgs),
    /// The versions of a manifest, or one version's counts and provenance.
    Show(ShowArgs),
    /// Samples added, removed and changed (label, split, content) between two versions.
    Diff(DiffArgs),
    /// Re-hash the source files on this machine and name every one that differs or is missing.
    Verify(VerifyArgs),
}

/// Arguments of `manifest publish`.
#[derive(clap::Args)]
pub(crate) struct PublishArgs {
    /// The manifest's name (letters, digits, `-`, `_`, `.`).
    name: String,
    /// The stage whose table it describes: `PIPELINE.STAGE` (an ingest stage).
    #[arg(long, value_name = "PIPELINE.STAGE")]
    from: String,
    /// Why this version (kept in its TOML and the index).
    #[arg(long, short, default_value = "")]
    message: String,
    /// A named data root, `NAME=DIR`: source paths are written relative to it (repeatable).
    /// Default: one root `data`, the deepest directory holding every source file.
    #[arg(long = "data-root", value_name = "NAME=DIR")]
    data_roots: Vec<String>,
    /// Publish as this version number (refused if it exists: versions are immutable).
    #[arg(long = "as-version", value_name = "N")]
    as_version: Option<u32>,
    /// Free text describing the data (default: the previous version's).
    #[arg(long)]
    description: Option<String>,
    /// The data's licence, e.g. "CC BY-NC 4.0" (default: the previous version's).
    #[arg(long)]
    licence: Option<String>,
    /// How to cite the data (default: the previous version's).
    #[arg(long)]
    citation: Option<String>,
}

/// Arguments of `manifest show`.
#[derive(clap::Args)]
pub(crate) struct ShowArgs {
    /// `NAME` (its versions) or `NAME@vN` (that version).
    manifest: String,
}

/// Arguments of `manifest diff`.
#[derive(clap::Args)]
pub(crate) struct DiffArgs {
    /// The manifest.
    name: String,
    /// The older version (`v1` or `1`).
    a: String,
    /// The newer version.
    b: String,
    /// Print the SQL join that gives the same rows instead.
    #[arg(long)]
    sql: bool,
}

/// Arguments of `manifest verify`.
#[derive(clap::Args)]
pub(crate) struct VerifyArgs {
    /// `NAME` (the latest version) or `NAME@vN`.
    manifest: String,
    /// Where the data is on this machine: `DIR` (the manifest's only root) or `NAME=DIR` (repeatable).
    /// Default: where it was when the version was published.
    #[arg(long = "root", value_name = "[NAME=]DIR")]
    roots: Vec<String>,
}

/// The first 12 characters of a hash (whatever a hand-edited file holds).
fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}

fn project_root() -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    Ok(actionbench_pipeline::find_project_root(&cwd)?)
}

fn version(text: &str) -> anyhow::Result<u32> {
    text.strip_prefix('v')
        .unwrap_or(text)
        .parse::<u32>()
        .map_err(|_| anyhow::anyhow!("`{text}` is not a version; write `v2` or `2`"))
}

fn named_dir(text: &str) -> (Option<String>, PathBuf) {
    match text.split_once('=') {
        Some((name, dir)) => (Some(name.to_string()), PathBuf::from(dir)),
        None => (None, PathBuf::from(text)),
    }
}

fn absolute(dir: PathBuf) -> anyhow::Result<PathBuf> {
    Ok(if dir.is_absolute() { dir } else { std::env::current_dir()?.join(dir) })
}

pub(crate) fn run(cmd: &ManifestCommand, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let root = project_root()?;
    match cmd {
        ManifestCommand::Publish(a) => {
            let mut roots = Vec::new();
            for r in &a.data_roots {
                let (Some(name), dir) = named_dir(r) else {
                    anyhow::bail!("`--data-root {r}` needs a name: write `--data-root NAME=DIR`");
                };
                let dir = absolute(dir)?;
                let dir = dir
                    .canonicalize()
                    .map_err(|e| anyhow::anyhow!("`--data-root {r}`: cannot open `{}`: {e}", dir.display()))?;
                roots.push((name, dir));
            }
            let opts = PublishOptions {
                name: a.name.clone(),
                from: a.from.clone(),
                message: a.message.clone(),
                roots,
                version: a.as_version,
                description: a.description.clone(),
                licence: a.licence.clone(),
                citation: a.citation.clone(),
            };
            match actionbench_manifest::publish(&root, &opts)? {
                Published::Unchanged(v) => {
                    eprintln!("`{}` is unchanged since v{v}: nothing published", a.name);
                    if format == OutputFormat::Json {
                        print_json(&json!({"name": a.name, "version": v, "published": false}))?;
                    }
                }
                Published::New(meta) => {
                    if format == OutputFormat::Json {
                        print_json(&json!({"name": meta.name, "version": meta.version, "published": true,
                            "rows": meta.rows, "parquet_blake3": meta.parquet_blake3}))?;
                    } else {
                        println!(
                            "published {}@v{}: {} samples, manifests/{}/v{}.parquet (blake3 {})",
                            meta.name,
                            meta.version,
                            meta.rows,
                            meta.name,
                            meta.version,
                            short(&meta.parquet_blake3)
                        );
                        println!(
                            "query it: actionbench sql 'SELECT * FROM manifests.\"{}@v{}\" LIMIT 5'",
                            meta.name, meta.version
                        );
                    }
                }
            }
        }
        ManifestCommand::Show(a) => {
            let (name, v) = actionbench_manifest::parse_pin(&a.manifest)?;
            match v {
                None => {
                    let index = ManifestIndex::read(&root, &name)?;
                    // Opening the latest checks the files and names a missing manifest.
                    Manifest::open(&root, &name, None)?;
                    if format == OutputFormat::Json {
                        print_json(&serde_json::to_value(&index)?)?;
                    } else {
                        let mut t = TextTable::new(["version", "created", "samples", "blake3", "message"]);
                        for e in &index.versions {
                            t.push(vec![
                                format!("v{}", e.version),
                                e.created.clone(),
                                e.rows.to_string(),
                                short(&e.parquet_blake3),
                                e.message.clone(),
                            ]);
                        }
                        t.print(format)?;
                    }
                }
                Some(v) => {
                    let m = Manifest::open(&root, &name, Some(v))?;
                    match format {
                        OutputFormat::Json => print_json(&serde_json::to_value(&m.meta)?)?,
                        _ => print!("{}", toml::to_string(&m.meta)?),
                    }
                }
            }
        }
        ManifestCommand::Diff(a) => {
            let ma = Manifest::open(&root, &a.name, Some(version(&a.a)?))?;
            let mb = Manifest::open(&root, &a.name, Some(version(&a.b)?))?;
            if a.sql {
                println!("{}", actionbench_manifest::diff_sql(&ma, &mb));
                return Ok(ExitCode::SUCCESS);
            }
            let d = actionbench_manifest::diff(&ma, &mb)?;
            if format == OutputFormat::Json {
                print_json(&serde_json::to_value(&d)?)?;
            } else {
                let mut t = TextTable::new(["sample_id", "change", "what"]);
                for c in &d.changes {
                    t.push(vec![c.sample_id.clone(), c.change.clone(), c.what.join(",")]);
                }
                t.print(format)?;
                if format == OutputFormat::Table {
                    let count = |k: &str| d.changes.iter().filter(|c| c.change == k).count();
                    eprintln!(
                        "\n{} -> {}: {} added, {} removed, {} changed (the same rows: actionbench manifest diff {} {} {} --sql)",
                        d.a,
                        d.b,
                        count("added"),
                        count("removed"),
                        count("changed"),
                        a.name,
                        a.a,
                        a.b
                    );
                }
            }
        }
        ManifestCommand::Verify(a) => {
            let (name, v) = actionbench_manifest::parse_pin(&a.manifest)?;
            let m = Manifest::open(&root, &name, v)?;
            let mut roots = BTreeMap::new();
            for r in &a.roots {
                let (n, dir) = named_dir(r);
                let n = match n {
                    Some(n) => n,
                    None if m.meta.roots.len() == 1 => m.meta.roots.keys().next().cloned().unwrap_or_default(),
                    None => anyhow::bail!(
                        "`{}` has {} data roots ({}); name the one you give: `--root NAME=DIR`",
                        m.pin(),
                        m.meta.roots.len(),
                        m.meta.roots.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                };
                roots.insert(n, absolute(dir)?);
            }
            let (problems, checked) = actionbench_manifest::verify_sources(&m, &roots)?;
            if format == OutputFormat::Json {
                print_json(&json!({"manifest": m.pin(), "files": checked, "problems": problems}))?;
            } else {
                for p in &problems {
                    match p {
                        actionbench_manifest::SourceProblem::Missing { path } => {
                            println!("missing  {}", path.display());
                        }
                        actionbench_manifest::SourceProblem::Differs { path, expected, found } => {
                            println!(
                                "differs  {}  (blake3 {} here, {} in the manifest)",
                                path.display(),
                                short(found),
                                short(expected)
                            );
                        }
                    }
                }
                eprintln!(
                    "{}: {checked} source files checked, {} missing, {} differ",
                    m.pin(),
                    problems
                        .iter()
                        .filter(|p| matches!(p, actionbench_manifest::SourceProblem::Missing { .. }))
                        .count(),
                    problems
                        .iter()
                        .filter(|p| matches!(p, actionbench_manifest::SourceProblem::Differs { .. }))
                        .count()
                );
            }
            if !problems.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
