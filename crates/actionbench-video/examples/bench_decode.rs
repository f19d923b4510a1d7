//! Frame extraction as `ffmpeg -vf fps=F,scale=-2:S out/%06d.jpg` does it, through this crate:
//! `bench_decode OUT_DIR FPS SHORT_SIDE QUALITY THREADS VIDEO…` decodes the videos on
//! THREADS threads (one single-threaded decoder per video) and writes one JPEG file per
//! sampled frame; prints the number of frames written. Used by `scripts/bench video`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use actionbench_video::{ClipFrames, FrameFormat, SampleOptions, decode_clips_with};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 6 {
        eprintln!("usage: bench_decode OUT_DIR FPS SHORT_SIDE QUALITY THREADS VIDEO…");
        std::process::exit(2);
    }
    let out = PathBuf::from(&args[0]);
    let opts = SampleOptions {
        target_fps: Some(args[1].parse().expect("FPS")),
        short_side: Some(args[2].parse().expect("SHORT_SIDE")),
        format: FrameFormat::Jpeg { quality: args[3].parse().expect("QUALITY") },
        ..Default::default()
    };
    let threads: usize = args[4].parse().expect("THREADS");
    let videos = &args[5..];
    let next = AtomicUsize::new(0);
    let frames = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(video) = videos.get(i) else { break };
                    let dir = out.join(i.to_string());
                    std::fs::create_dir_all(&dir).expect("output dir");
                    let mut n = 0u64;
                    decode_clips_with(std::path::Path::new(video), &opts, |clip| {
                        if let ClipFrames::Jpeg(jpegs) = clip.frames {
                            for j in jpegs {
                                n += 1;
                                std::fs::write(dir.join(format!("{n:06}.jpg")), j).expect("write");
                            }
                        }
                        Ok(())
                    })
                    .unwrap_or_else(|e| panic!("{e}"));
                    frames.fetch_add(n, Ordering::Relaxed);
                }
            });
        }
    });
    println!("{}", frames.load(Ordering::Relaxed));
}
