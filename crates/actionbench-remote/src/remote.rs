//! The remote: content-addressed blobs and one record per stage output.
//!
//! ```text
//! PREFIX/v1/
//!   cas/<ab>/<blake3>          file contents, named by their blake3 (idempotent uploads)
//!   stages/<key>.toml          key -> [(path, blake3, size)], written last, create-if-absent
//! ```
//!
//! Bazel's remote cache is the model: blobs first, in any order and any
//! number of times; the record last, with `If-None-Match: *`, so a reader
//! never sees a record whose blobs are not all there, and of two machines
//! pushing the same key the first wins and the second is told so. Every
//! download is hashed before it is published into the local cache, in one
//! rename, so a flipped byte on the server never reaches a stage.

use std::collections::{BTreeSet, HashSet};
use std::io::{Read, Write};
use std::path::Path as LocalPath;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actionbench_core::Fingerprint;
use actionbench_pipeline::{Cache, SharedCache, SharedCacheError};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};

use crate::config::{Location, RemoteConfig};
use crate::error::{Error, Result};

/// Layout version on the remote: a new format gets a new directory.
const LAYOUT: &str = "v1";
/// Version of the stage record format.
const RECORD_FORMAT: u32 = 1;
/// Transfers in flight at once.
const PARALLEL: usize = 8;
/// Files up to this size go up in one request; larger ones in parts.
const SINGLE_PUT_MAX: u64 = 64 << 20;
/// Part size of multipart uploads (S3's minimum is 5 MiB).
const PART: usize = 16 << 20;
/// Testing hook: abort the process (as `kill -9` would end it) after this
/// many blobs were uploaded, to check that a cut upload leaves no record.
const FAULT_ABORT_AFTER_BLOBS: &str = actionbench_core::EnvVars::ACTIONBENCH_FAULT_ABORT_AFTER_BLOBS;

/// A stage output as the remote records it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StageRecord {
    format: u32,
    key: Fingerprint,
    files: Vec<RecordFile>,
}

/// One file of a stage output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordFile {
    /// Relative to the output directory, `/`-separated.
    path: String,
    blake3: Fingerprint,
    size: u64,
}

/// What `push` did with one stage output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Pushed {
    /// The record was written: the remote has it now.
    Uploaded {
        /// Files in the output.
        files: usize,
        /// Blobs that were not on the remote yet and were sent.
        blobs: usize,
        /// Bytes sent.
        bytes: u64,
    },
    /// The remote had a record for this key (maybe written by another
    /// machine a moment ago): nothing to do.
    AlreadyThere,
    /// This machine's cache has no output for the key.
    NotLocal,
}

/// What `pull` did with one stage output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Pulled {
    /// Downloaded, verified and published into the local cache.
    Downloaded {
        /// Files in the output.
        files: usize,
        /// Bytes received.
        bytes: u64,
    },
    /// The local cache has it already.
    AlreadyLocal,
    /// The remote has no record for the key.
    NotOnRemote,
}

/// What `gc --remote` removed (or would remove).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RemoteGcReport {
    /// Stage records no lock file refers to.
    pub records: usize,
    /// Blobs no kept record refers to.
    pub blobs: usize,
    /// Bytes of those blobs.
    pub bytes: u64,
    /// Unreferenced blobs younger than the grace period, kept because a
    /// push may be uploading them before it writes its record.
    pub young_blobs: usize,
    /// Records kept.
    pub kept_records: usize,
}

/// One file of a stage output on the remote (for readers that use the
/// blobs in place: SQL over remote shards).
#[derive(Debug, Clone)]
pub struct RemoteFile {
    /// Path inside the output directory, `/`-separated.
    pub path: String,
    /// blake3 of its content (the blob's name).
    pub blake3: Fingerprint,
    /// Size in bytes.
    pub size: u64,
    /// The blob's location in [`Remote::object_store`].
    pub location: Path,
}

/// A project's remote cache.
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    root: Path,
    url: String,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("url", &self.url).finish()
    }
}

static BLOBS_UPLOADED: AtomicUsize = AtomicUsize::new(0);

impl Remote {
    /// The remote of the project at `root` (its `actionbench.toml`).
    pub fn open(root: &LocalPath) -> Result<Self> {
        match RemoteConfig::load(root)? {
            Some(config) => Self::from_config(&config),
            None => Err(Error::NoRemote { path: root.join(crate::config::PROJECT_CONFIG_FILE) }),
        }
    }

    /// Connects (lazily: no request is made here) to the remote `config` names.
    pub fn from_config(config: &RemoteConfig) -> Result<Self> {
        let url = config.url.clone();
        let store_error = |what: &str, source| Error::Store { url: url.clone(), what: what.into(), source };
        let location = config.location().map_err(|message| Error::Config {
            path: crate::config::PROJECT_CONFIG_FILE.into(),
            line: 1,
            column: 1,
            message,
            hint: "write `url = \"s3://BUCKET/PREFIX\"` or `url = \"file:///ABSOLUTE/PATH\"`".into(),
        })?;
        let (store, prefix): (Arc<dyn ObjectStore>, String) = match location {
            Location::Dir(dir) => {
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                let fs = object_store::local::LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| store_error("opening the directory", e))?
                    .with_automatic_cleanup(true);
                (Arc::new(fs), String::new())
            }
            Location::S3 { bucket, prefix } => {
                let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
                let (profile, profile_region) = crate::config::aws_profile();
                if std::env::var_os("AWS_ACCESS_KEY_ID").is_none()
                    && let Some((key, secret, token)) = profile
                {
                    builder = builder.with_access_key_id(key).with_secret_access_key(secret);
                    if let Some(token) = token {
                        builder = builder.with_token(token);
                    }
                }
                let env_region = std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION")).ok();
                if let Some(region) = config.region.clone().or(env_region).or(profile_region) {
                    builder = builder.with_region(region);
                }
                // object_store retries for up to 3 minutes by default; a
                // remote that is down should be said within seconds.
                let retry = object_store::RetryConfig {
                    backoff: Default::default(),
                    max_retries: 3,
                    retry_timeout: Duration::from_secs(30),
                };
                let client = object_store::ClientOptions::new().with_connect_timeout(Duration::from_secs(5));
                builder = builder.with_retry(retry).with_client_options(client);
                if let Some(endpoint) = &config.endpoint {
                    builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
                }
                let s3 = builder.build().map_err(|e| store_error("configuring the S3 client", e))?;
                (Arc::new(s3), prefix)
            }
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::io("tokio runtime", e))?;
        let root = Path::from(prefix.as_str()).join(LAYOUT);
        Ok(Self { store, root, url: config.url.clone(), runtime })
    }

    /// The remote's URL, as configured.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn record_path(&self, key: &Fingerprint) -> Path {
        self.root.clone().join("stages").join(format!("{}.toml", key.to_hex()))
    }

    fn blob_path(&self, hash: &Fingerprint) -> Path {
        let hex = hash.to_hex();
        self.root.clone().join("cas").join(&hex[..2]).join(hex)
    }

    fn store_error(&self, what: impl Into<String>) -> impl FnOnce(object_store::Error) -> Error + '_ {
        let what = what.into();
        move |source| Error::Store { url: self.url.clone(), what, source }
    }

    /// Whether the remote has a record for `key`.
    pub fn has_stage(&self, key: &Fingerprint) -> Result<bool> {
        self.runtime.block_on(self.exists(&self.record_path(key)))
    }

    async fn exists(&self, path: &Path) -> Result<bool> {
        match self.store.head(path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.store_error(format!("looking up `{path}`"))(e)),
        }
    }

    /// Uploads the local output of `key` (blobs first, the record last).
    pub fn push_stage(&self, cache: &Cache, key: &Fingerprint) -> Result<Pushed> {
        let dir = cache.stage_dir(key);
        if !dir.is_dir() {
            return Ok(Pushed::NotLocal);
        }
        self.runtime.block_on(async {
            let record_path = self.record_path(key);
            if self.exists(&record_path).await? {
                return Ok(Pushed::AlreadyThere);
            }
            let files = list_output(&dir)?;
            let sent: Vec<Option<u64>> = futures::stream::iter(files.iter().map(|f| self.upload_blob(&dir, f)))
                .buffer_unordered(PARALLEL)
                .try_collect()
                .await?;
            let record = StageRecord { format: RECORD_FORMAT, key: *key, files: files.clone() };
            let text = toml::to_string(&record).map_err(|e| Error::Unsupported {
                path: dir.clone(),
                message: format!("cannot write its record: {e}"),
            })?;
            let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
            match self.store.put_opts(&record_path, PutPayload::from(text.into_bytes()), opts).await {
                Ok(_) => Ok(Pushed::Uploaded {
                    files: files.len(),
                    blobs: sent.iter().flatten().count(),
                    bytes: sent.iter().flatten().sum(),
                }),
                // Another machine wrote it between our look and our write:
                // same key, same content; the first record stays.
                Err(object_store::Error::AlreadyExists { .. }) => Ok(Pushed::AlreadyThere),
                Err(e) => Err(self.store_error(format!("writing the record `{record_path}`"))(e)),
            }
        })
    }

    /// Sends one file unless its blob is there; the bytes sent, if any.
    async fn upload_blob(&self, dir: &LocalPath, file: &RecordFile) -> Result<Option<u64>> {
        let to = self.blob_path(&file.blake3);
        if self.exists(&to).await? {
            return Ok(None);
        }
        let local = dir.join(&file.path);
        let what = || format!("uploading `{}` as `{to}`", local.display());
        let mut reader = std::fs::File::open(&local).map_err(|e| Error::io(&local, e))?;
        if file.size <= SINGLE_PUT_MAX {
            let mut bytes = Vec::with_capacity(file.size as usize);
            reader.read_to_end(&mut bytes).map_err(|e| Error::io(&local, e))?;
            self.store.put(&to, PutPayload::from(bytes)).await.map_err(self.store_error(what()))?;
        } else {
            let upload = self.store.put_multipart(&to).await.map_err(self.store_error(what()))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
            let mut buf = vec![0u8; PART];
            loop {
                let n = read_full(&mut reader, &mut buf).map_err(|e| Error::io(&local, e))?;
                if n == 0 {
                    break;
                }
                writer.wait_for_capacity(4).await.map_err(self.store_error(what()))?;
                writer.write(&buf[..n]);
            }
            writer.finish().await.map_err(self.store_error(what()))?;
        }
        let done = BLOBS_UPLOADED.fetch_add(1, Ordering::SeqCst) + 1;
        if std::env::var(FAULT_ABORT_AFTER_BLOBS).ok().and_then(|v| v.parse::<usize>().ok()) == Some(done) {
            std::process::abort();
        }
        Ok(Some(file.size))
    }

    /// Downloads the output of `key` into `cache`, verifying every blob,
    /// and publishes it in one rename. Hold the cache's lock.
    pub fn pull_stage(&self, cache: &Cache, key: &Fingerprint) -> Result<Pulled> {
        if cache.stage_dir(key).is_dir() {
            return Ok(Pulled::AlreadyLocal);
        }
        self.runtime.block_on(async {
            let record_path = self.record_path(key);
            let record = match self.read_record(&record_path).await? {
                Some(r) => r,
                None => return Ok(Pulled::NotOnRemote),
            };
            if record.key != *key {
                return Err(self.bad_record(&record_path, format!("it is the record of key {}", record.key)));
            }
            let work = cache.work_dir()?;
            let mut made = BTreeSet::new();
            for file in &record.files {
                if let Some(parent) = std::path::Path::new(&file.path).parent()
                    && made.insert(parent.to_path_buf())
                {
                    let d = work.path().join(parent);
                    std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
                }
            }
            futures::stream::iter(record.files.iter().map(|f| self.download_blob(key, work.path(), f)))
                .buffer_unordered(PARALLEL)
                .try_collect::<Vec<()>>()
                .await?;
            let bytes = record.files.iter().map(|f| f.size).sum();
            cache.publish_stage(key, work)?;
            Ok(Pulled::Downloaded { files: record.files.len(), bytes })
        })
    }

    fn bad_record(&self, record: &Path, message: impl Into<String>) -> Error {
        Error::BadRecord { url: self.url.clone(), record: record.to_string(), message: message.into() }
    }

    /// A stage record, checked: known format, safe relative paths.
    async fn read_record(&self, path: &Path) -> Result<Option<StageRecord>> {
        let bytes = match self.store.get(path).await {
            Ok(got) => got.bytes().await.map_err(self.store_error(format!("reading `{path}`")))?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.store_error(format!("reading `{path}`"))(e)),
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| self.bad_record(path, "not UTF-8 text"))?;
        let record: StageRecord = toml::from_str(text).map_err(|e| self.bad_record(path, e.message().to_string()))?;
        if record.format != RECORD_FORMAT {
            return Err(self.bad_record(
                path,
                format!("record format {} is not supported (expected {RECORD_FORMAT})", record.format),
            ));
        }
        let mut seen = HashSet::new();
        for f in &record.files {
            if !safe_relative(&f.path) {
                return Err(self.bad_record(path, format!("file path `{}` leaves the output directory", f.path)));
            }
            if !seen.insert(f.path.as_str()) {
                return Err(self.bad_record(path, format!("file `{}` is listed twice", f.path)));
            }
        }
        Ok(Some(record))
    }

    /// Streams one blob into `work`, hashing as it goes; a blob whose hash
    /// or size is not the record's is refused by name.
    async fn download_blob(&self, key: &Fingerprint, work: &LocalPath, file: &RecordFile) -> Result<()> {
        let from = self.blob_path(&file.blake3);
        let what = || format!("downloading `{from}`");
        let got = match self.store.get(&from).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(self.bad_record(
                    &self.record_path(key),
                    format!("its blob `{from}` (for `{}`) is not on the remote", file.path),
                ));
            }
            Err(e) => return Err(self.store_error(what())(e)),
        };
        let dest = work.join(&file.path);
        let mut out = std::fs::File::create(&dest).map_err(|e| Error::io(&dest, e))?;
        let mut hasher = blake3::Hasher::new();
        let mut size = 0u64;
        let mut stream = got.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk: Bytes = chunk.map_err(self.store_error(what()))?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            out.write_all(&chunk).map_err(|e| Error::io(&dest, e))?;
        }
        let found = Fingerprint::from_bytes(*hasher.finalize().as_bytes());
        let blob = RemoteFile { path: file.path.clone(), blake3: file.blake3, size: file.size, location: from };
        self.check_content(key, &blob, found, size)
    }

    /// Removes records whose key is not in `keep`, then blobs no kept record
    /// refers to and older than `grace` (a push uploads blobs before its
    /// record; the grace period keeps those). Nothing is removed on a dry run.
    pub fn gc(&self, keep: &HashSet<Fingerprint>, grace: Duration, dry_run: bool) -> Result<RemoteGcReport> {
        self.runtime.block_on(async {
            let mut report = RemoteGcReport::default();
            let mut referenced = HashSet::new();
            let stages = self.root.clone().join("stages");
            let records: Vec<_> = self
                .store
                .list(Some(&stages))
                .try_collect()
                .await
                .map_err(self.store_error(format!("listing `{stages}`")))?;
            // Records first: a record never points at a removed blob.
            for meta in records {
                let name = meta.location.filename().unwrap_or_default();
                let key = name.strip_suffix(".toml").and_then(Fingerprint::from_hex);
                match key {
                    Some(key) if keep.contains(&key) => {
                        let record = self
                            .read_record(&meta.location)
                            .await?
                            .ok_or_else(|| self.bad_record(&meta.location, "it vanished while being read"))?;
                        referenced.extend(record.files.iter().map(|f| f.blake3));
                        report.kept_records += 1;
                    }
                    _ => {
                        if !dry_run {
                            self.delete(&meta.location).await?;
                        }
                        report.records += 1;
                    }
                }
            }
            let cas = self.root.clone().join("cas");
            let blobs: Vec<_> = self
                .store
                .list(Some(&cas))
                .try_collect()
                .await
                .map_err(self.store_error(format!("listing `{cas}`")))?;
            // A grace longer than the clock's age keeps every blob.
            let now = std::time::SystemTime::now();
            let cutoff = now.checked_sub(grace).unwrap_or(std::time::UNIX_EPOCH);
            for meta in blobs {
                let hash = meta.location.filename().and_then(Fingerprint::from_hex);
                if hash.is_some_and(|h| referenced.contains(&h)) {
                    continue;
                }
                if std::time::SystemTime::from(meta.last_modified) > cutoff {
                    report.young_blobs += 1;
                    continue;
                }
                if !dry_run {
                    self.delete(&meta.location).await?;
                }
                report.blobs += 1;
                report.bytes += meta.size;
            }
            Ok(report)
        })
    }

    async fn delete(&self, path: &Path) -> Result<()> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.store_error(format!("removing `{path}`"))(e)),
        }
    }

    /// The store and the root of the remote, for readers that register it
    /// (DataFusion); blob locations of [`RemoteFile`] are in it.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    /// The files of the output of `key` as the remote records them (`None`
    /// when it has no record).
    pub fn stage_files(&self, key: &Fingerprint) -> Result<Option<Vec<RemoteFile>>> {
        let record = self.runtime.block_on(self.read_record(&self.record_path(key)))?;
        Ok(record.map(|r| {
            r.files
                .into_iter()
                .map(|f| RemoteFile {
                    location: self.blob_path(&f.blake3),
                    path: f.path,
                    blake3: f.blake3,
                    size: f.size,
                })
                .collect()
        }))
    }

    /// A blob's bytes, verified against its name (small files: an index).
    pub fn read_file(&self, key: &Fingerprint, file: &RemoteFile) -> Result<Vec<u8>> {
        let bytes = self.runtime.block_on(async {
            let got = self
                .store
                .get(&file.location)
                .await
                .map_err(self.store_error(format!("reading `{}`", file.location)))?;
            got.bytes().await.map_err(self.store_error(format!("reading `{}`", file.location)))
        })?;
        self.check_content(key, file, Fingerprint::of_bytes(&bytes), bytes.len() as u64)?;
        Ok(bytes.to_vec())
    }

    /// The blob's ETag and size as the server reports them now (what a
    /// verification memo is keyed by).
    pub fn blob_version(&self, file: &RemoteFile) -> Result<(String, u64)> {
        let meta = self
            .runtime
            .block_on(self.store.head(&file.location))
            .map_err(self.store_error(format!("looking up `{}`", file.location)))?;
        Ok((meta.e_tag.unwrap_or_default(), meta.size))
    }

    /// Streams a blob and checks its blake3 and size against the record,
    /// without keeping it.
    pub fn verify_file(&self, key: &Fingerprint, file: &RemoteFile) -> Result<()> {
        let (found, size) = self.runtime.block_on(async {
            let what = || format!("reading `{}`", file.location);
            let got = self.store.get(&file.location).await.map_err(self.store_error(what()))?;
            let mut stream = got.into_stream();
            let mut hasher = blake3::Hasher::new();
            let mut size = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(self.store_error(what()))?;
                hasher.update(&chunk);
                size += chunk.len() as u64;
            }
            Ok::<_, Error>((Fingerprint::from_bytes(*hasher.finalize().as_bytes()), size))
        })?;
        self.check_content(key, file, found, size)
    }

    fn check_content(&self, key: &Fingerprint, file: &RemoteFile, found: Fingerprint, size: u64) -> Result<()> {
        if found != file.blake3 || size != file.size {
            return Err(Error::CorruptBlob {
                url: self.url.clone(),
                blob: file.location.to_string(),
                key: key.to_hex(),
                expected: format!("{} ({} bytes)", file.blake3, file.size),
                found: format!("{found} ({size} bytes)"),
            });
        }
        Ok(())
    }

    /// The keys of every stage record on the remote.
    pub fn stage_keys(&self) -> Result<Vec<Fingerprint>> {
        self.runtime.block_on(async {
            let stages = self.root.clone().join("stages");
            let metas: Vec<_> = self
                .store
                .list(Some(&stages))
                .try_collect()
                .await
                .map_err(self.store_error(format!("listing `{stages}`")))?;
            let mut keys: Vec<Fingerprint> = metas
                .iter()
                .filter_map(|m| m.location.filename()?.strip_suffix(".toml").and_then(Fingerprint::from_hex))
                .collect();
            keys.sort();
            Ok(keys)
        })
    }
}

/// The files of a stage output, sorted, with their hashes.
fn list_output(dir: &LocalPath) -> Result<Vec<RecordFile>> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            Error::io(path, e.into())
        })?;
        let kind = entry.file_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(Error::Unsupported {
                path: entry.path().to_path_buf(),
                message: "only regular files can be pushed (this is a link or a special file)".into(),
            });
        }
        let rel = entry.path().strip_prefix(dir).expect("walkdir stays below its root");
        let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        let path = parts.join("/");
        if !safe_relative(&path) || rel.to_str().is_none() {
            return Err(Error::Unsupported {
                path: entry.path().to_path_buf(),
                message: "its name cannot be stored on the remote (not UTF-8, or holds `\\`)".into(),
            });
        }
        let blake3 = actionbench_core::hash_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        let size = entry.metadata().map_err(|e| Error::io(entry.path(), e.into()))?.len();
        files.push(RecordFile { path, blake3, size });
    }
    Ok(files)
}

/// A `/`-separated relative path that stays below its directory.
fn safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.contains('\0')
        && path.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Reads until `buf` is full or the file ends.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl SharedCache for Remote {
    fn fetch(&self, cache: &Cache, key: &Fingerprint) -> std::result::Result<bool, SharedCacheError> {
        match self.pull_stage(cache, key) {
            Ok(Pulled::Downloaded { .. } | Pulled::AlreadyLocal) => Ok(true),
            Ok(Pulled::NotOnRemote) => Ok(false),
            Err(e) => Err(Box::new(actionbench_core::Diagnostic::new(e))),
        }
    }

    fn store(&self, cache: &Cache, key: &Fingerprint) -> std::result::Result<(), SharedCacheError> {
        self.push_stage(cache, key).map(|_| ()).map_err(|e| Box::new(actionbench_core::Diagnostic::new(e)) as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_paths_must_stay_inside() {
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a\\b"] {
            assert!(!safe_relative(bad), "{bad:?}");
        }
        for good in ["part-0.parquet", "shards/part-0.parquet", ".actionbench-stage.toml"] {
            assert!(safe_relative(good), "{good:?}");
        }
    }
}
