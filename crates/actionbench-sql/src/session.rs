use std::path::{Path, PathBuf};
use std::sync::Arc;

use actionbench_pipeline::{ProjectCatalog, TableFormat};
use actionbench_shards::{ShardIndex, VerifiedShards};
use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::common::TableReference;
use datafusion::datasource::MemTable;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionConfig, SessionContext};

use crate::error::{Error, Result};

/// The URL under which `sql --remote` registers the project's remote with
/// DataFusion (its own scheme, so it never shadows `file://` or `s3://`).
const REMOTE_URL: &str = "abremote://cache/";

/// A table registered in the session.
#[derive(Debug, Clone)]
pub struct TableInfo {
    /// Schema (the pipeline name, or `actionbench`).
    pub schema: String,
    /// Table name.
    pub name: String,
    /// `parquet` (a shard directory), `parquet-file`, `csv` or `memory`.
    pub format: &'static str,
    /// Where its files are (empty for memory tables).
    pub location: PathBuf,
}

/// A DataFusion session over every table of a project.
pub struct SqlSession {
    runtime: tokio::runtime::Runtime,
    ctx: SessionContext,
    tables: Vec<TableInfo>,
}

/// A table found in the project before registration.
struct Found {
    pipeline: String,
    name: String,
    path: PathBuf,
    format: &'static str,
}

/// One row of `actionbench.shards`.
struct ShardRow {
    pipeline: String,
    stage: String,
    table: String,
    file: String,
    rows: u64,
    bytes: u64,
    blake3: String,
    key_min: String,
    key_max: String,
}

/// Rows of `actionbench.stages` and `actionbench.shards`.
#[derive(Default)]
struct Catalog {
    stages: Vec<[String; 6]>,
    shards: Vec<ShardRow>,
}

impl SqlSession {
    /// Registers the tables of the project at `root` (cache: `cache_dir`,
    /// `ACTIONBENCH_CACHE_DIR` or `.actionbench/`). Shard files are checked
    /// against their index (size always; blake3 when their stat changed since
    /// the last check), so a corrupt shard is an error, not a wrong number.
    pub fn open(root: &Path, cache_dir: Option<PathBuf>) -> Result<Self> {
        Self::open_with(root, cache_dir, false)
    }

    /// [`SqlSession::open`], and with `remote`, the tables of stages whose
    /// output this machine lacks but the project's remote has, read in
    /// place from the object store (each shard's blake3 checked against
    /// the remote's record and the table's index first).
    pub fn open_with(root: &Path, cache_dir: Option<PathBuf>, remote: bool) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Output(format!("cannot start the query runtime: {e}")))?;
        let config = SessionConfig::new().with_information_schema(true);
        let ctx = SessionContext::new_with_config(config);
        let project = ProjectCatalog::open(root, cache_dir)?;
        let mut session = Self { runtime, ctx, tables: Vec::new() };
        let (found, catalog) = discover(&project)?;
        let mut verified = VerifiedShards::load(&project.cache().state_file("sql-verified.json"));
        for table in &found {
            if table.format == TableFormat::Shards.name() {
                let index = ShardIndex::read(&table.path)?;
                verified.check(&table.path, &index)?;
            }
            session.register(table)?;
        }
        session.register_catalog(catalog)?;
        let metrics: Vec<&Found> = found.iter().filter(|t| t.name.ends_with("_metrics")).collect();
        session.register_metrics(&metrics)?;
        session.register_runs(&project, &mut verified)?;
        session.register_manifests(root)?;
        verified.save();
        if remote {
            session.register_remote(&project, root)?;
        }
        Ok(session)
    }

    fn schema_provider(&self, schema: &str) -> Result<()> {
        let catalog = self.ctx.catalog("datafusion").expect("the default catalog exists");
        if catalog.schema(schema).is_none() {
            catalog
                .register_schema(schema, Arc::new(MemorySchemaProvider::new()) as Arc<dyn SchemaProvider>)
                .map_err(|e| Error::Register { table: schema.into(), path: PathBuf::new(), message: e.to_string() })?;
        }
        Ok(())
    }

    fn register(&mut self, t: &Found) -> Result<()> {
        self.schema_provider(&t.pipeline)?;
        let reference = TableReference::partial(t.pipeline.as_str(), t.name.as_str());
        let location = t.path.display().to_string();
        let err = |e: datafusion::error::DataFusionError| Error::Register {
            table: format!("{}.{}", t.pipeline, t.name),
            path: t.path.clone(),
            message: e.strip_backtrace(),
        };
        self.runtime
            .block_on(async {
                match t.format {
                    "csv" => self.ctx.register_csv(reference, &location, CsvReadOptions::new()).await,
                    _ => self.ctx.register_parquet(reference, &location, ParquetReadOptions::default()).await,
                }
            })
            .map_err(err)?;
        self.tables.push(TableInfo {
            schema: t.pipeline.clone(),
            name: t.name.clone(),
            format: t.format,
            location: t.path.clone(),
        });
        Ok(())
    }

    /// `manifests.NAME` (the latest version) and `manifests."NAME@vN"` (each
    /// version), every file checked against its recorded hash first.
    fn register_manifests(&mut self, root: &Path) -> Result<()> {
        for name in actionbench_manifest::manifest_names(root)? {
            let index = actionbench_manifest::ManifestIndex::read(root, &name)?;
            let latest = index.latest();
            for entry in &index.versions {
                let manifest = actionbench_manifest::Manifest::open(root, &name, Some(entry.version))?;
                let mut names = vec![manifest.pin()];
                if Some(entry.version) == latest {
                    names.push(name.clone());
                }
                for table in names {
                    self.register(&Found {
                        pipeline: "manifests".into(),
                        name: table,
                        path: manifest.parquet_path.clone(),
                        format: "parquet-file",
                    })?;
                }
            }
        }
        Ok(())
    }

    /// The tables of stages missing here and present on the remote: each
    /// shard table of the output (`_index.json` at its top: the stage's
    /// table; one level down: `STAGE_SUB`), registered over the blobs.
    fn register_remote(&mut self, project: &ProjectCatalog, root: &Path) -> Result<()> {
        let remote = actionbench_remote::Remote::open(root)?;
        let base = url::Url::parse(REMOTE_URL).expect("a valid URL");
        self.ctx.register_object_store(&base, remote.object_store());
        let memo_path = project.cache().state_file("remote-verified.json");
        let mut memo: std::collections::BTreeMap<String, String> =
            std::fs::read(&memo_path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        for pipeline in project.pipelines()? {
            for stage in project.stages(&pipeline)? {
                if stage.kind == "cmd" || stage.outputs.iter().any(|o| o.exists()) {
                    continue;
                }
                let Some(files) = remote.stage_files(&stage.key)? else { continue };
                let mut tables: Vec<(String, String)> = Vec::new();
                for f in &files {
                    let Some(dir) = f.path.strip_suffix(actionbench_shards::INDEX_FILE) else { continue };
                    let dir = dir.trim_end_matches('/');
                    match dir {
                        "" => tables.push((stage.stage.clone(), String::new())),
                        sub if !sub.contains('/') => tables.push((format!("{}_{sub}", stage.stage), format!("{sub}/"))),
                        _ => {}
                    }
                }
                tables.sort();
                // `predict`'s `predictions.parquet`: one Parquet file at the top.
                let top: Vec<&actionbench_remote::RemoteFile> =
                    files.iter().filter(|f| !f.path.contains('/') && f.path.ends_with(".parquet")).collect();
                if !tables.iter().any(|(_, dir)| dir.is_empty())
                    && let [file] = top.as_slice()
                {
                    verify_once(&remote, &stage.key, file, &mut memo)?;
                    self.register_urls(&pipeline, &stage.stage, vec![format!("{REMOTE_URL}{}", file.location)])?;
                }
                for (name, dir) in tables {
                    let index_file = files
                        .iter()
                        .find(|f| f.path == format!("{dir}{}", actionbench_shards::INDEX_FILE))
                        .expect("found above");
                    let bytes = remote.read_file(&stage.key, index_file)?;
                    let index: actionbench_shards::ShardIndex = serde_json::from_slice(&bytes).map_err(|e| {
                        Error::Output(format!("remote `{}`: index `{}`: {e}", remote.url(), index_file.location))
                    })?;
                    let mut urls = Vec::new();
                    for shard in &index.shards {
                        let path = format!("{dir}{}", shard.file);
                        let file = files.iter().find(|f| f.path == path).ok_or_else(|| {
                            Error::Output(format!(
                                "remote `{}`: the output of {} has no `{path}`, which its index lists",
                                remote.url(),
                                stage.key
                            ))
                        })?;
                        if file.blake3 != shard.blake3 || file.size != shard.bytes {
                            return Err(Error::Output(format!(
                                "remote `{}`: `{path}` of {} is not the shard its index describes",
                                remote.url(),
                                stage.key
                            )));
                        }
                        verify_once(&remote, &stage.key, file, &mut memo)?;
                        urls.push(format!("{REMOTE_URL}{}", file.location));
                    }
                    self.register_urls(&pipeline, &name, urls)?;
                }
            }
        }
        if let Ok(text) = serde_json::to_vec(&memo) {
            let _ = std::fs::write(&memo_path, text);
        }
        Ok(())
    }

    /// A Parquet table over the given object URLs, in order.
    fn register_urls(&mut self, pipeline: &str, name: &str, urls: Vec<String>) -> Result<()> {
        use datafusion::datasource::file_format::parquet::ParquetFormat;
        use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
        self.schema_provider(pipeline)?;
        let err = |message: String| Error::Register {
            table: format!("{pipeline}.{name}"),
            path: PathBuf::from(urls.first().cloned().unwrap_or_default()),
            message,
        };
        let paths: Vec<ListingTableUrl> = urls
            .iter()
            .map(|u| ListingTableUrl::parse(u).map_err(|e| err(e.strip_backtrace())))
            .collect::<Result<_>>()?;
        // Blobs are named by their hash: no `.parquet` to filter on.
        let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension("");
        let state = self.ctx.state();
        let table = self
            .runtime
            .block_on(async {
                let config = ListingTableConfig::new_with_multi_paths(paths)
                    .with_listing_options(options)
                    .infer_schema(&state)
                    .await?;
                ListingTable::try_new(config)
            })
            .map_err(|e| err(e.strip_backtrace()))?;
        self.ctx
            .register_table(TableReference::partial(pipeline, name), Arc::new(table))
            .map_err(|e| err(e.strip_backtrace()))?;
        self.tables.push(TableInfo {
            schema: pipeline.to_string(),
            name: name.to_string(),
            format: "parquet-remote",
            location: PathBuf::from(urls.first().cloned().unwrap_or_default()),
        });
        Ok(())
    }

    /// Every batch of the Parquet files in `dir`.
    pub(crate) fn read_parquet_dir(&self, dir: &Path) -> Result<Vec<RecordBatch>> {
        let location = dir.display().to_string();
        self.runtime.block_on(async {
            let frame = self.ctx.read_parquet(location, ParquetReadOptions::default()).await.map_err(Error::query)?;
            frame.collect().await.map_err(Error::query)
        })
    }

    pub(crate) fn register_memory(&mut self, name: &str, batch: RecordBatch) -> Result<()> {
        self.schema_provider("actionbench")?;
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).map_err(|e| Error::Register {
            table: name.into(),
            path: PathBuf::new(),
            message: e.strip_backtrace(),
        })?;
        self.ctx
            .register_table(TableReference::partial("actionbench", name), Arc::new(table))
            .map_err(|e| Error::Register { table: name.into(), path: PathBuf::new(), message: e.strip_backtrace() })?;
        self.tables.push(TableInfo {
            schema: "actionbench".into(),
            name: name.into(),
            format: "memory",
            location: PathBuf::new(),
        });
        Ok(())
    }

    fn register_catalog(&mut self, c: Catalog) -> Result<()> {
        let text = |v: Vec<String>| -> ArrayRef { Arc::new(StringArray::from(v)) };
        let col = |i: usize| c.stages.iter().map(|r| r[i].clone()).collect::<Vec<_>>();
        let schema = Arc::new(Schema::new(
            ["pipeline", "stage", "kind", "key", "table_name", "location"]
                .iter()
                .map(|n| Field::new(*n, DataType::Utf8, false))
                .collect::<Vec<_>>(),
        ));
        let stages = RecordBatch::try_new(schema, (0..6).map(|i| text(col(i))).collect())
            .map_err(|e| Error::Output(e.to_string()))?;
        self.register_memory("stages", stages)?;

        let s = &c.shards;
        let schema = Arc::new(Schema::new(vec![
            Field::new("pipeline", DataType::Utf8, false),
            Field::new("stage", DataType::Utf8, false),
            Field::new("table_name", DataType::Utf8, false),
            Field::new("file", DataType::Utf8, false),
            Field::new("rows", DataType::UInt64, false),
            Field::new("bytes", DataType::UInt64, false),
            Field::new("blake3", DataType::Utf8, false),
            Field::new("key_min", DataType::Utf8, true),
            Field::new("key_max", DataType::Utf8, true),
        ]));
        let opt = |v: Vec<String>| -> ArrayRef {
            Arc::new(StringArray::from(v.into_iter().map(|x| (!x.is_empty()).then_some(x)).collect::<Vec<_>>()))
        };
        let shards = RecordBatch::try_new(
            schema,
            vec![
                text(s.iter().map(|r| r.pipeline.clone()).collect()),
                text(s.iter().map(|r| r.stage.clone()).collect()),
                text(s.iter().map(|r| r.table.clone()).collect()),
                text(s.iter().map(|r| r.file.clone()).collect()),
                Arc::new(UInt64Array::from(s.iter().map(|r| r.rows).collect::<Vec<_>>())),
                Arc::new(UInt64Array::from(s.iter().map(|r| r.bytes).collect::<Vec<_>>())),
                text(s.iter().map(|r| r.blake3.clone()).collect()),
                opt(s.iter().map(|r| r.key_min.clone()).collect()),
                opt(s.iter().map(|r| r.key_max.clone()).collect()),
            ],
        )
        .map_err(|e| Error::Output(e.to_string()))?;
        self.register_memory("shards", shards)
    }

    /// `actionbench.metrics`: every stage's long-format `metrics` table in
    /// one view (empty, with the same columns, when there is none yet).
    fn register_metrics(&mut self, tables: &[&Found]) -> Result<()> {
        if tables.is_empty() {
            return self.register_memory("metrics", RecordBatch::new_empty(actionbench_shards::metrics_schema()));
        }
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let selects: Vec<String> =
            tables.iter().map(|t| format!("SELECT * FROM {}.{}", quote(&t.pipeline), quote(&t.name))).collect();
        let sql = format!("CREATE VIEW actionbench.metrics AS {}", selects.join(" UNION ALL "));
        self.query(&sql)?;
        self.tables.push(TableInfo {
            schema: "actionbench".into(),
            name: "metrics".into(),
            format: "memory",
            location: PathBuf::new(),
        });
        Ok(())
    }

    /// The registered tables.
    pub fn tables(&self) -> &[TableInfo] {
        &self.tables
    }

    /// Runs a query and returns its columns and batches (the columns are
    /// known even when no row comes back).
    pub fn query_with_schema(&self, sql: &str) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
        self.runtime.block_on(async {
            let frame = self.ctx.sql(sql).await.map_err(Error::query)?;
            let schema = Arc::new(frame.schema().as_arrow().clone());
            let batches = frame.collect().await.map_err(Error::query)?;
            Ok((batches.first().map_or(schema, RecordBatch::schema), batches))
        })
    }

    /// Runs a query and returns its batches.
    pub fn query(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        self.query_with_schema(sql).map(|(_, batches)| batches)
    }
}

/// Checks a remote blob's blake3 once per version of it (its ETag and
/// size, which change when it is overwritten).
fn verify_once(
    remote: &actionbench_remote::Remote,
    key: &actionbench_core::Fingerprint,
    file: &actionbench_remote::RemoteFile,
    memo: &mut std::collections::BTreeMap<String, String>,
) -> Result<()> {
    let (etag, size) = remote.blob_version(file)?;
    let version = format!("{etag}/{size}");
    if memo.get(&file.location.to_string()) != Some(&version) {
        remote.verify_file(key, file)?;
        memo.insert(file.location.to_string(), version);
    }
    Ok(())
}

/// The tables of every pipeline that ran (from the project catalog), and
/// the rows of `actionbench.stages` and `actionbench.shards`.
fn discover(catalog: &ProjectCatalog) -> Result<(Vec<Found>, Catalog)> {
    let mut found = Vec::new();
    let mut rows = Catalog::default();
    for pipeline in catalog.pipelines()? {
        for stage in catalog.stages(&pipeline)? {
            let tables = catalog.tables_of(&stage);
            rows.stages.push([
                pipeline.clone(),
                stage.stage.clone(),
                stage.kind.clone(),
                stage.key.to_hex(),
                tables.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(","),
                tables.first().map(|t| t.path.display().to_string()).unwrap_or_default(),
            ]);
            for table in tables {
                if table.format == TableFormat::Shards {
                    let index = ShardIndex::read(&table.path)?;
                    for s in &index.shards {
                        rows.shards.push(ShardRow {
                            pipeline: pipeline.clone(),
                            stage: stage.stage.clone(),
                            table: table.name.clone(),
                            file: s.file.clone(),
                            rows: s.rows,
                            bytes: s.bytes,
                            blake3: s.blake3.to_hex(),
                            key_min: s.key_min.clone().unwrap_or_default(),
                            key_max: s.key_max.clone().unwrap_or_default(),
                        });
                    }
                }
                found.push(Found {
                    pipeline: pipeline.clone(),
                    name: table.name,
                    path: table.path,
                    format: table.format.name(),
                });
            }
        }
    }
    Ok((found, rows))
}
