//! LART training steps through the trainer, fed two ways in one run, for
//! `scripts/bench step` (CPU) and `scripts/bench gpu` (CUDA):
//!
//! - **in-memory**: one collated batch, handed to the trainer again and
//!   again (no decoding, no reading);
//! - **loader**: the `Loader` reading a tracklet shard from disk (checked
//!   against its index), windowing, masking and collating on its threads
//!   with bounded prefetch, as a `train` stage does.
//!
//! Both go through `trainer::train` (host batch → device tensors, forward,
//! loss, backward, AdamW), so the ratio is what the loader costs a step.
//!
//! ```text
//! bench_step [--device cpu|cuda] [--size tiny|small|paper] [--batch 32] [--frames 128]
//!            [--people 1] [--steps 20] [--warmup 5] [--threads 0] [--prefetch 2]
//! ```
//!
//! Prints one JSON line per feed, then one with the ratio.

#[path = "shared/steps.rs"]
mod steps;

use std::path::Path;
use std::sync::Arc;

use actionbench_loader::{
    Keyframes, Loader, LoaderConfig, LoaderState, Table, TableSpec, TrackletConfig, TrackletSource,
};
use actionbench_models::{LartConfig, LartSize};
use actionbench_shards::tensor::{VariableShapeTensorBuilder, variable_shape_tensor_field};
use actionbench_shards::{ShardWriter, ShardWriterOptions};
use actionbench_train::tasks::LartTask;
use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float32Type, Int32Type, Schema, UInt8Type};
use burn::tensor::backend::AutodiffBackend;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use steps::{Options, compare_feeds, on_device};

// The allocator of the `actionbench` binary, whose `train` stage this stands in for.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Error = Box<dyn std::error::Error>;

const POSE_DIM: usize = 229;
const CLASSES: usize = 80;

struct Args {
    device: String,
    size: LartSize,
    batch: usize,
    frames: usize,
    people: usize,
    steps: usize,
    warmup: usize,
    threads: usize,
    prefetch: usize,
}

fn parse_args() -> Result<Args, Error> {
    let o = Options::parse(&[
        "--device",
        "--size",
        "--batch",
        "--frames",
        "--people",
        "--steps",
        "--warmup",
        "--threads",
        "--prefetch",
    ])?;
    let size = match o.get("--size").as_deref().unwrap_or("paper") {
        "tiny" => LartSize::Tiny,
        "small" => LartSize::Small,
        "paper" => LartSize::Paper,
        other => return Err(format!("--size: `{other}` is not tiny, small or paper").into()),
    };
    Ok(Args {
        device: o.get("--device").unwrap_or_else(|| "cpu".into()),
        size,
        batch: o.num("--batch", 32)?,
        frames: o.num("--frames", 128)?,
        people: o.num("--people", 1)?,
        steps: o.num("--steps", 20)?,
        warmup: o.num("--warmup", 5)?,
        threads: o.num("--threads", 0)?,
        prefetch: o.num("--prefetch", 2)?,
    })
}

/// Writes a PHALP-like tracklet shard: `videos` videos of `people` tracks,
/// each `2 * frames` long with ground truth on its middle `labelled` frames.
fn write_tracklets(dir: &Path, videos: usize, people: usize, frames: usize, labelled: usize) -> Result<(), Error> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("video_id", DataType::Utf8, false),
        variable_shape_tensor_field("frame", DataType::Int32, 1, None, None)?,
        variable_shape_tensor_field("pose229", DataType::Float32, 2, None, None)?,
        variable_shape_tensor_field("has_detection", DataType::UInt8, 1, None, None)?,
        variable_shape_tensor_field("labels", DataType::Float32, 2, None, None)?,
        variable_shape_tensor_field("has_gt", DataType::UInt8, 1, None, None)?,
    ]));
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let len = 2 * frames;
    let first_gt = (len - labelled) / 2;
    let (mut ids, mut vids) = (Vec::new(), Vec::new());
    let mut frame = VariableShapeTensorBuilder::<Int32Type>::new(1);
    let mut pose = VariableShapeTensorBuilder::<Float32Type>::new(2);
    let mut det = VariableShapeTensorBuilder::<UInt8Type>::new(1);
    let mut labels = VariableShapeTensorBuilder::<Float32Type>::new(2);
    let mut gt = VariableShapeTensorBuilder::<UInt8Type>::new(1);
    for v in 0..videos {
        for p in 0..people {
            ids.push(format!("v{v:03}-t{p}"));
            vids.push(format!("v{v:03}"));
            frame.push(&[len], &(0..len as i32).collect::<Vec<_>>())?;
            let values: Vec<f32> = (0..len * POSE_DIM).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
            pose.push(&[len, POSE_DIM], &values)?;
            det.push(&[len], &(0..len).map(|_| u8::from(rng.random::<f32>() < 0.95)).collect::<Vec<_>>())?;
            let multi: Vec<f32> = (0..len * CLASSES).map(|_| f32::from(u8::from(rng.random::<f32>() < 0.05))).collect();
            labels.push(&[len, CLASSES], &multi)?;
            let flags: Vec<u8> =
                (0..len).map(|f| if (first_gt..first_gt + labelled).contains(&f) { 2 } else { 0 }).collect();
            gt.push(&[len], &flags)?;
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(ids)),
        Arc::new(StringArray::from(vids)),
        frame.finish()?,
        pose.finish()?,
        det.finish()?,
        labels.finish()?,
        gt.finish()?,
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let options = ShardWriterOptions { row_group_rows: 16, ..Default::default() };
    let mut writer = ShardWriter::new(dir, schema, options)?;
    writer.write(&batch)?;
    writer.finish()?;
    Ok(())
}

fn run<B: AutodiffBackend>(args: &Args, device: &B::Device, name: &str) -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let needed = (args.warmup + args.steps) * args.batch;
    // Tracks of one video are each other's context persons.
    let labelled = 64;
    let videos = needed.div_ceil(labelled * args.people) + 1;
    write_tracklets(dir.path(), videos, args.people, args.frames, labelled)?;
    let table = Arc::new(Table::open(&TableSpec { dirs: vec![dir.path().to_path_buf()], ..Default::default() })?);
    let tracklets = TrackletConfig {
        window: args.frames,
        persons: args.people,
        keyframes: Keyframes::Labelled,
        ..Default::default()
    };
    let source = Arc::new(TrackletSource::new(table, tracklets)?);
    let loader_config = LoaderConfig {
        batch_size: args.batch,
        drop_last: true,
        shuffle: true,
        threads: args.threads,
        prefetch: args.prefetch,
    };
    let mut config = LartConfig::new(CLASSES, args.size);
    config.max_people = args.people;
    config.dropout = 0.1;

    let common = format!(
        "\"backend\": \"{name}\", \"batch\": {}, \"frames\": {}, \"people\": {}, \"steps\": {}",
        args.batch, args.frames, args.people, args.steps
    );
    compare_feeds(
        || LartTask::<B>::new(&config, device),
        || Loader::new(source.clone(), &loader_config, LoaderState::new(0, 0)),
        (args.warmup, args.steps),
        device,
        &common,
    )
}

fn main() -> Result<(), Error> {
    let args = parse_args()?;
    on_device!(args.device.as_str(), run, &args)
}
