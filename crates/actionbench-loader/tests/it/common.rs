//! Synthetic NTU-like tables and shards.

use std::path::Path;
use std::sync::Arc;

use actionbench_loader::{HostTensor, LoaderError, Sample, SampleRng, SampleSource, Table};
use actionbench_shards::tensor::{VariableShapeTensorBuilder, variable_shape_tensor_field};
use actionbench_shards::{ShardWriter, ShardWriterOptions};
use arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float32Type, Schema};
use rand::Rng;

/// Frames of sample `i`.
pub(crate) fn frames_of(i: usize) -> usize {
    20 + (i * 7) % 41
}

/// Bodies of sample `i`.
pub(crate) fn bodies_of(i: usize) -> usize {
    1 + i % 3
}

/// Joint value: never zero, so bodies count as present.
pub(crate) fn joint_value(i: usize, f: usize, b: usize, j: usize, c: usize) -> f32 {
    1.0 + (i as f32) * 0.01 + (f as f32) * 0.1 + (b as f32) * 3.0 + (j as f32) * 0.05 + (c as f32) * 0.3
}

/// `n` NTU-like rows: sample_id, subject, label, num_frames, xsub, joints `[F, B, 25, 3]`.
pub(crate) fn ntu_batch(n: usize) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("subject", DataType::Int32, false),
        Field::new("label", DataType::Int32, false),
        Field::new("num_frames", DataType::Int32, false),
        Field::new("xsub", DataType::Utf8, false),
        variable_shape_tensor_field("joints", DataType::Float32, 4, None, Some(vec![None, None, Some(25), Some(3)]))
            .unwrap(),
    ]));
    let mut joints = VariableShapeTensorBuilder::<Float32Type>::new(4);
    for i in 0..n {
        let (f, b) = (frames_of(i), bodies_of(i));
        let mut data = Vec::with_capacity(f * b * 75);
        for fi in 0..f {
            for bi in 0..b {
                for j in 0..25 {
                    for c in 0..3 {
                        data.push(joint_value(i, fi, bi, j, c));
                    }
                }
            }
        }
        joints.push(&[f, b, 25, 3], &data).unwrap();
    }
    let subject: Vec<i32> = (0..n).map(|i| (i % 7) as i32 + 1).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from((0..n).map(|i| format!("S{i:04}")).collect::<Vec<_>>())),
        Arc::new(Int32Array::from(subject.clone())),
        Arc::new(Int32Array::from((0..n).map(|i| (i % 5) as i32).collect::<Vec<_>>())),
        Arc::new(Int32Array::from((0..n).map(|i| frames_of(i) as i32).collect::<Vec<_>>())),
        Arc::new(StringArray::from(
            subject.iter().map(|s| if [1, 2, 4].contains(s) { "train" } else { "val" }).collect::<Vec<_>>(),
        )),
        joints.finish().unwrap(),
    ];
    RecordBatch::try_new(schema, columns).unwrap()
}

/// Writes `batch` as shards of `rows` rows into `dir`.
pub(crate) fn write_shards(dir: &Path, batch: &RecordBatch, rows: usize) {
    let options = ShardWriterOptions {
        target_rows: rows,
        row_group_rows: rows.min(8),
        key_column: Some("sample_id".into()),
        ..Default::default()
    };
    let mut w = ShardWriter::new(dir, batch.schema(), options).unwrap();
    w.write(batch).unwrap();
    w.finish().unwrap();
}

/// An in-memory table of `n` NTU-like rows.
pub(crate) fn ntu_table(n: usize) -> Arc<Table> {
    Arc::new(Table::from_batches(vec![ntu_batch(n)], "test table"))
}

/// A source whose samples record their index and one draw of their RNG.
pub(crate) struct IdSource {
    pub(crate) n: usize,
    pub(crate) prefix: &'static str,
}

impl SampleSource for IdSource {
    fn len(&self) -> usize {
        self.n
    }

    fn sample(&self, index: usize, rng: &mut SampleRng) -> Result<Sample, LoaderError> {
        let draw: f32 = rng.random();
        let mut s = Sample { id: format!("{}{index}", self.prefix), label: index as i64, ..Default::default() };
        s.tensors.insert("x".into(), HostTensor { shape: vec![2], data: vec![index as f32, draw] });
        Ok(s)
    }
}
