//! MViTv2 training steps through the trainer on video clips, fed two ways in
//! one run, for `scripts/bench video-loader` (CPU, with PyTorch eager on the
//! same shapes) and on a GPU machine (`--device cuda`):
//!
//! - **in-memory**: one collated clip batch handed to the trainer again and
//!   again (no reading, no JPEG decoding, no augmentation);
//! - **loader**: the `ClipSource` reading a clip table (`ingest.renders` or
//!   `ingest.video` shards), sampling, decoding and augmenting on the
//!   loader's threads with bounded prefetch, as a `train` stage does.
//!
//! ```text
//! bench_video_step --table DIR [--device cpu|cuda] [--size tiny|s] [--classes 20]
//!                  [--batch 8] [--frames 8] [--rate 4] [--crop 64]
//!                  [--steps 5] [--warmup 2] [--threads 0] [--prefetch 2]
//! ```
//!
//! Prints one JSON line per feed, then one with the ratio.

#[path = "shared/steps.rs"]
mod steps;

use std::sync::Arc;

use actionbench_loader::{ClipConfig, ClipSource, Loader, LoaderConfig, LoaderState, Table, TableSpec};
use actionbench_models::{MvitConfig, MvitSize};
use actionbench_train::tasks::{VideoConfig, VideoTask};
use burn::tensor::backend::AutodiffBackend;
use steps::{Options, compare_feeds, on_device};

// The allocator of the `actionbench` binary, whose `train` stage this stands in for.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Error = Box<dyn std::error::Error>;

struct Args {
    table: String,
    device: String,
    size: MvitSize,
    classes: usize,
    batch: usize,
    frames: usize,
    rate: usize,
    crop: usize,
    steps: usize,
    warmup: usize,
    threads: usize,
    prefetch: usize,
}

fn parse_args() -> Result<Args, Error> {
    let o = Options::parse(&[
        "--table",
        "--device",
        "--size",
        "--classes",
        "--batch",
        "--frames",
        "--rate",
        "--crop",
        "--steps",
        "--warmup",
        "--threads",
        "--prefetch",
    ])?;
    let size = match o.get("--size").as_deref().unwrap_or("tiny") {
        "tiny" => MvitSize::Tiny,
        "s" => MvitSize::S,
        other => return Err(format!("--size: `{other}` is not tiny or s").into()),
    };
    Ok(Args {
        table: o
            .get("--table")
            .ok_or("--table DIR (a clip table: ingest.renders or ingest.video shards) is required")?,
        device: o.get("--device").unwrap_or_else(|| "cpu".into()),
        size,
        classes: o.num("--classes", 20)?,
        batch: o.num("--batch", 8)?,
        frames: o.num("--frames", 8)?,
        rate: o.num("--rate", 4)?,
        crop: o.num("--crop", 64)?,
        steps: o.num("--steps", 5)?,
        warmup: o.num("--warmup", 2)?,
        threads: o.num("--threads", 0)?,
        prefetch: o.num("--prefetch", 2)?,
    })
}

fn run<B: AutodiffBackend>(args: &Args, device: &B::Device, name: &str) -> Result<(), Error> {
    let clips = ClipConfig {
        num_frames: args.frames,
        sampling_rate: args.rate,
        crop_size: args.crop,
        jitter_scales: [args.crop, args.crop * 5 / 4],
        augment: true,
        ..Default::default()
    };
    // Only the columns training reads, as the `train` stage opens it.
    let mut spec = TableSpec { dirs: vec![args.table.clone().into()], ..Default::default() };
    spec.columns = clips.columns(&spec.available_columns()?);
    let source = Arc::new(ClipSource::new(Arc::new(Table::open(&spec)?), clips)?);
    let loader_config = LoaderConfig {
        batch_size: args.batch,
        drop_last: true,
        shuffle: true,
        threads: args.threads,
        prefetch: args.prefetch,
    };
    let mut model = MvitConfig::new(args.classes, args.size);
    model.num_frames = args.frames;
    model.crop_size = args.crop;
    model.validate()?;
    let common = format!(
        "\"backend\": \"{name}\", \"model\": \"mvit-{}\", \"batch\": {}, \"frames\": {}, \"crop\": {}, \"steps\": {}",
        if args.size == MvitSize::Tiny { "tiny" } else { "s" },
        args.batch,
        args.frames,
        args.crop,
        args.steps
    );
    compare_feeds(
        || VideoTask::<B>::new(VideoConfig::Mvit(&model), device),
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
