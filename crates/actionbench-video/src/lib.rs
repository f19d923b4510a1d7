//! Video probe, decode, sampling and encode through FFmpeg (ffmpeg-next against the system libav); the only crate that links libav.

mod decode;
mod encode;
mod error;
mod probe;

use std::sync::OnceLock;

pub use decode::{
    Clip, ClipFrames, Crop, DecodeSummary, FrameFormat, SampleOptions, decode_clips, decode_clips_with, decode_jpeg,
    encode_jpeg,
};
pub use encode::{Mp4Writer, mp4_encoder_name};
pub use error::VideoError;

/// `Result` with this crate's error.
pub type Result<T, E = VideoError> = std::result::Result<T, E>;
pub use probe::{VideoInfo, probe};

use ffmpeg_next as ffmpeg;

/// Initialises libav once per process and silences its logging (errors come back as [`VideoError`]s).
fn init() -> Result<(), ffmpeg::Error> {
    static INIT: OnceLock<Result<(), ffmpeg::Error>> = OnceLock::new();
    *INIT.get_or_init(|| {
        let r = ffmpeg::init();
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Quiet);
        r
    })
}

/// The libav versions this build links, e.g. `libavcodec 59.37.100, libavformat 59.27.100, …`:
/// part of every video stage's key, since a different decoder can give different pixels.
pub fn libav_version() -> String {
    let v = |n: u32| format!("{}.{}.{}", n >> 16, (n >> 8) & 0xff, n & 0xff);
    format!(
        "libavcodec {}, libavformat {}, libavutil {}, libswscale {}",
        v(ffmpeg::codec::version()),
        v(ffmpeg::format::version()),
        v(ffmpeg::util::version()),
        v(ffmpeg::software::scaling::version()),
    )
}
