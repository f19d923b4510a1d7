//! The pieces under the ingest framework ([`crate::sample_format`]) and
//! the stages that write tables: finding source files, the `on-error`
//! policy and its `rejects` table, shard writing, an order-keeping parallel
//! map, and the `_ingest.json` summary.
//!
//! Output layout of every ingest stage (`ctx.out_dir`):
//!
//! ```text
//! part-00000.parquet …   the table, rows sorted by `sample_id`
//! _index.json            its shard index
//! _ingest.json           counts: rows, rejected, dropped (missing lists), ignored files
//! rejects/               with `on-error = "skip"`: sample, file, line, message
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actionbench_core::Fingerprint;
use actionbench_pipeline::{InputFile, ResolvedInput, StageContext};
use actionbench_shards::{ShardIndex, ShardWriter, ShardWriterOptions};
use arrow::array::{RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

/// The error type of stage bodies (see [`actionbench_pipeline::StageError`]).
pub type BoxError = Box<dyn Error + Send + Sync>;

/// What to do with a sample that cannot be read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OnError {
    /// Stop the stage with the reader's error (file and position).
    #[default]
    Fail,
    /// Leave the sample out and record it in the `rejects` table.
    Skip,
}

/// The default `rows-per-shard` of ingest tables.
pub fn default_rows_per_shard() -> usize {
    1000
}

/// A source file: the path shown to people (project-relative when inside
/// the project) and the path to read.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path shown in messages and stored in tables.
    pub display: String,
    /// The path to read.
    pub path: PathBuf,
    /// The content hash the engine already took for the stage key (plain
    /// file inputs), so a stage need not hash the file a second time.
    pub known_hash: Option<Fingerprint>,
}

impl Source {
    /// The blake3 of this source's content: the engine's, when it has one.
    pub fn content_hash(&self, bytes: &[u8]) -> Fingerprint {
        self.known_hash.unwrap_or_else(|| Fingerprint::of_bytes(bytes))
    }

    /// The path used in error messages.
    pub fn shown(&self) -> &Path {
        Path::new(&self.display)
    }

    /// The file name without its extension.
    pub fn stem(&self) -> String {
        self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

/// Every file below `dir` (links followed, as `is_file` does).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in walkdir::WalkDir::new(dir).follow_links(true).min_depth(1) {
        let entry = entry.map_err(std::io::Error::other)?;
        if entry.file_type().is_file() {
            out.push(entry.into_path());
        }
    }
    Ok(())
}

/// Source files being gathered from a stage's inputs, and how many files
/// were not taken.
#[derive(Default)]
pub struct Found {
    sources: Vec<Source>,
    /// The shown paths of the files not taken.
    ignored: Vec<String>,
}

impl Found {
    /// The files of a file, directory or glob input (hashed by the engine).
    pub fn add_files(&mut self, files: &[InputFile], accept: impl Fn(&Path) -> bool) {
        for f in files {
            if accept(&f.path) {
                self.sources.push(Source {
                    display: f.display.clone(),
                    path: f.path.clone(),
                    known_hash: Some(f.hash),
                });
            } else {
                self.ignored.push(f.display.clone());
            }
        }
    }

    /// Every file below `roots` (an `@stage` output, or part of one).
    pub fn add_paths(
        &mut self,
        ctx: &StageContext<'_>,
        roots: &[PathBuf],
        accept: impl Fn(&Path) -> bool,
    ) -> Result<(), BoxError> {
        let mut found = Vec::new();
        for p in roots {
            if p.is_dir() {
                walk(p, &mut found).map_err(|e| format!("Failed to list `{}`: {e}", p.display()))?;
            } else if p.is_file() {
                found.push(p.clone());
            }
        }
        for path in found {
            let display = path.strip_prefix(ctx.root).unwrap_or(&path).display().to_string();
            if accept(&path) {
                self.sources.push(Source { display, path, known_hash: None });
            } else {
                self.ignored.push(display);
            }
        }
        Ok(())
    }

    /// The sources sorted by shown path, without duplicates, and the files
    /// not taken (sorted).
    pub fn finish(mut self) -> (Vec<Source>, Vec<String>) {
        self.sources.sort_by(|a, b| a.display.cmp(&b.display));
        self.sources.dedup_by(|a, b| a.path == b.path);
        self.ignored.sort();
        self.ignored.dedup();
        (self.sources, self.ignored)
    }
}

/// Every input file that `accept` takes (files, directories and globs, and
/// the files of `@stage` outputs), sorted by shown path, without
/// duplicates; also the files not taken.
pub fn collect_sources(
    ctx: &StageContext<'_>,
    accept: impl Fn(&Path) -> bool,
) -> Result<(Vec<Source>, Vec<String>), BoxError> {
    let mut found = Found::default();
    for input in ctx.inputs {
        match input {
            ResolvedInput::Files { files, .. } => found.add_files(files, &accept),
            ResolvedInput::Stage { paths, .. } => found.add_paths(ctx, paths, &accept)?,
        }
    }
    Ok(found.finish())
}

/// The file a path param names (e.g. `missing-list = "data/missing.txt"`),
/// which must also be one of the stage's `inputs`, so that its content is
/// part of the stage key.
pub fn param_file(ctx: &StageContext<'_>, param: &str, value: &str) -> Result<Source, BoxError> {
    let path = crate::tables::role_file(ctx, param, value, &[])?;
    let display = path.strip_prefix(ctx.root).unwrap_or(&path).display().to_string();
    Ok(Source { display, path, known_hash: None })
}

/// A sample left out under `on-error = "skip"`.
#[derive(Debug, Clone)]
pub struct Reject {
    /// The sample id (or the file stem when no id could be read).
    pub sample: String,
    /// The source file, as shown.
    pub file: String,
    /// The 1-based line, for text formats.
    pub line: Option<u64>,
    /// What the reader said.
    pub message: String,
}

impl Reject {
    /// From a reader error (the line is kept in its own column for text
    /// formats; byte offsets stay in the message).
    pub fn from_error(sample: &str, source: &Source, err: &actionbench_formats::Error) -> Self {
        let line = match err {
            actionbench_formats::Error::Line { line, .. } => Some(*line),
            _ => None,
        };
        Self { sample: sample.to_string(), file: source.display.clone(), line, message: err.to_string() }
    }

    /// From any other message.
    pub fn other(sample: &str, source: &Source, message: impl Into<String>) -> Self {
        Self { sample: sample.to_string(), file: source.display.clone(), line: None, message: message.into() }
    }
}

/// Options of the main table and of `rejects/`.
pub fn writer_options(ctx: &StageContext<'_>, key_column: &str, rows_per_shard: usize) -> ShardWriterOptions {
    ShardWriterOptions {
        target_rows: rows_per_shard.max(1),
        row_group_rows: (rows_per_shard / 8).clamp(16, 1024),
        stage_key: Some(ctx.key.to_hex()),
        key_column: Some(key_column.to_string()),
        ..Default::default()
    }
}

/// A stage's shard writer: when it finishes, it gives the engine the
/// blake3 it took of each shard while writing it, so the engine does not
/// read the shards back to record the stage's output.
pub struct StageWriter<'c, 'a> {
    ctx: &'c StageContext<'a>,
    dir: PathBuf,
    writer: ShardWriter,
}

impl<'c, 'a> StageWriter<'c, 'a> {
    /// Starts writing shards of `schema` into `dir` (under `ctx.out_dir`).
    pub fn new(
        ctx: &'c StageContext<'a>,
        dir: &Path,
        schema: SchemaRef,
        options: ShardWriterOptions,
    ) -> Result<Self, BoxError> {
        Ok(Self { ctx, dir: dir.to_path_buf(), writer: ShardWriter::new(dir, schema, options)? })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), actionbench_shards::Error> {
        self.writer.write(batch)
    }

    /// Closes the last shard, writes the index and reports the shards' hashes.
    pub fn finish(self) -> Result<ShardIndex, BoxError> {
        let index = self.writer.finish()?;
        for shard in &index.shards {
            self.ctx.wrote_file(&self.dir.join(&shard.file), shard.blake3);
        }
        Ok(index)
    }
}

/// Opens the writer of the main table (`ctx.out_dir`).
pub fn table_writer<'c, 'a>(
    ctx: &'c StageContext<'a>,
    schema: SchemaRef,
    rows_per_shard: usize,
) -> Result<StageWriter<'c, 'a>, BoxError> {
    StageWriter::new(ctx, ctx.out_dir, schema, writer_options(ctx, "sample_id", rows_per_shard))
}

/// Writes `rejects/` (sorted by sample, then file).
pub fn write_rejects(ctx: &StageContext<'_>, mut rejects: Vec<Reject>) -> Result<(), BoxError> {
    rejects.sort_by(|a, b| (&a.sample, &a.file).cmp(&(&b.sample, &b.file)));
    let schema = Arc::new(Schema::new(vec![
        Field::new("sample", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("line", DataType::UInt64, true),
        Field::new("message", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(rejects.iter().map(|r| r.sample.as_str()))),
            Arc::new(StringArray::from_iter_values(rejects.iter().map(|r| r.file.as_str()))),
            Arc::new(UInt64Array::from(rejects.iter().map(|r| r.line).collect::<Vec<_>>())),
            Arc::new(StringArray::from_iter_values(rejects.iter().map(|r| r.message.as_str()))),
        ],
    )?;
    let mut writer =
        StageWriter::new(ctx, &ctx.out_dir.join("rejects"), schema, writer_options(ctx, "sample", 10_000))?;
    writer.write(&batch)?;
    writer.finish()?;
    Ok(())
}

/// Writes `_ingest.json` (pretty, keys in the given order).
pub fn write_summary(ctx: &StageContext<'_>, summary: serde_json::Value) -> Result<(), BoxError> {
    let mut text = serde_json::to_string_pretty(&summary)?;
    text.push('\n');
    let path = ctx.out_dir.join("_ingest.json");
    std::fs::write(&path, text).map_err(|e| format!("Failed to write `{}`: {e}", path.display()))?;
    Ok(())
}

/// `f` over `items` on all cores (rayon), results in input order.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    use rayon::prelude::*;
    items.par_iter().map(f).collect()
}

/// Calls `f` with the bytes of a source file, read into a buffer that the
/// calling thread keeps: an ingest reads thousands of files of about the
/// same size, and a fresh buffer for each is memory the kernel zeroes
/// again for every file (a sizeable cost on a VM, `scripts/bench skeletons`).
pub fn with_source_bytes<R>(source: &Source, f: impl FnOnce(&[u8]) -> R) -> Result<R, actionbench_formats::Error> {
    use std::cell::RefCell;
    use std::io::Read;
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    let read = |buf: &mut Vec<u8>| {
        buf.clear();
        std::fs::File::open(&source.path)
            .and_then(|mut file| file.read_to_end(buf))
            .map_err(|e| actionbench_formats::Error::Io { path: source.shown().to_path_buf(), source: e })?;
        Ok(f(buf))
    };
    BUFFER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => read(&mut buf),
        // Only if `f` itself reads a source on this thread.
        Err(_) => read(&mut Vec::new()),
    })
}

/// Reads a source file.
pub fn read_source(source: &Source) -> Result<Vec<u8>, actionbench_formats::Error> {
    std::fs::read(&source.path)
        .map_err(|e| actionbench_formats::Error::Io { path: source.shown().to_path_buf(), source: e })
}

/// A reader error as a stage error, with its hint on a `hint:` line.
pub fn with_hint(err: actionbench_formats::Error) -> BoxError {
    Box::new(actionbench_core::Diagnostic::new(err))
}
