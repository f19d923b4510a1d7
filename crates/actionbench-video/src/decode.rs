//! Decoding with deterministic frame sampling: frames are chosen by their
//! presentation timestamps (never by decode timing), resized, rotated,
//! cropped, and stored as JPEG or raw RGB, grouped into clips.

use std::collections::VecDeque;
use std::path::Path;

use ffmpeg::{Packet, codec, format, frame, software::scaling};
use ffmpeg_next as ffmpeg;
use serde::{Deserialize, Serialize};

use crate::probe::{PacketStats, check_complete, check_packet, header_info, open_input};
use crate::{VideoError, VideoInfo};

/// How each output frame is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FrameFormat {
    /// Baseline JPEG at this quality (1–100), 4:2:0.
    Jpeg {
        /// 1–100.
        quality: u8,
    },
    /// Raw RGB24, `T×H×W×3` bytes per clip.
    Raw,
}

/// What to cut out of each (resized) frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Crop {
    /// Keep the whole frame.
    None,
    /// The centred square of side `min(H, W)`.
    CenterSquare,
}

/// How frames are sampled and stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleOptions {
    /// Resample to this many frames per second (by pts); every frame when `None`.
    pub target_fps: Option<f64>,
    /// Frames per clip; the whole video is one clip when `None`.
    pub clip_len: Option<usize>,
    /// Sampled frames between clip starts (default: `clip_len`, i.e. no overlap).
    pub clip_stride: Option<usize>,
    /// Resize so the shorter side has this many pixels (aspect kept).
    pub short_side: Option<u32>,
    /// Crop after resizing.
    pub crop: Crop,
    /// JPEG or raw.
    pub format: FrameFormat,
    /// Decoder threads per video (1 = single-threaded; output does not depend on it).
    pub decoder_threads: usize,
}

impl Default for SampleOptions {
    fn default() -> Self {
        Self {
            target_fps: None,
            clip_len: None,
            clip_stride: None,
            short_side: None,
            crop: Crop::None,
            format: FrameFormat::Jpeg { quality: 90 },
            decoder_threads: 1,
        }
    }
}

/// The frames of one clip.
#[derive(Debug, Clone, PartialEq)]
pub enum ClipFrames {
    /// One JPEG file per frame.
    Jpeg(Vec<Vec<u8>>),
    /// `T×H×W×3` RGB bytes.
    Raw(Vec<u8>),
}

impl ClipFrames {
    /// Frames in the clip.
    pub fn len(&self, height: u32, width: u32) -> usize {
        match self {
            Self::Jpeg(v) => v.len(),
            Self::Raw(b) => b.len() / (height as usize * width as usize * 3).max(1),
        }
    }
}

/// One clip of sampled frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// 0-based clip number within the video.
    pub index: usize,
    /// Decoded-frame index (presentation order, 0-based) of the first and last frame.
    pub start_frame: u64,
    /// See `start_frame` (inclusive).
    pub end_frame: u64,
    /// pts (stream time base) of the first and last frame.
    pub start_pts: i64,
    /// See `start_pts`.
    pub end_pts: i64,
    /// Seconds from the first frame of the video to the first and last frame of the clip.
    pub start_s: f64,
    /// See `start_s`.
    pub end_s: f64,
    /// Source frame index of every frame in the clip.
    pub frame_indices: Vec<u64>,
    /// Output frame size.
    pub width: u32,
    /// Output frame size.
    pub height: u32,
    /// The pixels.
    pub frames: ClipFrames,
}

/// What [`decode_clips`] found besides the clips.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecodeSummary {
    /// Header and packet facts.
    pub info: VideoInfo,
    /// Frames the decoder produced.
    pub decoded_frames: u64,
    /// Frames chosen by the sampler.
    pub sampled_frames: u64,
}

struct Sampled {
    seq: usize,
    src: u64,
    pts: i64,
    data: Vec<u8>,
}

/// Decodes `path` and hands each clip to `on_clip` as soon as it is complete
/// (memory holds at most one clip's frames plus the overlap with the next).
pub fn decode_clips_with(
    path: &Path,
    opts: &SampleOptions,
    mut on_clip: impl FnMut(Clip) -> Result<(), VideoError>,
) -> Result<DecodeSummary, VideoError> {
    validate(path, opts)?;
    let (mut ictx, index) = open_input(path)?;
    let (mut info, params) = header_info(path, &ictx, index)?;
    let mut ctx = codec::context::Context::from_parameters(params)
        .map_err(|e| VideoError::file(path, format!("reading codec parameters: {e}")))?;
    ctx.set_threading(codec::threading::Config {
        kind: codec::threading::Type::Frame,
        count: opts.decoder_threads.max(1),
        ..Default::default()
    });
    let mut decoder = ctx.decoder().video().map_err(|e| VideoError::File {
        path: path.to_path_buf(),
        message: format!("no decoder for codec `{}` in this libav build: {e}", info.codec),
        hint: Some("install a libavcodec with this codec".into()),
    })?;
    let tb = (info.time_base.0 as i128, info.time_base.1 as i128);
    let fps_rational = opts.target_fps.map(|f| ((f * 1000.0).round() as i128, 1000i128));
    let fallback_step =
        if info.fps > 0.0 && tb.0 > 0 { (tb.1 as f64 / (tb.0 as f64 * info.fps)).round() as i64 } else { 1 };

    let mut st = State {
        path,
        opts,
        rotation: info.rotation,
        scaler: None,
        rgb: frame::Video::empty(),
        buffer: VecDeque::new(),
        next_clip: 0,
        next_slot: 0,
        seq: 0,
        first_pts: None,
        last_pts: None,
        decoded: 0,
        out_size: (0, 0),
        emitted: 0,
        tb_s: tb.0 as f64 / tb.1.max(1) as f64,
    };
    let mut stats = PacketStats::default();
    let mut packet = Packet::empty();
    let mut decoded = frame::Video::empty();
    let mut receive = |decoder: &mut ffmpeg::decoder::Video,
                       st: &mut State<'_>,
                       packet_no: u64,
                       on_clip: &mut dyn FnMut(Clip) -> Result<(), VideoError>|
     -> Result<(), VideoError> {
        loop {
            match decoder.receive_frame(&mut decoded) {
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => return Ok(()),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::error::EAGAIN => return Ok(()),
                Err(e) => {
                    return Err(VideoError::frame(
                        path,
                        st.decoded,
                        format!("decoding (near packet {packet_no}): {e}"),
                    ));
                }
            }
            if decoded.is_corrupt() {
                return Err(VideoError::frame(path, st.decoded, "the decoder marked this frame corrupt"));
            }
            let src = st.decoded;
            st.decoded += 1;
            let pts = decoded.timestamp().or_else(|| st.last_pts.map(|p| p + fallback_step)).unwrap_or(0);
            let pts = st.last_pts.map_or(pts, |l| pts.max(l));
            st.last_pts = Some(pts);
            let first = *st.first_pts.get_or_insert(pts);
            // How many output slots this frame fills: every slot k not yet filled with time(k) <= time(frame).
            let fill = match fps_rational {
                None => 1,
                Some((fnum, fden)) => {
                    // slot k time = k * fden / fnum s; frame time = (pts-first) * tb.0 / tb.1 s.
                    // k <= (pts-first) * tb.0 * fnum / (tb.1 * fden)
                    let last_k = ((pts - first) as i128 * tb.0 * fnum).div_euclid(tb.1 * fden);
                    (last_k + 1 - st.next_slot as i128).max(0) as usize
                }
            };
            for _ in 0..fill {
                st.take(&decoded, src, pts, on_clip)?;
            }
        }
    };
    loop {
        match packet.read(&mut ictx) {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            Err(e) => return Err(VideoError::packet(path, stats.packets, format!("demuxing: {e}"))),
        }
        if packet.stream() != index {
            continue;
        }
        let packet_no = stats.packets;
        check_packet(path, &packet, packet_no)?;
        stats.add(&packet);
        decoder.send_packet(&packet).map_err(|e| VideoError::packet(path, packet_no, format!("decoding: {e}")))?;
        receive(&mut decoder, &mut st, packet_no, &mut on_clip)?;
    }
    check_complete(path, &info, stats.packets)?;
    let packets = stats.packets;
    decoder.send_eof().map_err(|e| VideoError::packet(path, packets, format!("flushing the decoder: {e}")))?;
    receive(&mut decoder, &mut st, packets, &mut on_clip)?;
    st.finish(&mut on_clip)?;
    stats.finish(&mut info);
    if st.decoded == 0 {
        return Err(VideoError::File {
            path: path.to_path_buf(),
            message: format!("no frame could be decoded from {packets} video packets"),
            hint: Some("the file is truncated or corrupt".into()),
        });
    }
    Ok(DecodeSummary { info, decoded_frames: st.decoded, sampled_frames: st.seq as u64 })
}

/// [`decode_clips_with`] collecting all clips.
pub fn decode_clips(path: &Path, opts: &SampleOptions) -> Result<(DecodeSummary, Vec<Clip>), VideoError> {
    let mut clips = Vec::new();
    let summary = decode_clips_with(path, opts, |c| {
        clips.push(c);
        Ok(())
    })?;
    Ok((summary, clips))
}

fn validate(path: &Path, o: &SampleOptions) -> Result<(), VideoError> {
    if let Some(f) = o.target_fps
        && !(f.is_finite() && (0.001..=1000.0).contains(&f))
    {
        return Err(VideoError::invalid(path, format!("target fps {f} is not in 0.001..=1000")));
    }
    if o.clip_len == Some(0) || o.clip_stride == Some(0) {
        return Err(VideoError::invalid(path, "clip length and stride must be at least 1"));
    }
    if o.short_side == Some(0) {
        return Err(VideoError::invalid(path, "short side must be at least 1"));
    }
    if let FrameFormat::Jpeg { quality } = o.format
        && !(1..=100).contains(&quality)
    {
        return Err(VideoError::invalid(path, format!("JPEG quality {quality} is not in 1..=100")));
    }
    Ok(())
}

struct State<'a> {
    path: &'a Path,
    opts: &'a SampleOptions,
    rotation: u32,
    scaler: Option<(scaling::Context, (u32, u32, format::Pixel))>,
    rgb: frame::Video,
    buffer: VecDeque<Sampled>,
    next_clip: usize,
    next_slot: usize,
    seq: usize,
    first_pts: Option<i64>,
    last_pts: Option<i64>,
    decoded: u64,
    out_size: (u32, u32),
    emitted: usize,
    tb_s: f64,
}

impl State<'_> {
    fn stride(&self) -> usize {
        self.opts.clip_stride.or(self.opts.clip_len).unwrap_or(usize::MAX)
    }

    /// Whether sampled frame `seq` belongs to any clip (frames in gaps between strided clips are skipped unconverted).
    fn needed(&self, seq: usize) -> bool {
        match self.opts.clip_len {
            None => true,
            Some(len) => seq % self.stride() < len,
        }
    }

    /// One output slot filled by `frame`.
    fn take(
        &mut self,
        frame: &frame::Video,
        src: u64,
        pts: i64,
        on_clip: &mut dyn FnMut(Clip) -> Result<(), VideoError>,
    ) -> Result<(), VideoError> {
        let seq = self.seq;
        self.seq += 1;
        self.next_slot += 1;
        if !self.needed(seq) {
            return Ok(());
        }
        // A frame filling several slots (upsampling) is converted again; rare, and keeps this simple.
        let data = self.convert(frame, src)?;
        self.buffer.push_back(Sampled { seq, src, pts, data });
        if let Some(len) = self.opts.clip_len {
            let start = self.next_clip * self.stride();
            if seq + 1 == start + len {
                self.emit(start, len, on_clip)?;
                self.next_clip += 1;
                let next_start = self.next_clip * self.stride();
                while self.buffer.front().is_some_and(|s| s.seq < next_start) {
                    self.buffer.pop_front();
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, on_clip: &mut dyn FnMut(Clip) -> Result<(), VideoError>) -> Result<(), VideoError> {
        // The whole video as one clip, or a video shorter than one clip as one short clip.
        if self.emitted == 0 && !self.buffer.is_empty() {
            let start = self.buffer.front().map_or(0, |s| s.seq);
            let len = self.buffer.len();
            self.emit(start, len, on_clip)?;
        }
        Ok(())
    }

    fn emit(
        &mut self,
        start: usize,
        len: usize,
        on_clip: &mut dyn FnMut(Clip) -> Result<(), VideoError>,
    ) -> Result<(), VideoError> {
        let items: Vec<&Sampled> = self.buffer.iter().filter(|s| s.seq >= start && s.seq < start + len).collect();
        let (Some(first), Some(last)) = (items.first(), items.last()) else { return Ok(()) };
        let first_pts = self.first_pts.unwrap_or(0);
        let (w, h) = self.out_size;
        let frames = match self.opts.format {
            FrameFormat::Jpeg { .. } => ClipFrames::Jpeg(items.iter().map(|s| s.data.clone()).collect()),
            FrameFormat::Raw => ClipFrames::Raw(items.iter().flat_map(|s| s.data.iter().copied()).collect()),
        };
        let secs = |pts: i64| -> f64 { (pts - first_pts) as f64 * self.time_base_s() };
        let clip = Clip {
            index: self.emitted,
            start_frame: first.src,
            end_frame: last.src,
            start_pts: first.pts,
            end_pts: last.pts,
            start_s: secs(first.pts),
            end_s: secs(last.pts),
            frame_indices: items.iter().map(|s| s.src).collect(),
            width: w,
            height: h,
            frames,
        };
        self.emitted += 1;
        on_clip(clip)
    }

    fn time_base_s(&self) -> f64 {
        self.tb_s
    }

    /// Scales to RGB24 at the output size, rotates for display, crops, and encodes one frame.
    fn convert(&mut self, frame: &frame::Video, src: u64) -> Result<Vec<u8>, VideoError> {
        let (w, h, fmt) = (frame.width(), frame.height(), frame.format());
        let rotated = self.rotation % 180 == 90;
        let (dw, dh) = if rotated { (h, w) } else { (w, h) };
        let (ndw, ndh) = match self.opts.short_side {
            None => (dw, dh),
            Some(s) if dw <= dh => (s, ((dh as u64 * s as u64 + dw as u64 / 2) / dw.max(1) as u64).max(1) as u32),
            Some(s) => (((dw as u64 * s as u64 + dh as u64 / 2) / dh.max(1) as u64).max(1) as u32, s),
        };
        let (sw, sh) = if rotated { (ndh, ndw) } else { (ndw, ndh) };
        if self.scaler.as_ref().is_none_or(|(_, key)| *key != (w, h, fmt)) {
            let ctx = scaling::Context::get(fmt, w, h, format::Pixel::RGB24, sw, sh, scaling::Flags::BICUBIC).map_err(
                |e| VideoError::frame(self.path, src, format!("creating the {w}x{h} {fmt:?} → RGB scaler: {e}")),
            )?;
            self.scaler = Some((ctx, (w, h, fmt)));
            self.rgb = frame::Video::empty();
        }
        if let Some((scaler, _)) = self.scaler.as_mut() {
            scaler
                .run(frame, &mut self.rgb)
                .map_err(|e| VideoError::frame(self.path, src, format!("converting to RGB: {e}")))?;
        }
        let (cw, ch, x0, y0) = match self.opts.crop {
            Crop::None => (ndw, ndh, 0, 0),
            Crop::CenterSquare => {
                let side = ndw.min(ndh);
                (side, side, (ndw - side) / 2, (ndh - side) / 2)
            }
        };
        let stride = self.rgb.stride(0);
        let plane = self.rgb.data(0);
        let mut out = vec![0u8; cw as usize * ch as usize * 3];
        let (sw, sh) = (sw as usize, sh as usize);
        for y in 0..ch as usize {
            let row = &mut out[y * cw as usize * 3..(y + 1) * cw as usize * 3];
            let yy = y + y0 as usize;
            if self.rotation == 0 {
                let at = yy * stride + x0 as usize * 3;
                row.copy_from_slice(&plane[at..at + cw as usize * 3]);
                continue;
            }
            for (x, px) in row.chunks_exact_mut(3).enumerate() {
                let xx = x + x0 as usize;
                let (cx, cy) = match self.rotation {
                    90 => (yy, sh - 1 - xx),
                    180 => (sw - 1 - xx, sh - 1 - yy),
                    _ => (sw - 1 - yy, xx),
                };
                let at = cy * stride + cx * 3;
                px.copy_from_slice(&plane[at..at + 3]);
            }
        }
        self.out_size = (cw, ch);
        match self.opts.format {
            FrameFormat::Raw => Ok(out),
            FrameFormat::Jpeg { quality } => encode_jpeg(&out, cw, ch, quality)
                .map_err(|m| VideoError::frame(self.path, src, format!("JPEG encoding: {m}"))),
        }
    }
}

/// Baseline 4:2:0 JPEG of an RGB24 image (jpeg-encoder, deterministic).
pub fn encode_jpeg(rgb: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>, String> {
    let (w, h) = (
        u16::try_from(width).map_err(|_| "width over 65535")?,
        u16::try_from(height).map_err(|_| "height over 65535")?,
    );
    let mut out = Vec::with_capacity(rgb.len() / 8);
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    enc.encode(rgb, w, h, jpeg_encoder::ColorType::Rgb).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Decodes a JPEG to RGB24 (zune-jpeg); returns (pixels, width, height).
pub fn decode_jpeg(bytes: &[u8]) -> Result<(Vec<u8>, u32, u32), String> {
    use zune_jpeg::zune_core::{colorspace::ColorSpace, options::DecoderOptions};
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(
        zune_jpeg::zune_core::bytestream::ZCursor::new(bytes),
        DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB),
    );
    let pixels = dec.decode().map_err(|e| e.to_string())?;
    let (w, h) = dec.dimensions().ok_or("no dimensions")?;
    Ok((pixels, w as u32, h as u32))
}
