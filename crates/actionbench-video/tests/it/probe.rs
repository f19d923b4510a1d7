use actionbench_core::Diagnose as _;
use actionbench_video::{VideoError, probe};

use crate::fixture;

#[test]
fn probes_the_mp4_fixture() {
    let info = probe(&fixture("test.mp4")).unwrap();
    assert_eq!(info.codec, "h264");
    assert_eq!((info.width, info.height), (340, 256));
    assert!((info.fps - 30.0).abs() < 1e-6, "fps {}", info.fps);
    assert_eq!(info.num_packets, 300);
    assert_eq!(info.indexed_frames, 300);
    assert!((info.duration_s - 10.0).abs() < 0.05, "duration {}", info.duration_s);
    assert!(!info.variable_frame_rate);
    assert_eq!(info.rotation, 0);
    assert!(info.container.contains("mp4"), "{}", info.container);
}

#[test]
fn probes_the_avi_fixture() {
    let info = probe(&fixture("test.avi")).unwrap();
    assert_eq!((info.width, info.height), (320, 240));
    assert!((info.fps - 25.0).abs() < 1e-6, "fps {}", info.fps);
    assert_eq!(info.codec, "mpeg4");
    assert!(info.num_packets > 0);
    assert_eq!(info.container, "avi");
}

#[test]
fn random_bytes_and_missing_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.mp4");
    // Deterministic pseudo-random bytes (xorshift).
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let bytes: Vec<u8> = (0..50_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&junk, bytes).unwrap();
    let err = probe(&junk).unwrap_err();
    assert!(err.to_string().contains("junk.mp4"), "{err}");
    assert!(err.hint().is_some());

    let err = probe(&dir.path().join("absent.mp4")).unwrap_err();
    assert!(matches!(err, VideoError::Io { .. }), "{err}");
    assert!(err.to_string().contains("absent.mp4"), "{err}");
}

#[test]
fn truncated_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["test.mp4", "test.avi"] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let cut = dir.path().join(format!("cut_{name}"));
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let err = probe(&cut).unwrap_err();
        assert!(err.to_string().contains(&format!("cut_{name}")), "{err}");
    }
}
