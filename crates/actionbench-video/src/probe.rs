//! What a video is: codec, size, frame rate, duration, frame count, whether
//! the frame rate is variable, and the display rotation.

use std::path::Path;

use ffmpeg::{Packet, Rational, codec, format, media};
use ffmpeg_next as ffmpeg;
use serde::Serialize;

use crate::{VideoError, init};

/// The video stream of a file, as the demuxer and the container index describe it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoInfo {
    /// Container format(s), e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    pub container: String,
    /// Codec name, e.g. `h264`, `mpeg4`, `vp9`.
    pub codec: String,
    /// Pixel format the decoder outputs, e.g. `yuv420p`.
    pub pixel_format: String,
    /// Coded width in pixels (before rotation).
    pub width: u32,
    /// Coded height in pixels (before rotation).
    pub height: u32,
    /// Average frame rate (frames per second).
    pub fps: f64,
    /// Stream time base as (numerator, denominator).
    pub time_base: (i32, i32),
    /// Duration in seconds (from the last packet's end, else the container).
    pub duration_s: f64,
    /// Video packets in the file (one per frame for the codecs we read).
    pub num_packets: u64,
    /// Frames the container index promises (0 when it does not say).
    pub indexed_frames: u64,
    /// True when packet durations differ by more than 1 % (variable frame rate).
    pub variable_frame_rate: bool,
    /// Clockwise rotation in degrees (0, 90, 180, 270) a player applies for display.
    pub rotation: u32,
}

impl VideoInfo {
    /// Width and height after applying [`VideoInfo::rotation`].
    pub fn display_size(&self) -> (u32, u32) {
        if self.rotation % 180 == 90 { (self.height, self.width) } else { (self.width, self.height) }
    }
}

/// Opens `path` and finds its best video stream.
pub(crate) fn open_input(path: &Path) -> Result<(format::context::Input, usize), VideoError> {
    init().map_err(|e| VideoError::file(path, format!("initialising libav: {e}")))?;
    if let Err(e) = std::fs::metadata(path) {
        return Err(VideoError::Io { path: path.to_path_buf(), source: e });
    }
    let ictx = format::input(path).map_err(|e| VideoError::File {
        path: path.to_path_buf(),
        message: format!("libav cannot open it as a video: {e}"),
        hint: Some("the file is not a video, or its header/index is missing (truncated download?)".into()),
    })?;
    let index = ictx.streams().best(media::Type::Video).map(|s| s.index()).ok_or_else(|| VideoError::File {
        path: path.to_path_buf(),
        message: "no video stream".into(),
        hint: Some("the file holds only audio or data streams".into()),
    })?;
    Ok((ictx, index))
}

/// The static part of [`VideoInfo`] (everything the headers say).
pub(crate) fn header_info(
    path: &Path,
    ictx: &format::context::Input,
    index: usize,
) -> Result<(VideoInfo, codec::Parameters), VideoError> {
    let stream = ictx.stream(index).ok_or_else(|| VideoError::file(path, "video stream vanished"))?;
    let params = stream.parameters();
    let ctx = codec::context::Context::from_parameters(params.clone())
        .map_err(|e| VideoError::file(path, format!("reading codec parameters: {e}")))?;
    let dec = ctx.decoder().video().map_err(|e| VideoError::file(path, format!("not a video stream: {e}")))?;
    let tb = stream.time_base();
    let rate = stream.avg_frame_rate();
    let fps = if rate.denominator() != 0 && rate.numerator() > 0 { f64::from(rate) } else { f64::from(stream.rate()) };
    let duration_s = if stream.duration() > 0 {
        stream.duration() as f64 * f64::from(tb)
    } else if ictx.duration() > 0 {
        ictx.duration() as f64 / ffmpeg::ffi::AV_TIME_BASE as f64
    } else {
        0.0
    };
    let info = VideoInfo {
        container: ictx.format().name().to_string(),
        codec: params.id().name().to_string(),
        pixel_format: format!("{:?}", dec.format()).to_lowercase(),
        width: dec.width(),
        height: dec.height(),
        fps,
        time_base: (tb.numerator(), tb.denominator()),
        duration_s,
        num_packets: 0,
        indexed_frames: stream.frames().max(0) as u64,
        variable_frame_rate: false,
        rotation: rotation_of(&stream),
    };
    Ok((info, params))
}

/// Clockwise display rotation from the stream's display matrix (as FFmpeg's
/// CLI autorotate reads it), else from the legacy `rotate` tag.
fn rotation_of(stream: &format::stream::Stream<'_>) -> u32 {
    for side in stream.side_data() {
        if side.kind() == codec::packet::side_data::Type::DisplayMatrix && side.data().len() >= 36 {
            let m: Vec<f64> = side
                .data()
                .chunks_exact(4)
                .take(9)
                .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as f64)
                .collect();
            let (s0, s1) = (m[0].hypot(m[3]), m[1].hypot(m[4]));
            if s0 == 0.0 || s1 == 0.0 {
                return 0;
            }
            // av_display_rotation_get() is the counter-clockwise angle; the CLI negates it.
            let cw = (m[1] / s1).atan2(m[0] / s0).to_degrees();
            return (((cw / 90.0).round() as i64).rem_euclid(4) * 90) as u32;
        }
    }
    stream
        .metadata()
        .get("rotate")
        .and_then(|r| r.trim().parse::<i64>().ok())
        .map(|r| ((r as f64 / 90.0).round() as i64).rem_euclid(4) as u32 * 90)
        .unwrap_or(0)
}

/// Packet timing gathered while demuxing, turned into the dynamic part of [`VideoInfo`].
#[derive(Default)]
pub(crate) struct PacketStats {
    pts: Vec<i64>,
    end: Option<i64>,
    pub(crate) packets: u64,
}

impl PacketStats {
    pub(crate) fn add(&mut self, packet: &Packet) {
        self.packets += 1;
        if let Some(p) = packet.pts() {
            self.pts.push(p);
            let end = p + packet.duration().max(0);
            self.end = Some(self.end.map_or(end, |e: i64| e.max(end)));
        }
    }

    pub(crate) fn finish(mut self, info: &mut VideoInfo) {
        info.num_packets = self.packets;
        self.pts.sort_unstable();
        self.pts.dedup();
        let deltas: Vec<i64> = self.pts.windows(2).map(|w| w[1] - w[0]).collect();
        if let (Some(min), Some(max)) = (deltas.iter().min(), deltas.iter().max()) {
            info.variable_frame_rate = (max - min) as f64 > 1.0f64.max(0.01 * *min as f64);
        }
        let tb = Rational::new(info.time_base.0, info.time_base.1);
        if let (Some(first), Some(end)) = (self.pts.first(), self.end) {
            let d = (end - first) as f64 * f64::from(tb);
            if d > 0.0 {
                info.duration_s = d;
            }
        }
    }
}

/// Reads the headers and every video packet (no decoding) of `path`.
pub fn probe(path: &Path) -> Result<VideoInfo, VideoError> {
    let (mut ictx, index) = open_input(path)?;
    let (mut info, _) = header_info(path, &ictx, index)?;
    let mut stats = PacketStats::default();
    let mut packet = Packet::empty();
    loop {
        match packet.read(&mut ictx) {
            Ok(()) => {
                if packet.stream() == index {
                    check_packet(path, &packet, stats.packets)?;
                    stats.add(&packet);
                }
            }
            Err(ffmpeg::Error::Eof) => break,
            Err(e) => return Err(VideoError::packet(path, stats.packets, format!("demuxing: {e}"))),
        }
    }
    check_complete(path, &info, stats.packets)?;
    stats.finish(&mut info);
    Ok(info)
}

/// A packet the demuxer flagged as cut short (truncated file) is an error.
pub(crate) fn check_packet(path: &Path, packet: &Packet, index: u64) -> Result<(), VideoError> {
    if packet.is_corrupt() {
        return Err(VideoError::packet(path, index, "the demuxer marked this packet corrupt (cut short?)"));
    }
    Ok(())
}

/// Fewer packets than the container index promises means the file is truncated.
pub(crate) fn check_complete(path: &Path, info: &VideoInfo, packets: u64) -> Result<(), VideoError> {
    if info.indexed_frames > 0 && packets < info.indexed_frames {
        return Err(VideoError::packet(
            path,
            packets,
            format!("the file ends after {packets} of the {} packets its index lists (truncated)", info.indexed_frames),
        ));
    }
    Ok(())
}
