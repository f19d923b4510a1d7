//! Writes RGB frames to an H.264 (libx264) or MPEG-4 Part 2 mp4, deterministically:
//! single-threaded encoder, bitexact codec/muxer/scaler flags, so the same frames
//! give byte-identical files (the synthetic generator depends on that).

use std::path::{Path, PathBuf};

use ffmpeg::{Dictionary, Packet, Rational, codec, encoder, format, frame, software::scaling};
use ffmpeg_next as ffmpeg;

use crate::{VideoError, init};

/// An mp4 being written frame by frame; call [`Mp4Writer::finish`] to close it.
pub struct Mp4Writer {
    path: PathBuf,
    octx: format::context::Output,
    encoder: encoder::Video,
    scaler: scaling::Context,
    rgb: frame::Video,
    yuv: frame::Video,
    width: u32,
    height: u32,
    encoder_time_base: Rational,
    frames: u64,
}

/// The encoder [`Mp4Writer`] uses in this libav build: `libx264` when the build has it, else `mpeg4`.
pub fn mp4_encoder_name() -> &'static str {
    if init().is_ok() && encoder::find_by_name("libx264").is_some() { "libx264" } else { "mpeg4" }
}

impl Mp4Writer {
    /// Opens `path` for a `width`×`height` video at `fps` frames per second (yuv420p, so both sizes must be even).
    pub fn create(path: &Path, width: u32, height: u32, fps: u32) -> Result<Mp4Writer, VideoError> {
        init().map_err(|e| VideoError::file(path, format!("initialising libav: {e}")))?;
        if width == 0 || height == 0 || !width.is_multiple_of(2) || !height.is_multiple_of(2) {
            return Err(VideoError::invalid(
                path,
                format!("frame size {width}x{height}: yuv420p needs a positive, even width and height"),
            ));
        }
        if fps == 0 || fps > 1000 {
            return Err(VideoError::invalid(path, format!("fps {fps} is not in 1..=1000")));
        }
        let file_err = |what: &str, e: ffmpeg::Error| VideoError::file(path, format!("{what}: {e}"));
        let mut octx = format::output_as(path, "mp4").map_err(|e| file_err("creating the mp4", e))?;
        let global_header = octx.format().flags().contains(format::Flags::GLOBAL_HEADER);

        let (codec, options) = match encoder::find_by_name("libx264") {
            Some(c) => {
                let mut o = Dictionary::new();
                o.set("threads", "1");
                o.set("preset", "fast");
                o.set("crf", "18");
                (c, o)
            }
            None => {
                let c = encoder::find(codec::Id::MPEG4)
                    .ok_or_else(|| VideoError::file(path, "this libav build has neither libx264 nor mpeg4"))?;
                let mut o = Dictionary::new();
                o.set("threads", "1");
                o.set("qscale", "3");
                (c, o)
            }
        };
        let time_base = Rational::new(1, fps as i32);
        let mut ctx = codec::context::Context::new_with_codec(codec);
        ctx.set_threading(codec::threading::Config::count(1));
        let mut enc = ctx.encoder().video().map_err(|e| file_err("creating the encoder", e))?;
        enc.set_width(width);
        enc.set_height(height);
        enc.set_format(format::Pixel::YUV420P);
        enc.set_time_base(time_base);
        enc.set_frame_rate(Some(Rational::new(fps as i32, 1)));
        let mut flags = codec::Flags::BITEXACT;
        if global_header {
            flags |= codec::Flags::GLOBAL_HEADER;
        }
        enc.set_flags(flags);
        let encoder = enc.open_as_with(codec, options).map_err(|e| file_err("opening the encoder", e))?;

        let mut ost = octx.add_stream(codec).map_err(|e| file_err("adding the video stream", e))?;
        ost.set_parameters(&encoder);
        ost.set_time_base(time_base);
        ost.set_avg_frame_rate(Rational::new(fps as i32, 1));
        let mut mux_opts = Dictionary::new();
        mux_opts.set("fflags", "+bitexact");
        octx.write_header_with(mux_opts).map_err(|e| file_err("writing the mp4 header", e))?;

        let scaler = scaling::Context::get(
            format::Pixel::RGB24,
            width,
            height,
            format::Pixel::YUV420P,
            width,
            height,
            scaling::Flags::BICUBIC | scaling::Flags::BITEXACT | scaling::Flags::ACCURATE_RND,
        )
        .map_err(|e| file_err("creating the RGB→YUV converter", e))?;
        Ok(Mp4Writer {
            path: path.to_path_buf(),
            octx,
            encoder,
            scaler,
            rgb: frame::Video::new(format::Pixel::RGB24, width, height),
            yuv: frame::Video::new(format::Pixel::YUV420P, width, height),
            width,
            height,
            encoder_time_base: time_base,
            frames: 0,
        })
    }

    /// Appends one frame: `width*height*3` bytes of RGB24, row-major, no padding.
    pub fn push_rgb(&mut self, rgb24: &[u8]) -> Result<(), VideoError> {
        let row = self.width as usize * 3;
        let expected = row * self.height as usize;
        if rgb24.len() != expected {
            return Err(VideoError::frame(
                &self.path,
                self.frames,
                format!("got {} bytes, expected {expected} ({}x{}x3)", rgb24.len(), self.width, self.height),
            ));
        }
        let stride = self.rgb.stride(0);
        let data = self.rgb.data_mut(0);
        for (y, src) in rgb24.chunks_exact(row).enumerate() {
            data[y * stride..y * stride + row].copy_from_slice(src);
        }
        let frame_no = self.frames;
        self.scaler
            .run(&self.rgb, &mut self.yuv)
            .map_err(|e| VideoError::frame(&self.path, frame_no, format!("RGB→YUV conversion: {e}")))?;
        self.yuv.set_pts(Some(frame_no as i64));
        self.encoder
            .send_frame(&self.yuv)
            .map_err(|e| VideoError::frame(&self.path, frame_no, format!("encoding: {e}")))?;
        self.frames += 1;
        self.drain()
    }

    /// Flushes the encoder and writes the mp4 trailer.
    pub fn finish(mut self) -> Result<(), VideoError> {
        let frame_no = self.frames;
        self.encoder
            .send_eof()
            .map_err(|e| VideoError::frame(&self.path, frame_no, format!("flushing the encoder: {e}")))?;
        self.drain()?;
        self.octx.write_trailer().map_err(|e| VideoError::file(&self.path, format!("writing the mp4 trailer: {e}")))
    }

    fn drain(&mut self) -> Result<(), VideoError> {
        let stream_tb = self.octx.stream(0).map(|s| s.time_base()).unwrap_or(self.encoder_time_base);
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            packet.rescale_ts(self.encoder_time_base, stream_tb);
            packet
                .write_interleaved(&mut self.octx)
                .map_err(|e| VideoError::frame(&self.path, self.frames, format!("writing a packet: {e}")))?;
        }
        Ok(())
    }
}
