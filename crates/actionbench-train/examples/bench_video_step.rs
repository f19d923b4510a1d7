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
use steps::{InMemory, time_steps};

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.len().is_multiple_of(2) {
        return Err("arguments come in `--name value` pairs".into());
    }
    const KNOWN: [&str; 12] = [
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
    ];
    for pair in args.chunks(2) {
        if !KNOWN.contains(&pair[0].as_str()) {
            return Err(format!("unknown option `{}` (options: {})", pair[0], KNOWN.join(", ")).into());
        }
    }
    let get = |name: &str| args.chunks(2).find(|w| w[0] == name).map(|w| w[1].clone());
    let num = |name: &str, default: usize| -> Result<usize, Error> {
        get(name).map_or(Ok(default), |v| v.parse().map_err(|_| format!("{name}: `{v}` is not a number").into()))
    };
    let size = match get("--size").as_deref().unwrap_or("tiny") {
        "tiny" => MvitSize::Tiny,
        "s" => MvitSize::S,
        other => return Err(format!("--size: `{other}` is not tiny or s").into()),
    };
    Ok(Args {
        table: get("--table").ok_or("--table DIR (a clip table: ingest.renders or ingest.video shards) is required")?,
        device: get("--device").unwrap_or_else(|| "cpu".into()),
        size,
        classes: num("--classes", 20)?,
        batch: num("--batch", 8)?,
        frames: num("--frames", 8)?,
        rate: num("--rate", 4)?,
        crop: num("--crop", 64)?,
        steps: num("--steps", 5)?,
        warmup: num("--warmup", 2)?,
        threads: num("--threads", 0)?,
        prefetch: num("--prefetch", 2)?,
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
    let first = Loader::new(source.clone(), &loader_config, LoaderState::new(0, 0))?
        .next()
        .ok_or("the loader yields no batch: the table has fewer clips than --batch")??;
    let task = || VideoTask::<B>::new(VideoConfig::Mvit(&model), device);
    let mut memory = InMemory::new(first, args.warmup + args.steps);
    let (mem_median, mem_mean) = time_steps(task(), args.warmup, args.steps, &mut memory, device)?;
    let mut loader = Loader::new(source, &loader_config, LoaderState::new(0, 0))?;
    let (load_median, load_mean) = time_steps(task(), args.warmup, args.steps, &mut loader, device)?;
    let common = format!(
        "\"backend\": \"{name}\", \"model\": \"mvit-{}\", \"batch\": {}, \"frames\": {}, \"crop\": {}, \"steps\": {}",
        if args.size == MvitSize::Tiny { "tiny" } else { "s" },
        args.batch,
        args.frames,
        args.crop,
        args.steps
    );
    println!("{{\"feed\": \"in-memory\", {common}, \"median_ms\": {mem_median:.3}, \"mean_ms\": {mem_mean:.3}}}");
    println!("{{\"feed\": \"loader\", {common}, \"median_ms\": {load_median:.3}, \"mean_ms\": {load_mean:.3}}}");
    println!("{{\"loader_over_in_memory\": {:.4}}}", load_median / mem_median);
    Ok(())
}

fn main() -> Result<(), Error> {
    let args = parse_args()?;
    match args.device.as_str() {
        "cpu" => run::<burn::backend::Autodiff<burn::backend::NdArray>>(&args, &Default::default(), "burn ndarray cpu"),
        #[cfg(feature = "cuda")]
        "cuda" => run::<burn::backend::Autodiff<burn_cuda::Cuda>>(&args, &Default::default(), "burn cuda f32"),
        other => Err(format!("--device `{other}`: cpu, or cuda in a build with `--features cuda`").into()),
    }
}
