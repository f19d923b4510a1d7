//! The stage kinds that decode or encode video: `ingest.video` (clips to
//! JPEG frames), `ingest.renders` (synthetic clips with their per-frame
//! scene labels) and `synth` (the procedural generator, which encodes its
//! rendered clips).
//!
//! They live apart from `actionbench-stages` so that FFmpeg is reached only
//! through this crate: `actionbench` does not depend on it (and so starts
//! without loading libav's 130 shared libraries), `actionbench-ffmpeg`
//! does. The CLI's dependency test keeps it that way.

mod frames;
mod ingest_renders;
mod ingest_video;
mod synth;

pub use ingest_renders::{IngestRenders, IngestRendersParams, RendersFormat};
pub use ingest_video::{IngestVideo, IngestVideoParams, VideoFormat};
pub use synth::{Synth, SynthParams};

/// Every built-in stage kind: those of `actionbench-stages` and the three
/// video kinds.
pub fn registry() -> actionbench_pipeline::Registry {
    let mut registry = actionbench_stages::registry();
    registry.register(actionbench_stages::sample_format::Ingest(VideoFormat));
    registry.register(actionbench_stages::sample_format::Ingest(RendersFormat));
    registry.register(Synth);
    registry
}

/// The tool version every video kind's key depends on: FFmpeg's libraries.
fn libav_versions() -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::from([("libav".to_string(), actionbench_video::libav_version())])
}
