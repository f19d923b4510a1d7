//! Video probe, decode, sampling and encode through FFmpeg (ffmpeg-next against the system libav); the only crate that links libav.
