//! Shard reading and the SQL row filter, checked against DuckDB.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use actionbench_loader::{Loader, LoaderConfig, LoaderState, SkeletonConfig, SkeletonSource, Table, TableSpec};

use crate::common::{ntu_batch, write_shards};

fn ids(table: &Table) -> Vec<String> {
    (0..table.len()).map(|i| table.string("sample_id", i).unwrap()).collect()
}

/// DuckDB's answer for the same WHERE clause over the same Parquet files.
fn duckdb_ids(dir: &Path, filter: &str) -> Vec<String> {
    let script = format!(
        "import duckdb,sys\nrows=duckdb.sql(\"SELECT sample_id FROM read_parquet('{}/*.parquet') WHERE {} ORDER BY sample_id\").fetchall()\nprint('\\n'.join(r[0] for r in rows))",
        dir.display(),
        filter.replace('"', "\\\"")
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3 is needed for this test (CI installs it with duckdb: scripts/requirements-test.txt)");
    assert!(out.status.success(), "duckdb failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().filter(|l| !l.is_empty()).map(String::from).collect()
}

#[test]
fn filters_select_the_rows_duckdb_selects() {
    let dir = tempfile::tempdir().unwrap();
    write_shards(dir.path(), &ntu_batch(60), 16);
    for filter in [
        "xsub = 'train'",
        "xsub <> 'train'",
        "xsub = 'train' AND num_frames >= 40",
        "(label IN (1, 3) OR subject BETWEEN 5 AND 6) AND NOT xsub = 'val'",
        "sample_id LIKE 'S001%' OR num_frames < 25.5",
        "label NOT IN (0, 4) AND subject NOT BETWEEN 2 AND 3",
        "1 = 1",
        "XSUB = 'val' AND num_frames IS NOT NULL",
    ] {
        let spec = TableSpec {
            dirs: vec![dir.path().to_path_buf()],
            columns: vec!["sample_id".into(), "joints".into(), "label".into()],
            filter: Some(filter.into()),
        };
        let table = Table::open(&spec).unwrap();
        let mut got = ids(&table);
        got.sort();
        let want = duckdb_ids(dir.path(), filter);
        assert!(!want.is_empty() || filter.contains("NOT"), "filter `{filter}` selects nothing: a weak test");
        assert_eq!(got, want, "filter `{filter}`");
    }
}

#[test]
fn xsub_train_loader_yields_only_train_samples_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let batch = ntu_batch(40);
    write_shards(dir.path(), &batch, 7);
    let spec =
        TableSpec { dirs: vec![dir.path().to_path_buf()], filter: Some("xsub = 'train'".into()), ..Default::default() };
    let table = Arc::new(Table::open(&spec).unwrap());
    let want: BTreeSet<String> = duckdb_ids(dir.path(), "xsub = 'train'").into_iter().collect();
    let source = SkeletonSource::new(table, SkeletonConfig { frames: 8, ..Default::default() }).unwrap();
    let loader =
        Loader::new(Arc::new(source), &LoaderConfig { batch_size: 6, ..Default::default() }, LoaderState::new(1, 0))
            .unwrap();
    let got: Vec<String> = loader.flat_map(|b| b.unwrap().sample_ids).collect();
    assert_eq!(got.len(), want.len());
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want);
}

#[test]
fn table_filter_after_reading_matches_filter_while_reading() {
    let dir = tempfile::tempdir().unwrap();
    write_shards(dir.path(), &ntu_batch(30), 8);
    let all = Table::open(&TableSpec { dirs: vec![dir.path().to_path_buf()], ..Default::default() }).unwrap();
    assert_eq!(all.len(), 30);
    let later = all.filter("subject >= 4").unwrap();
    let spec =
        TableSpec { dirs: vec![dir.path().to_path_buf()], filter: Some("subject >= 4".into()), ..Default::default() };
    assert_eq!(ids(&later), ids(&Table::open(&spec).unwrap()));
    assert_eq!(ids(&later), duckdb_ids(dir.path(), "subject >= 4"));
}

#[test]
fn bad_filters_are_errors_with_hints() {
    let dir = tempfile::tempdir().unwrap();
    write_shards(dir.path(), &ntu_batch(5), 8);
    let open = |f: &str| {
        Table::open(&TableSpec { dirs: vec![dir.path().to_path_buf()], filter: Some(f.into()), ..Default::default() })
            .err()
            .map(|e| format!("{e}\nhint: {}", actionbench_core::Diagnose::hint(&e).unwrap_or_default()))
            .unwrap()
    };
    let e = open("xsbu = 'train'");
    assert!(e.contains("unknown column `xsbu`") && e.contains("xsub"), "{e}");
    let e = open("xsub = 'train' AND");
    assert!(e.contains("Filter"), "{e}");
    let err = Table::open(&TableSpec {
        dirs: vec![dir.path().to_path_buf()],
        filter: Some("xsub = 'train' AND".into()),
        ..Default::default()
    })
    .err()
    .unwrap();
    assert!(actionbench_core::Diagnose::hint(&err).is_some(), "{err}");
    let e = open("xsub = 'train' garbage");
    assert!(e.contains("garbage"), "{e}");
    let e = open("subject = 'train'");
    assert!(e.contains("subject"), "{e}");
    let e = open("subject + 1 = 2");
    assert!(e.contains("not supported"), "{e}");
    let e = open("subject");
    assert!(e.contains("not a boolean"), "{e}");
}

#[test]
fn a_corrupt_shard_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write_shards(dir.path(), &ntu_batch(20), 8);
    let victim = dir.path().join("part-00001.parquet");
    let mut bytes = std::fs::read(&victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&victim, bytes).unwrap();
    let err = Table::open(&TableSpec { dirs: vec![dir.path().to_path_buf()], ..Default::default() }).err().unwrap();
    let e = err.to_string();
    assert!(e.contains("part-00001.parquet") && e.contains("blake3"), "{e}");
}

#[test]
fn projection_reads_only_the_named_columns() {
    let dir = tempfile::tempdir().unwrap();
    write_shards(dir.path(), &ntu_batch(6), 8);
    let spec = TableSpec {
        dirs: vec![dir.path().to_path_buf()],
        columns: vec!["sample_id".into()],
        filter: Some("label = 1".into()),
    };
    let t = Table::open(&spec).unwrap();
    let names: Vec<String> = t.schema().unwrap().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, vec!["sample_id", "label"]);
    let e = Table::open(&TableSpec { columns: vec!["nope".into()], ..spec }).err().unwrap();
    let hint = actionbench_core::Diagnose::hint(&e).unwrap_or_default();
    assert!(e.to_string().contains("nope") && hint.contains("sample_id"), "{e} / {hint}");
}
