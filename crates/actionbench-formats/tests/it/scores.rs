//! Score tables in CSV and Parquet, and label lists.

use actionbench_core::Diagnose as _;
use std::sync::Arc;

use actionbench_formats::scores::{read_labels, read_scores};
use arrow::array::{
    ArrayRef, FixedSizeListBuilder, Float32Array, Float32Builder, Float64Array, Int32Array, ListBuilder, RecordBatch,
    StringArray,
};
use parquet::arrow::ArrowWriter;

fn write_parquet(path: &std::path::Path, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

#[test]
fn csv_with_header_ids_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scores.csv");
    std::fs::write(&path, "video,label,walk,run\nv1,0,0.9,0.1\nv2,1,0.3,0.7\n").unwrap();
    let t = read_scores(&path).unwrap();
    assert_eq!(t.ids, Some(vec!["v1".to_string(), "v2".to_string()]));
    assert_eq!(t.labels, Some(vec![0, 1]));
    assert_eq!((t.rows(), t.classes), (2, 2));
    assert_eq!(t.scores, vec![0.9, 0.1, 0.3, 0.7]);
}

#[test]
fn parquet_with_a_list_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scores.parquet");
    let mut list = ListBuilder::new(Float32Builder::new());
    for row in [[0.5f32, 0.25, 0.25], [0.0, 1.0, 0.0]] {
        list.values().append_slice(&row);
        list.append(true);
    }
    write_parquet(
        &path,
        vec![
            ("sample_id", Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef),
            ("label", Arc::new(Int32Array::from(vec![0, 1])) as ArrayRef),
            ("scores", Arc::new(list.finish()) as ArrayRef),
        ],
    );
    let t = read_scores(&path).unwrap();
    assert_eq!(t.ids, Some(vec!["a".to_string(), "b".to_string()]));
    assert_eq!(t.labels, Some(vec![0, 1]));
    assert_eq!(t.classes, 3);
    assert_eq!(t.scores, vec![0.5, 0.25, 0.25, 0.0, 1.0, 0.0]);
}

#[test]
fn parquet_with_fixed_size_lists_or_one_column_per_class() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = dir.path().join("fixed.parquet");
    let mut list = FixedSizeListBuilder::new(Float32Builder::new(), 2);
    list.values().append_slice(&[0.75, 0.25]);
    list.append(true);
    write_parquet(&fixed, vec![("logits", Arc::new(list.finish()) as ArrayRef)]);
    let t = read_scores(&fixed).unwrap();
    assert_eq!((t.rows(), t.classes, t.scores.clone()), (1, 2, vec![0.75, 0.25]));

    let wide = dir.path().join("wide.parquet");
    write_parquet(
        &wide,
        vec![
            ("id", Arc::new(Int32Array::from(vec![7, 8])) as ArrayRef),
            ("c0", Arc::new(Float64Array::from(vec![0.1, 0.2])) as ArrayRef),
            ("c1", Arc::new(Float32Array::from(vec![0.5f32, 0.25])) as ArrayRef),
        ],
    );
    let t = read_scores(&wide).unwrap();
    assert_eq!(t.ids, Some(vec!["7".to_string(), "8".to_string()]));
    assert_eq!(t.scores, vec![0.1, 0.5, 0.2, 0.25]);
}

#[test]
fn parquet_problems_name_the_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.parquet");
    write_parquet(
        &path,
        vec![
            ("clip_name", Arc::new(StringArray::from(vec!["a"])) as ArrayRef),
            ("c0", Arc::new(Float64Array::from(vec![0.1])) as ArrayRef),
        ],
    );
    let err = read_scores(&path).unwrap_err();
    assert!(err.to_string().contains("column `clip_name` has type Utf8"), "{err}");
    assert!(err.hint().unwrap().contains("sample_id"));
    let not_parquet = dir.path().join("text.parquet");
    std::fs::write(&not_parquet, "0.1,0.9\n").unwrap();
    assert!(read_scores(&not_parquet).is_err());
}

#[test]
fn label_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("val_list.txt");
    std::fs::write(&path, "a/b.mp4 3\nc/d.mp4 0\n").unwrap();
    let l = read_labels(&path).unwrap();
    assert_eq!(l.labels, vec![3, 0]);
    assert_eq!(l.ids.unwrap(), vec!["a/b.mp4", "c/d.mp4"]);
}
