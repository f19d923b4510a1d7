use std::path::Path;

use actionbench_formats::npy::{NpyDtype, write_npy_bytes};
use actionbench_pipeline::{Engine, NoopReporter, PipelineDef, RunOptions};
use actionbench_sql::{Error, SqlSession, render_csv, render_json, render_table};
use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Int64Type;

/// A project with a CSV table, an inventory (CSV) and a shard table.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("pipelines")).unwrap();
    std::fs::create_dir_all(root.join("data")).unwrap();
    let mut csv = String::from("sample_id,label,num_frames\n");
    for i in (0..10).rev() {
        csv.push_str(&format!("S{i:03},{},{}\n", i % 3, 10 + i * 7));
    }
    std::fs::write(root.join("data/table.csv"), csv).unwrap();
    std::fs::write(
        root.join("pipelines/toy.toml"),
        r#"
[stages.inventory]
uses = "files.manifest"
inputs = ["data"]

[stages.samples]
uses = "shard.parquet"
inputs = ["data/table.csv"]
params = { sort-by = ["sample_id"], target-rows = 4 }
"#,
    )
    .unwrap();
    run(root);
    dir
}

fn run(root: &Path) {
    let def = PipelineDef::load("toy", root).unwrap();
    let engine = Engine::new(def, actionbench_stages::registry(), None).unwrap();
    let reports = engine.run(&RunOptions { jobs: 1, ..Default::default() }, &NoopReporter).unwrap();
    assert!(reports.iter().all(|r| r.outcome.label() == "ran"), "{reports:?}");
}

fn int_column(batches: &[RecordBatch], i: usize) -> Vec<i64> {
    batches.iter().flat_map(|b| b.column(i).as_primitive::<Int64Type>().values().to_vec()).collect()
}

#[test]
fn pipeline_tables_and_catalog_are_queryable() {
    let dir = project();
    let session = SqlSession::open(dir.path(), None).unwrap();
    let tables = render_table(&session.query("SHOW TABLES").unwrap()).unwrap();
    for t in ["| toy ", "| samples ", "| inventory ", "| actionbench ", "| stages ", "| shards "] {
        assert!(tables.contains(t), "{t} missing from\n{tables}");
    }
    let counts = session.query("SELECT label, count(*) AS n FROM toy.samples GROUP BY label ORDER BY label").unwrap();
    assert_eq!(int_column(&counts, 0), [0, 1, 2]);
    assert_eq!(int_column(&counts, 1), [4, 3, 3]);
    let short = session.query("SELECT sample_id FROM toy.samples WHERE num_frames < 30 ORDER BY sample_id").unwrap();
    assert_eq!(render_csv(&short).unwrap(), "sample_id\nS000\nS001\nS002\n");
    // The shard index is a table: 10 rows in shards of 4.
    let shards = session.query("SELECT file, rows, key_min, key_max FROM actionbench.shards ORDER BY file").unwrap();
    assert_eq!(
        render_csv(&shards).unwrap(),
        "file,rows,key_min,key_max\npart-00000.parquet,4,S000,S003\npart-00001.parquet,4,S004,S007\npart-00002.parquet,2,S008,S009\n"
    );
    let inv = session.query("SELECT path FROM toy.inventory").unwrap();
    assert_eq!(render_json(&inv).unwrap(), r#"[{"path":"data/table.csv"}]"#);
    let stages = session.query("SELECT stage, kind FROM actionbench.stages ORDER BY stage").unwrap();
    assert_eq!(render_csv(&stages).unwrap(), "stage,kind\ninventory,files.manifest\nsamples,shard.parquet\n");
}

#[test]
fn a_query_typo_gives_its_position() {
    let dir = project();
    let session = SqlSession::open(dir.path(), None).unwrap();
    let query = "SELECT label,\n  cout(*) FROM toy.samples GROUP BY label";
    let err = session.query(query).unwrap_err();
    assert!(matches!(err, Error::Query { .. }), "{err}");
    let query = "SELECT label FROM toy.samples WHERE label = = 1";
    let err = session.query(query).unwrap_err();
    let Error::Query { line, column, .. } = &err else { panic!("{err}") };
    assert_eq!(&query[44..45], "=", "the second `=` is column 45");
    assert_eq!((*line, *column), (Some(1), Some(45)), "{err}");
    assert_eq!(err.pointer(query).unwrap(), format!("{query}\n{}^", " ".repeat(44)));
    assert!(session.query("SELECT * FROM toy.nope").unwrap_err().to_string().contains("toy.nope"));
}

#[test]
fn a_corrupt_shard_is_an_error_not_a_wrong_number() {
    let dir = project();
    // First open verifies and remembers; then a byte flips.
    SqlSession::open(dir.path(), None).unwrap();
    let stages = dir.path().join(".actionbench/v1/stages");
    let shard = std::fs::read_dir(&stages)
        .unwrap()
        .map(|e| e.unwrap().path().join("part-00001.parquet"))
        .find(|p| p.is_file())
        .unwrap();
    let mut bytes = std::fs::read(&shard).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&shard, bytes).unwrap();
    let err = SqlSession::open(dir.path(), None).err().expect("corruption is caught");
    assert!(err.to_string().contains("part-00001.parquet") && err.to_string().contains("corrupt"), "{err}");
}

#[test]
fn evaluation_metrics_are_gathered_in_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("pipelines")).unwrap();
    std::fs::create_dir_all(root.join("data")).unwrap();
    // Two poses 5 apart: MPJPE 5, P-MPJPE 0.
    let npy = |data: &[f64]| write_npy_bytes(&[1, 2, 3], data, NpyDtype::Float64);
    std::fs::write(root.join("data/gt.npy"), npy(&[0.0, 0.0, 0.0, 1.0, 2.0, 2.0])).unwrap();
    std::fs::write(root.join("data/pred.npy"), npy(&[3.0, 4.0, 0.0, 4.0, 6.0, 2.0])).unwrap();
    std::fs::write(
        root.join("pipelines/toy.toml"),
        r#"
[stages.pose]
uses = "eval.pose"
inputs = ["data/pred.npy", "data/gt.npy"]
params = { pred = "data/pred.npy", gt = "data/gt.npy", split = "test" }
"#,
    )
    .unwrap();
    run(root);
    let session = SqlSession::open(root, None).unwrap();
    let m = session
        .query(
            "SELECT pipeline, stage, split, metric, round(value, 6) AS value FROM actionbench.metrics ORDER BY metric",
        )
        .unwrap();
    assert_eq!(
        render_csv(&m).unwrap(),
        "pipeline,stage,split,metric,value\ntoy,pose,test,mpjpe,5.0\ntoy,pose,test,p_mpjpe,0.0\n"
    );
}
