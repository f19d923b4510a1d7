use std::sync::Arc;

use actionbench_shards::tensor::{
    VariableShapeTensorBuilder, fixed_shape_tensor_array, fixed_shape_tensor_field, variable_shape_tensor_field,
    variable_shape_tensor_row,
};
use actionbench_shards::{Error, ShardIndex, ShardWriter, ShardWriterOptions, read_all};
use arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float32Type, Schema};

pub(crate) fn batch(start: usize, n: usize) -> RecordBatch {
    let ids: Vec<String> = (start..start + n).map(|i| format!("S{i:05}")).collect();
    let frames: Vec<i64> = (start..start + n).map(|i| (i % 7 + 1) as i64).collect();
    let mut joints = VariableShapeTensorBuilder::<Float32Type>::new(2);
    let mut fixed = Vec::new();
    for i in start..start + n {
        let t = i % 7 + 1;
        let data: Vec<f32> = (0..t * 3).map(|k| (i * 100 + k) as f32 * 0.5).collect();
        joints.push(&[t, 3], &data).unwrap();
        fixed.extend([i as f32, -(i as f32)]);
    }
    let schema = schema();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(Int64Array::from(frames)),
            joints.finish().unwrap(),
            fixed_shape_tensor_array::<Float32Type>(&[2], fixed).unwrap(),
        ],
    )
    .unwrap()
}

pub(crate) fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("num_frames", DataType::Int64, false),
        variable_shape_tensor_field(
            "joints",
            DataType::Float32,
            2,
            Some(vec!["frame".into(), "xyz".into()]),
            Some(vec![None, Some(3)]),
        )
        .unwrap(),
        fixed_shape_tensor_field("center", DataType::Float32, &[2]).unwrap(),
    ]))
}

pub(crate) fn write(dir: &std::path::Path) -> ShardIndex {
    let options = ShardWriterOptions {
        target_rows: 1000,
        row_group_rows: 256,
        stage_key: Some("abc123".into()),
        key_column: Some("sample_id".into()),
        ..Default::default()
    };
    let mut w = ShardWriter::new(dir, schema(), options).unwrap();
    w.write(&batch(0, 1500)).unwrap();
    w.write(&batch(1500, 1000)).unwrap();
    w.finish().unwrap()
}

#[test]
fn shards_are_cut_indexed_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let index = write(dir.path());
    assert_eq!(index.rows, 2500);
    assert_eq!(index.shards.iter().map(|s| s.rows).collect::<Vec<_>>(), [1000, 1000, 500]);
    assert_eq!(index.shards[1].first_row, 1000);
    assert_eq!(index.shards[0].key_min.as_deref(), Some("S00000"));
    assert_eq!(index.shards[0].key_max.as_deref(), Some("S00999"));
    assert_eq!(ShardIndex::read(dir.path()).unwrap(), index);

    let batches = read_all(dir.path()).unwrap();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 2500);
    let b = &batches[0];
    // Extension metadata survives the round trip (pyarrow relies on it).
    let joints_field = b.schema().field_with_name("joints").unwrap().clone();
    assert_eq!(joints_field.extension_type_name(), Some("arrow.variable_shape_tensor"));
    assert_eq!(b.schema().field_with_name("center").unwrap().extension_type_name(), Some("arrow.fixed_shape_tensor"));
    assert_eq!(b.schema().field_with_name("center").unwrap().extension_type_metadata(), Some(r#"{"shape":[2]}"#));
    assert_eq!(
        joints_field.extension_type_metadata(),
        Some(r#"{"dim_names":["frame","xyz"],"uniform_shape":[null,3]}"#)
    );
    let (shape, values) =
        variable_shape_tensor_row::<Float32Type>(b.column_by_name("joints").unwrap().as_ref(), 5).unwrap();
    assert_eq!(shape, [6, 3]);
    assert_eq!(values[..3], [250.0, 250.5, 251.0]);
    let center = b.column_by_name("center").unwrap().as_fixed_size_list();
    assert_eq!(center.value(5).as_primitive::<Float32Type>().values().to_vec(), [5.0, -5.0]);
}

#[test]
fn same_rows_give_byte_identical_shards() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ia, ib) = (write(a.path()), write(b.path()));
    assert_eq!(ia, ib, "same checksums");
    for s in &ia.shards {
        assert_eq!(std::fs::read(a.path().join(&s.file)).unwrap(), std::fs::read(b.path().join(&s.file)).unwrap());
    }
    // The stage key and a fixed created_by are in the file metadata.
    let file = std::fs::File::open(a.path().join(&ia.shards[0].file)).unwrap();
    let reader = parquet::file::serialized_reader::SerializedFileReader::new(file).unwrap();
    let meta = parquet::file::reader::FileReader::metadata(&reader).file_metadata().clone();
    assert_eq!(meta.created_by(), Some("actionbench"));
    let kv = meta.key_value_metadata().unwrap();
    assert!(kv.iter().any(|k| k.key == "actionbench.stage_key" && k.value.as_deref() == Some("abc123")));
}

#[test]
fn a_flipped_byte_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let index = write(dir.path());
    let path = dir.path().join(&index.shards[1].file);
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let err = read_all(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Corrupt { what: "blake3 checksum", .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("part-00001.parquet") && msg.contains("is corrupt"), "{msg}");
    // A truncated shard is caught by its size.
    std::fs::write(&path, b"PAR1").unwrap();
    assert!(matches!(read_all(dir.path()).unwrap_err(), Error::Corrupt { what: "size", .. }));
}

#[test]
fn empty_table_still_has_a_shard_with_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let w = ShardWriter::new(dir.path(), schema(), ShardWriterOptions::default()).unwrap();
    let index = w.finish().unwrap();
    assert_eq!((index.rows, index.shards.len()), (0, 1));
    assert_eq!(read_all(dir.path()).unwrap().iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
}

#[test]
fn bad_tensor_rows_are_rejected() {
    let mut b = VariableShapeTensorBuilder::<Float32Type>::new(2);
    assert!(b.push(&[2, 3], &[0.0; 5]).is_err());
    assert!(b.push(&[2], &[0.0; 2]).is_err());
    assert!(b.is_empty());
    let _ = b.finish().unwrap().len();
}

#[test]
fn bytes_do_not_depend_on_thread_count_and_row_groups_are_cut() {
    let write_with = |threads: usize| {
        let dir = tempfile::tempdir().unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let index = pool.install(|| write(dir.path()));
        let bytes: Vec<Vec<u8>> =
            index.shards.iter().map(|s| std::fs::read(dir.path().join(&s.file)).unwrap()).collect();
        (dir, index, bytes)
    };
    let (dir, one, one_bytes) = write_with(1);
    let (_other, four, four_bytes) = write_with(4);
    assert_eq!(one, four);
    assert_eq!(one_bytes, four_bytes);
    // Row groups hold `row_group_rows` (256) rows; the second shard's rows
    // come from two written batches, and its row groups span the boundary.
    let file = std::fs::File::open(dir.path().join(&one.shards[1].file)).unwrap();
    let reader = parquet::file::serialized_reader::SerializedFileReader::new(file).unwrap();
    let meta = parquet::file::reader::FileReader::metadata(&reader);
    let sizes: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
    assert_eq!(sizes, vec![256, 256, 256, 232]);
}
