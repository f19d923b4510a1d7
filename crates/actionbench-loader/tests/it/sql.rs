//! `Table::from_sql`: the rows of a query over the project's tables.

use actionbench_loader::{LoaderError, Table};
use actionbench_pipeline::{Engine, NoopReporter, PipelineDef, Registry, RunOptions};
use actionbench_sql::SqlSession;
use arrow::util::display::array_value_to_string;

use crate::common::{ntu_batch, write_shards};

/// A project whose pipeline `p` has a command stage `copy` that outputs a
/// shard directory of 12 NTU-like rows (table `p.copy`).
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_shards(&root.join("data/shards"), &ntu_batch(12), 5);
    std::fs::create_dir_all(root.join("pipelines")).unwrap();
    std::fs::write(
        root.join("pipelines/p.toml"),
        "[stages.copy]\ncmd = \"cp -r data/shards out\"\ndeps = [\"data/shards\"]\nouts = [\"out\"]\n",
    )
    .unwrap();
    let def = PipelineDef::load("p", root).unwrap();
    let engine = Engine::new(def, Registry::new(), Some(root.join(".cache"))).unwrap();
    let reports = engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap();
    assert!(reports.iter().all(|r| r.outcome.label() == "ran"), "{reports:?}");
    dir
}

#[test]
fn from_sql_keeps_the_query_rows_in_order() {
    let dir = project();
    let session = SqlSession::open(dir.path(), Some(dir.path().join(".cache"))).unwrap();
    let sql = "SELECT sample_id, label, joints FROM p.copy WHERE xsub = 'train' ORDER BY sample_id DESC";
    let table = Table::from_sql(&session, sql).unwrap();
    // Subjects are i % 7 + 1; subjects 1, 2 and 4 are `train`.
    let expected: Vec<String> =
        (0..12).rev().filter(|i| [1, 2, 4].contains(&(i % 7 + 1))).map(|i| format!("S{i:04}")).collect();
    assert_eq!(table.len(), expected.len());
    let ids: Vec<String> = (0..table.len())
        .map(|i| {
            let (batch, row) = table.locate(i).unwrap();
            // DataFusion may hand strings back as `Utf8View`: compare the text.
            array_value_to_string(batch.column_by_name("sample_id").unwrap(), row).unwrap()
        })
        .collect();
    assert_eq!(ids, expected);
    let schema = table.schema().unwrap();
    assert_eq!(schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>(), ["sample_id", "label", "joints"]);
    assert!(table.origin().contains(sql), "{}", table.origin());

    // A typo is the SQL layer's error, with its position.
    let err = Table::from_sql(&session, "SELEC * FROM p.copy").unwrap_err();
    assert!(matches!(err, LoaderError::Sql(_)), "{err:?}");
    assert!(err.to_string().contains("Column: 1"), "{err}");
}
