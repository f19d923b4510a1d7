//! `actionbench-ffmpeg`: the `actionbench` command line with FFmpeg linked
//! in, for the commands and stage kinds that decode or encode video.
//! `actionbench` starts it when a command needs it; run it directly if you
//! like, it takes the same arguments.

use std::path::Path;

use actionbench_cli::{Ffmpeg, SynthProgress, SynthRequest};
use actionbench_core::Diagnostic;

// The allocator of `actionbench` (see its main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

static FFMPEG: Ffmpeg = Ffmpeg {
    stages: actionbench_video_stages::registry,
    libav_version: actionbench_video::libav_version,
    probe_video,
    generate,
};

/// mimalloc's `mi_option_purge_delay` (see actionbench's main.rs).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // Freed memory is kept for reuse, as in `actionbench` (see its main.rs).
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets an integer option; called before any other thread runs.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1)
        };
    }
    actionbench_cli::main_with_ffmpeg(&FFMPEG)
}

/// A video's stream as FFmpeg's demuxer and decoder describe it, with the
/// size a player shows.
fn probe_video(path: &Path) -> anyhow::Result<serde_json::Value> {
    let info = actionbench_video::probe(path).map_err(Diagnostic::new)?;
    let (width, height) = info.display_size();
    let mut value = serde_json::to_value(&info)?;
    value["display_width"] = serde_json::json!(width);
    value["display_height"] = serde_json::json!(height);
    Ok(value)
}

/// The generator's progress, forwarded to the command line's bars.
struct Forward<'a>(&'a dyn SynthProgress);

impl actionbench_synth::Progress for Forward<'_> {
    fn start(&self, part: &str, total: u64) {
        self.0.start(part, total);
    }
    fn advance(&self, n: u64) {
        self.0.advance(n);
    }
    fn finish(&self, part: &str) {
        self.0.finish(part);
    }
}

/// `actionbench synth`: generates the requested preset.
fn generate(request: &SynthRequest, progress: &dyn SynthProgress) -> anyhow::Result<serde_json::Value> {
    use actionbench_synth::{Format, Preset, SynthConfig, SynthError};
    let synth_error = |e: SynthError| anyhow::Error::new(Diagnostic::new(e));
    let preset: Preset = request.preset.parse().map_err(synth_error)?;
    let mut config = SynthConfig::new(preset, request.seed)
        .with_class_names(&request.classes)
        .and_then(|c| c.with_render_clips(request.render_clips))
        .map_err(synth_error)?;
    if !request.formats.is_empty() {
        config.formats =
            request.formats.iter().map(|f| Format::parse(f)).collect::<Result<_, _>>().map_err(synth_error)?;
    }
    let summary = actionbench_synth::generate(&config, &request.out, &Forward(progress)).map_err(synth_error)?;
    Ok(serde_json::to_value(&summary)?)
}
