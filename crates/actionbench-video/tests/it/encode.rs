use actionbench_video::{Mp4Writer, VideoError, mp4_encoder_name};

/// A moving gradient so the encoder has real motion to code.
fn frame(w: u32, h: u32, t: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            out.push(((x + 4 * t) % 256) as u8);
            out.push(((y * 2 + t) % 256) as u8);
            out.push(((x + y) % 256) as u8);
        }
    }
    out
}

fn write(path: &std::path::Path, w: u32, h: u32, n: u32) {
    let mut wr = Mp4Writer::create(path, w, h, 25).unwrap();
    for t in 0..n {
        wr.push_rgb(&frame(w, h, t)).unwrap();
    }
    wr.finish().unwrap();
}

#[test]
fn same_frames_give_byte_identical_mp4() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.mp4"), dir.path().join("b.mp4"));
    write(&a, 64, 48, 12);
    write(&b, 64, 48, 12);
    let (ba, bb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert!(ba.len() > 500, "mp4 is only {} bytes", ba.len());
    assert_eq!(&ba[4..8], b"ftyp");
    let codec_tag: &[u8] = if mp4_encoder_name() == "libx264" { b"avc1" } else { b"mp4v" };
    assert!(ba.windows(4).any(|w| w == codec_tag), "no {codec_tag:?} sample entry");
    assert_eq!(ba, bb, "two writes of the same frames differ");
    // Different content gives a different file (the frames really are encoded).
    let c = dir.path().join("c.mp4");
    write(&c, 64, 48, 11);
    assert_ne!(ba, std::fs::read(&c).unwrap());
}

#[test]
fn odd_size_and_wrong_buffer_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("odd.mp4");
    let err = Mp4Writer::create(&p, 63, 48, 25).err().expect("odd width must fail");
    assert!(matches!(err, VideoError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("odd.mp4"), "{err}");

    let p = dir.path().join("short.mp4");
    let mut w = Mp4Writer::create(&p, 64, 48, 25).unwrap();
    w.push_rgb(&frame(64, 48, 0)).unwrap();
    let err = w.push_rgb(&[0u8; 10]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("short.mp4") && msg.contains("frame 1") && msg.contains("9216"), "{msg}");
}
