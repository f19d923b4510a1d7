//! Writes the batches of one epoch of the skeleton loader to a Parquet
//! file: the reference the Python package's tests compare
//! `actionbench.Loader` against (same library, no Python in between).
//!
//! Usage: dump_batches SHARD_DIR CONFIG_JSON BATCH SEED EPOCH RANK WORLD OUT.parquet [FILTER]
//! Columns: `batch` (index in the epoch), `sample_id`, `label`, and every
//! tensor as a fixed-size list of one sample's values (shape without the
//! batch dimension in the field metadata `actionbench.shape`).

use std::sync::Arc;

use actionbench_loader::{
    Loader, LoaderConfig, LoaderState, Sequential, SkeletonConfig, SkeletonSource, Table, TableSpec,
};
use arrow::array::{ArrayRef, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, config, batch, seed, epoch, rank, world, out, filter) = match &args[..] {
        [d, c, b, s, e, r, w, o] => (d, c, b, s, e, r, w, o, None),
        [d, c, b, s, e, r, w, o, f] => (d, c, b, s, e, r, w, o, Some(f.clone())),
        _ => return Err("usage: dump_batches SHARD_DIR CONFIG_JSON BATCH SEED EPOCH RANK WORLD OUT [FILTER]".into()),
    };
    let config: SkeletonConfig = serde_json::from_str(config)?;
    let table = Arc::new(Table::open(&TableSpec { dirs: vec![dir.into()], columns: Vec::new(), filter })?);
    let source = Arc::new(SkeletonSource::new(table, config)?);
    let plan = Sequential::new(actionbench_loader::SampleSource::len(source.as_ref()), true)
        .sharded(rank.parse()?, world.parse()?)?;
    let loader_config = LoaderConfig { batch_size: batch.parse()?, ..Default::default() };
    let state = LoaderState::new(seed.parse()?, epoch.parse()?);
    let loader = Loader::with_plan(vec![source], Arc::new(plan), &loader_config, state)?;
    let mut writer: Option<ArrowWriter<std::fs::File>> = None;
    for (i, b) in loader.enumerate() {
        let b = b?;
        let n = b.sample_ids.len();
        let mut fields = vec![
            Field::new("batch", DataType::Int64, false),
            Field::new("sample_id", DataType::Utf8, false),
            Field::new("label", DataType::Int64, false),
        ];
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![i as i64; n])),
            Arc::new(StringArray::from(b.sample_ids.clone())),
            Arc::new(Int64Array::from(b.labels.clone())),
        ];
        for (name, t) in &b.tensors {
            let per = t.data.len() / n.max(1);
            let item = Arc::new(Field::new("item", DataType::Float32, false));
            let list =
                FixedSizeListArray::try_new(item, per as i32, Arc::new(Float32Array::from(t.data.clone())), None)?;
            let meta = [("actionbench.shape".to_string(), serde_json::to_string(&t.shape[1..])?)].into();
            fields.push(Field::new(name, arrow::array::Array::data_type(&list).clone(), false).with_metadata(meta));
            columns.push(Arc::new(list));
        }
        let rb = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
        if writer.is_none() {
            writer = Some(ArrowWriter::try_new(std::fs::File::create(out)?, rb.schema(), None)?);
        }
        writer.as_mut().expect("created above").write(&rb)?;
    }
    if let Some(w) = writer {
        w.close()?;
    }
    Ok(())
}
