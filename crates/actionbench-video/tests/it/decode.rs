use actionbench_video::{
    ClipFrames, Crop, FrameFormat, Mp4Writer, SampleOptions, VideoError, decode_clips, decode_jpeg,
};

use crate::fixture;

fn raw() -> SampleOptions {
    SampleOptions { format: FrameFormat::Raw, ..Default::default() }
}

#[test]
fn every_frame_of_the_mp4_as_one_raw_clip() {
    let (summary, clips) = decode_clips(&fixture("test.mp4"), &raw()).unwrap();
    assert_eq!(summary.decoded_frames, 300);
    assert_eq!(summary.sampled_frames, 300);
    assert_eq!(clips.len(), 1);
    let c = &clips[0];
    assert_eq!((c.width, c.height), (340, 256));
    assert_eq!((c.start_frame, c.end_frame), (0, 299));
    assert_eq!(c.frame_indices, (0..300).collect::<Vec<u64>>());
    assert!((c.end_s - 299.0 / 30.0).abs() < 1e-3, "end {}", c.end_s);
    let ClipFrames::Raw(bytes) = &c.frames else { panic!("raw expected") };
    assert_eq!(bytes.len(), 300 * 256 * 340 * 3);
    // A real picture: not constant, and consecutive frames differ.
    let f0 = &bytes[..256 * 340 * 3];
    let f1 = &bytes[256 * 340 * 3..2 * 256 * 340 * 3];
    assert!(f0.iter().any(|&v| v != f0[0]));
    assert_ne!(f0, f1);
}

#[test]
fn resampling_by_pts_and_clips() {
    let opts = SampleOptions {
        target_fps: Some(10.0),
        clip_len: Some(16),
        clip_stride: Some(16),
        format: FrameFormat::Raw,
        ..Default::default()
    };
    let (summary, clips) = decode_clips(&fixture("test.mp4"), &opts).unwrap();
    assert_eq!(summary.sampled_frames, 100, "10 s at 10 fps");
    assert_eq!(clips.len(), 6, "100 sampled frames hold six whole 16-frame clips");
    for (k, c) in clips.iter().enumerate() {
        assert_eq!(c.index, k);
        let want: Vec<u64> = (0..16).map(|i| (k as u64 * 16 + i) * 3).collect();
        assert_eq!(c.frame_indices, want, "clip {k}");
        assert_eq!(c.frames.len(c.height, c.width), 16);
    }
    // Overlapping clips reuse frames: stride 8 gives clips at 0, 8, …, 80 (11 clips).
    let opts = SampleOptions { clip_stride: Some(8), ..opts };
    let (_, clips) = decode_clips(&fixture("test.mp4"), &opts).unwrap();
    assert_eq!(clips.len(), 11);
    assert_eq!(clips[1].frame_indices[0], 24);
    // Gaps: stride 40 with length 4 → starts 0, 40, 80 (3 clips), frames in gaps skipped.
    let opts = SampleOptions { clip_len: Some(4), clip_stride: Some(40), ..opts };
    let (_, clips) = decode_clips(&fixture("test.mp4"), &opts).unwrap();
    assert_eq!(clips.iter().map(|c| c.start_frame).collect::<Vec<_>>(), vec![0, 120, 240]);
}

#[test]
fn upsampling_repeats_frames_by_pts() {
    // 25 fps AVI sampled at 50 fps: each source frame fills two slots.
    let opts = SampleOptions { target_fps: Some(50.0), format: FrameFormat::Raw, ..Default::default() };
    let (summary, clips) = decode_clips(&fixture("test.avi"), &opts).unwrap();
    let idx = &clips[0].frame_indices;
    assert_eq!(idx[..6], [0, 1, 1, 2, 2, 3][..].iter().map(|&v| v as u64).collect::<Vec<_>>()[..]);
    assert_eq!(summary.sampled_frames, 2 * summary.decoded_frames - 1);
}

#[test]
fn short_side_resize_center_crop_and_jpeg() {
    let opts = SampleOptions {
        short_side: Some(128),
        clip_len: Some(8),
        target_fps: Some(5.0),
        format: FrameFormat::Jpeg { quality: 85 },
        ..Default::default()
    };
    let (_, clips) = decode_clips(&fixture("test.mp4"), &opts).unwrap();
    assert_eq!((clips[0].width, clips[0].height), (170, 128));
    let ClipFrames::Jpeg(jpegs) = &clips[0].frames else { panic!("jpeg expected") };
    assert_eq!(jpegs.len(), 8);
    let (px, w, h) = decode_jpeg(&jpegs[0]).unwrap();
    assert_eq!((w, h, px.len()), (170, 128, 170 * 128 * 3));

    let opts = SampleOptions { crop: Crop::CenterSquare, ..opts };
    let (_, cropped) = decode_clips(&fixture("test.mp4"), &opts).unwrap();
    assert_eq!((cropped[0].width, cropped[0].height), (128, 128));
    // The crop is the centre of the resized frame: compare with the uncropped raw frame.
    let raw_full = decode_clips(
        &fixture("test.mp4"),
        &SampleOptions { format: FrameFormat::Raw, crop: Crop::None, ..opts.clone() },
    )
    .unwrap()
    .1;
    let raw_crop = decode_clips(&fixture("test.mp4"), &SampleOptions { format: FrameFormat::Raw, ..opts }).unwrap().1;
    let (ClipFrames::Raw(full), ClipFrames::Raw(crop)) = (&raw_full[0].frames, &raw_crop[0].frames) else { panic!() };
    let x0 = (170 - 128) / 2;
    for y in [0usize, 64, 127] {
        let a = &full[(y * 170 + x0) * 3..(y * 170 + x0 + 128) * 3];
        let b = &crop[y * 128 * 3..(y + 1) * 128 * 3];
        assert_eq!(a, b, "row {y}");
    }
}

#[test]
fn decoding_is_deterministic_and_thread_count_independent() {
    let opts = SampleOptions { target_fps: Some(6.0), short_side: Some(96), ..Default::default() };
    let (_, a) = decode_clips(&fixture("test.mp4"), &opts).unwrap();
    let (_, b) = decode_clips(&fixture("test.mp4"), &SampleOptions { decoder_threads: 3, ..opts }).unwrap();
    assert_eq!(a, b);
}

#[test]
fn mp4_writer_round_trip_keeps_the_picture() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rt.mp4");
    let (w, h) = (96u32, 64u32);
    let frame = |t: u32| -> Vec<u8> {
        (0..h)
            .flat_map(|y| (0..w).flat_map(move |x| [((x * 2 + t * 8) % 256) as u8, (y * 3 % 256) as u8, 128]))
            .collect()
    };
    let mut wr = Mp4Writer::create(&path, w, h, 12).unwrap();
    for t in 0..24 {
        wr.push_rgb(&frame(t)).unwrap();
    }
    wr.finish().unwrap();
    let (summary, clips) = decode_clips(&path, &raw()).unwrap();
    assert_eq!(summary.decoded_frames, 24);
    assert!((summary.info.fps - 12.0).abs() < 1e-6);
    let ClipFrames::Raw(bytes) = &clips[0].frames else { panic!() };
    for t in [0u32, 11, 23] {
        let got = &bytes[(t * w * h * 3) as usize..((t + 1) * w * h * 3) as usize];
        let want = frame(t);
        let mae: f64 =
            got.iter().zip(&want).map(|(a, b)| (*a as f64 - *b as f64).abs()).sum::<f64>() / want.len() as f64;
        assert!(mae < 6.0, "frame {t}: mean abs error {mae}");
    }
}

#[test]
fn corrupt_and_truncated_videos_error_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("test.avi")).unwrap();
    let cut = dir.path().join("cut.avi");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let err = decode_clips(&cut, &raw()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("cut.avi") && (msg.contains("packet") || msg.contains("frame")), "{msg}");

    let bytes = std::fs::read(fixture("test.mp4")).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let err = decode_clips(&cut, &raw()).unwrap_err();
    assert!(err.to_string().contains("cut.mp4"), "{err}");

    let bad = dir.path().join("bad.mp4");
    std::fs::write(&bad, vec![0x47u8; 4096]).unwrap();
    assert!(matches!(decode_clips(&bad, &raw()), Err(VideoError::File { .. })));
}

#[test]
fn bad_options_are_errors() {
    let p = fixture("test.mp4");
    for o in [
        SampleOptions { clip_len: Some(0), ..Default::default() },
        SampleOptions { target_fps: Some(0.0), ..Default::default() },
        SampleOptions { format: FrameFormat::Jpeg { quality: 0 }, ..Default::default() },
    ] {
        assert!(matches!(decode_clips(&p, &o), Err(VideoError::Invalid { .. })));
    }
}
