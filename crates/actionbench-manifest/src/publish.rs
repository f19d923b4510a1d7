//! `actionbench manifest publish NAME --from PIPELINE.STAGE`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actionbench_pipeline::{LockFile, ProjectCatalog, TableFormat};
use actionbench_shards::{CREATED_BY, ShardIndex, read_shard_columns};
use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use sha2::Digest;

use crate::error::{Error, Result};
use crate::read::{
    ManifestIndex, ManifestMeta, Producer, VersionEntry, hash_of, manifest_dir, text_column, valid_name,
};

/// What to publish.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    /// The manifest's name.
    pub name: String,
    /// `PIPELINE.STAGE` whose table it describes.
    pub from: String,
    /// Why (kept in the TOML and the index).
    pub message: String,
    /// Named data roots (`name`, directory); source paths are written
    /// relative to the one that holds them. Default: one root `data`, the
    /// deepest directory holding every source file.
    pub roots: Vec<(String, PathBuf)>,
    /// Publish as this version (refused if it exists).
    pub version: Option<u32>,
    /// Free text; `None` keeps the parent version's.
    pub description: Option<String>,
    /// The data's licence; `None` keeps the parent version's.
    pub licence: Option<String>,
    /// How to cite the data; `None` keeps the parent version's.
    pub citation: Option<String>,
}

/// What `publish` did.
#[derive(Debug, Clone)]
pub enum Published {
    /// A new version.
    New(Box<ManifestMeta>),
    /// The table is what version N already describes: nothing written.
    Unchanged(u32),
}

/// Values of a text column that make it a split membership.
const SPLIT_VALUES: [&str; 6] = ["train", "val", "test", "validation", "dev", "holdout"];

/// Columns that are never split memberships.
const NOT_SPLITS: [&str; 4] = ["sample_id", "source_file", "source_blake3", "source_dir"];

fn int_column(batch: &RecordBatch, name: &str) -> Option<Vec<Option<i64>>> {
    let col = batch.column_by_name(name)?;
    let col = arrow::compute::cast(col, &DataType::Int64).ok()?;
    let col = col.as_primitive::<arrow::datatypes::Int64Type>();
    Some((0..col.len()).map(|i| (!col.is_null(i)).then(|| col.value(i))).collect())
}

/// One sample of the table.
struct Row {
    sample_id: String,
    label: Option<i64>,
    splits: Vec<String>,
    source: String,
    blake3: String,
    frames: (Option<i64>, Option<i64>),
    shard: String,
    row: u64,
}

/// The deepest directory that holds every path.
fn common_dir(paths: &[PathBuf]) -> PathBuf {
    let mut common: Option<PathBuf> = None;
    for p in paths {
        let dir = p.parent().unwrap_or(Path::new("/")).to_path_buf();
        common = Some(match common {
            None => dir,
            Some(c) => {
                let mut c = c;
                while !dir.starts_with(&c) {
                    if !c.pop() {
                        break;
                    }
                }
                c
            }
        });
    }
    common.unwrap_or_else(|| PathBuf::from("/"))
}

/// Publishes the table of stage `opts.from` as the next version of
/// manifest `opts.name` under `root/manifests/`.
pub fn publish(root: &Path, opts: &PublishOptions) -> Result<Published> {
    if !valid_name(&opts.name) {
        return Err(Error::invalid(
            format!("`{}` cannot be a manifest name", opts.name),
            "Use letters, digits, `-`, `_` and `.` (it becomes a directory and a SQL table name)",
        ));
    }
    let Some((pipeline, stage)) = opts.from.split_once('.') else {
        return Err(Error::invalid(
            format!("`--from {}` does not name a stage", opts.from),
            "Write `--from PIPELINE.STAGE`, e.g. `--from ntu60-xsub.skeletons`",
        ));
    };
    let catalog = ProjectCatalog::open(root, None)?;
    let Some(stage_ref) = catalog.stage(pipeline, stage)? else {
        let ran: Vec<String> = catalog.stages(pipeline).unwrap_or_default().into_iter().map(|s| s.stage).collect();
        let hint = match actionbench_core::suggest::did_you_mean(stage, ran.iter().map(String::as_str)) {
            Some(close) => format!("{close} (stages of `{pipeline}` with output: {})", ran.join(", ")),
            None => format!("Run it first: `actionbench run {pipeline} {stage}`"),
        };
        return Err(Error::invalid(format!("Stage `{stage}` of pipeline `{pipeline}` has no recorded output"), hint));
    };
    let tables: Vec<_> =
        catalog.tables_of(&stage_ref).into_iter().filter(|t| t.format == TableFormat::Shards).collect();
    let Some(table) = tables.iter().find(|t| t.name == stage).or(tables.first()) else {
        return Err(Error::invalid(
            format!("Stage `{pipeline}.{stage}` wrote no table of samples"),
            "Publish from an ingest stage (its table has `sample_id` and `source_file` columns)",
        ));
    };
    let dir = &table.path;
    let index = ShardIndex::read(dir)?;
    let (rows, split_names) = read_rows(dir, &index, &format!("{pipeline}.{stage}"))?;

    // Source files: where they are now, their size, relative to a root.
    let abs: Vec<PathBuf> = rows
        .iter()
        .map(|r| {
            let p = Path::new(&r.source);
            if p.is_absolute() { p.to_path_buf() } else { root.join(p) }
        })
        .collect();
    let roots: Vec<(String, PathBuf)> =
        if opts.roots.is_empty() { vec![("data".to_string(), common_dir(&abs))] } else { opts.roots.clone() };
    let mut sizes: BTreeMap<&Path, u64> = BTreeMap::new();
    let mut placed = Vec::with_capacity(rows.len());
    for (r, path) in rows.iter().zip(&abs) {
        let size = match sizes.get(path.as_path()) {
            Some(s) => *s,
            None => {
                let meta = std::fs::metadata(path).map_err(|e| {
                    Error::invalid(
                        format!("Source file `{}` of sample `{}` cannot be read: {e}", path.display(), r.sample_id),
                        "A manifest describes the files as they are: re-run the ingest stage on the data you have",
                    )
                })?;
                sizes.insert(path, meta.len());
                meta.len()
            }
        };
        let Some((name, rel)) = roots
            .iter()
            .filter_map(|(n, d)| path.strip_prefix(d).ok().map(|rel| (n, rel)))
            .min_by_key(|(_, rel)| rel.components().count())
        else {
            return Err(Error::invalid(
                format!("Source file `{}` is under none of the data roots", path.display()),
                "Add `--data-root NAME=DIR` for the directory that holds it",
            ));
        };
        placed.push((name.clone(), rel.to_string_lossy().into_owned(), size));
    }

    // The Parquet file.
    let mut fields = vec![Field::new("sample_id", DataType::Utf8, false), Field::new("label", DataType::Int64, true)];
    fields.extend(split_names.iter().map(|s| Field::new(s, DataType::Utf8, false)));
    fields.extend([
        Field::new("root", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("blake3", DataType::Utf8, false),
        Field::new("size", DataType::UInt64, false),
        Field::new("frame_start", DataType::Int64, true),
        Field::new("frame_end", DataType::Int64, true),
        Field::new("shard", DataType::Utf8, false),
        Field::new("row", DataType::UInt64, false),
    ]);
    let text = |v: Vec<&str>| -> ArrayRef { Arc::new(StringArray::from(v)) };
    let mut columns: Vec<ArrayRef> = vec![
        text(rows.iter().map(|r| r.sample_id.as_str()).collect()),
        Arc::new(Int64Array::from(rows.iter().map(|r| r.label).collect::<Vec<_>>())),
    ];
    for i in 0..split_names.len() {
        columns.push(text(rows.iter().map(|r| r.splits[i].as_str()).collect()));
    }
    columns.extend([
        text(placed.iter().map(|p| p.0.as_str()).collect()),
        text(placed.iter().map(|p| p.1.as_str()).collect()),
        text(rows.iter().map(|r| r.blake3.as_str()).collect()),
        Arc::new(UInt64Array::from(placed.iter().map(|p| p.2).collect::<Vec<_>>())) as ArrayRef,
        Arc::new(Int64Array::from(rows.iter().map(|r| r.frames.0).collect::<Vec<_>>())),
        Arc::new(Int64Array::from(rows.iter().map(|r| r.frames.1).collect::<Vec<_>>())),
        text(rows.iter().map(|r| r.shard.as_str()).collect()),
        Arc::new(UInt64Array::from(rows.iter().map(|r| r.row).collect::<Vec<_>>())),
    ]);
    let schema = Arc::new(Schema::new(fields));
    let batch =
        RecordBatch::try_new(schema.clone(), columns).map_err(|e| Error::data("Building the manifest table", e))?;

    let mdir = manifest_dir(root, &opts.name);
    std::fs::create_dir_all(&mdir).map_err(|e| Error::io(&mdir, e))?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(&mdir).map_err(|e| Error::io(&mdir, e))?;
    {
        let props = WriterProperties::builder()
            .set_created_by(CREATED_BY.to_string())
            .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
            .build();
        let mut writer = ArrowWriter::try_new(tmp.as_file_mut(), schema.clone(), Some(props))
            .map_err(|e| Error::data("Writing the manifest", e))?;
        writer.write(&batch).map_err(|e| Error::data("Writing the manifest", e))?;
        writer.close().map_err(|e| Error::data("Writing the manifest", e))?;
    }
    shareable(&tmp)?;
    let bytes = std::fs::read(tmp.path()).map_err(|e| Error::io(tmp.path(), e))?;
    let blake3 = actionbench_core::Fingerprint::of_bytes(&bytes).to_hex();
    let sha256 = format!("{:x}", sha2::Sha256::digest(&bytes));

    let mut index_file = ManifestIndex::read(root, &opts.name)?;
    index_file.name = opts.name.clone();
    let latest = index_file.latest();
    let parent = match latest {
        Some(v) => Some(crate::read::Manifest::open(root, &opts.name, Some(v))?),
        None => None,
    };
    if let Some(parent) = &parent
        && parent.meta.parquet_blake3 == blake3
        && opts.version.is_none()
    {
        return Ok(Published::Unchanged(parent.meta.version));
    }
    let version = opts.version.unwrap_or(latest.unwrap_or(0) + 1);
    if version == 0 || index_file.versions.iter().any(|v| v.version == version) {
        return Err(Error::invalid(
            format!("Manifest `{}` already has version {version}; published versions are never rewritten", opts.name),
            format!("Publish without `--as-version` to make v{}", latest.unwrap_or(0) + 1),
        ));
    }
    if latest.is_some_and(|l| version < l) {
        return Err(Error::invalid(
            format!("Version {version} of `{}` would come before v{}", opts.name, latest.unwrap_or(0)),
            "Versions only grow: publish without `--as-version`",
        ));
    }

    let mut splits: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (i, s) in split_names.iter().enumerate() {
        let counts = splits.entry(s.clone()).or_default();
        for r in &rows {
            *counts.entry(r.splits[i].clone()).or_default() += 1;
        }
    }
    let mut classes: BTreeMap<String, u64> = BTreeMap::new();
    for r in &rows {
        if let Some(l) = r.label {
            *classes.entry(l.to_string()).or_default() += 1;
        }
    }
    let lock_path = LockFile::path_for(&root.join("pipelines").join(format!("{pipeline}.toml")));
    let keep = |given: &Option<String>, old: fn(&ManifestMeta) -> &String| {
        given.clone().or_else(|| parent.as_ref().map(|p| old(&p.meta).clone())).unwrap_or_default()
    };
    let meta = ManifestMeta {
        name: opts.name.clone(),
        version,
        parent: latest,
        message: opts.message.clone(),
        created: actionbench_pipeline::utc_text(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        ),
        description: keep(&opts.description, |m| &m.description),
        licence: keep(&opts.licence, |m| &m.licence),
        citation: keep(&opts.citation, |m| &m.citation),
        producer: Producer {
            pipeline: pipeline.to_string(),
            stage: stage.to_string(),
            kind: stage_ref.kind.clone(),
            key: stage_ref.key.to_hex(),
            lock_blake3: hash_of(&lock_path)?.to_hex(),
        },
        parquet: format!("v{version}.parquet"),
        parquet_blake3: blake3.clone(),
        parquet_sha256: sha256,
        rows: rows.len() as u64,
        roots: roots.iter().map(|(n, d)| (n.clone(), d.display().to_string())).collect(),
        splits,
        classes,
        schema: schema.fields().iter().map(|f| (f.name().clone(), f.data_type().to_string())).collect(),
    };

    // Files of an interrupted publish of this version (no TOML: not
    // published) are left-overs, not a version.
    for ext in ["parquet", "jsonld"] {
        let stale = mdir.join(format!("v{version}.{ext}"));
        if stale.exists() && !mdir.join(format!("v{version}.toml")).exists() {
            std::fs::remove_file(&stale).map_err(|e| Error::io(&stale, e))?;
        }
    }
    let place = |tmp: &Path, name: &str| -> Result<()> {
        let dest = mdir.join(name);
        // A hard link never replaces an existing file: create-if-absent.
        std::fs::hard_link(tmp, &dest).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::invalid(
                format!("`{}` exists; published versions are never rewritten", dest.display()),
                "Publish a new version instead",
            ),
            _ => Error::io(&dest, e),
        })
    };
    place(tmp.path(), &meta.parquet)?;
    let write_tmp = |text: &str| -> Result<tempfile::NamedTempFile> {
        use std::io::Write;
        let mut f = tempfile::Builder::new().prefix(".tmp-").tempfile_in(&mdir).map_err(|e| Error::io(&mdir, e))?;
        f.write_all(text.as_bytes()).map_err(|e| Error::io(f.path(), e))?;
        shareable(&f)?;
        Ok(f)
    };
    let jsonld = serde_json::to_string_pretty(&crate::croissant::croissant(&meta))
        .map_err(|e| Error::data("Writing the Croissant file", e))?;
    place(write_tmp(&jsonld)?.path(), &format!("v{version}.jsonld"))?;
    let toml_text = toml::to_string(&meta).map_err(|e| Error::data("Writing the manifest TOML", e))?;
    let toml_tmp = write_tmp(&toml_text)?;
    place(toml_tmp.path(), &format!("v{version}.toml"))?;

    index_file.versions.push(VersionEntry {
        version,
        created: meta.created.clone(),
        message: meta.message.clone(),
        rows: meta.rows,
        toml_blake3: actionbench_core::Fingerprint::of_bytes(toml_text.as_bytes()).to_hex(),
        parquet_blake3: blake3,
    });
    let index_text = toml::to_string(&index_file).map_err(|e| Error::data("Writing the manifest index", e))?;
    let index_tmp = write_tmp(&index_text)?;
    let index_path = mdir.join("index.toml");
    index_tmp.persist(&index_path).map_err(|e| Error::io(&index_path, e.error))?;
    Ok(Published::New(Box::new(meta)))
}

/// Gives a temp file the mode of a file meant to be committed and shared
/// (temp files are created 0600), and syncs it.
fn shareable(f: &tempfile::NamedTempFile) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(|e| Error::io(f.path(), e))?;
    }
    f.as_file().sync_all().map_err(|e| Error::io(f.path(), e))
}

/// The samples of a stage table, sorted by id, and the names of its split
/// columns.
fn read_rows(dir: &Path, index: &ShardIndex, what: &str) -> Result<(Vec<Row>, Vec<String>)> {
    let mut rows = Vec::new();
    let mut split_names: Option<Vec<String>> = None;
    for shard in &index.shards {
        let batches = read_shard_columns_text(dir, shard)?;
        let mut row_in_shard = 0u64;
        for batch in batches {
            let need = |name: &str| {
                text_column(&batch, name).ok_or_else(|| {
                    Error::invalid(
                        format!("The table of `{what}` has no `{name}` column"),
                        "Publish from an ingest stage: its table names each sample's source file (`source_file`, `source_blake3`)",
                    )
                })
            };
            let ids = need("sample_id")?;
            let sources = need("source_file")?;
            let hashes = need("source_blake3")?;
            let labels = int_column(&batch, "label");
            let num_frames = int_column(&batch, "num_frames");
            let (starts, ends) = (int_column(&batch, "frame_start"), int_column(&batch, "frame_end"));
            let names = split_names.get_or_insert_with(|| {
                batch
                    .schema()
                    .fields()
                    .iter()
                    .filter(|f| !NOT_SPLITS.contains(&f.name().as_str()))
                    .filter(|f| matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View))
                    .filter(|f| {
                        text_column(&batch, f.name()).is_some_and(|v| {
                            !v.is_empty() && v.iter().all(|x| SPLIT_VALUES.contains(&x.to_ascii_lowercase().as_str()))
                        })
                    })
                    .map(|f| f.name().clone())
                    .collect()
            });
            let split_values: Vec<Vec<String>> = names
                .iter()
                .map(|n| text_column(&batch, n).unwrap_or_else(|| vec![String::new(); batch.num_rows()]))
                .collect();
            for i in 0..batch.num_rows() {
                let frames = match (&starts, &ends, &num_frames) {
                    (Some(s), Some(e), _) => (s[i], e[i]),
                    (_, _, Some(n)) => (Some(0), n[i]),
                    _ => (None, None),
                };
                rows.push(Row {
                    sample_id: ids[i].clone(),
                    label: labels.as_ref().and_then(|l| l[i]),
                    splits: split_values.iter().map(|v| v[i].clone()).collect(),
                    source: sources[i].clone(),
                    blake3: hashes[i].clone(),
                    frames,
                    shard: shard.file.clone(),
                    row: row_in_shard,
                });
                row_in_shard += 1;
            }
        }
    }
    rows.sort_by(|a, b| a.sample_id.cmp(&b.sample_id));
    let mut seen = HashSet::new();
    for r in &rows {
        if !seen.insert(r.sample_id.as_str()) {
            return Err(Error::invalid(
                format!("Sample `{}` is in the table of `{what}` twice", r.sample_id),
                "A manifest has one row per sample: publish from a table whose `sample_id` is unique",
            ));
        }
    }
    Ok((rows, split_names.unwrap_or_default()))
}

/// Every column of a shard except the tensors (nested types): ids, labels,
/// text and numbers are all a manifest reads.
fn read_shard_columns_text(dir: &Path, shard: &actionbench_shards::WrittenShard) -> Result<Vec<RecordBatch>> {
    let path = dir.join(&shard.file);
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::data(format!("Reading `{}`", path.display()), e))?;
    let flat: Vec<&str> =
        builder.schema().fields().iter().filter(|f| !f.data_type().is_nested()).map(|f| f.name().as_str()).collect();
    let flat: Vec<String> = flat.into_iter().map(str::to_string).collect();
    let refs: Vec<&str> = flat.iter().map(String::as_str).collect();
    Ok(read_shard_columns(dir, shard, &refs)?)
}
