//! File-kind detection: by name on the real fixtures, by first bytes when
//! the name says nothing, and a named error with a hint otherwise.

use actionbench_core::Diagnose as _;
use actionbench_formats::detect::{FileKind, detect};

use crate::support::real_fixture;

#[test]
fn real_fixtures_are_recognised_by_name() {
    let cases = [
        ("phalp/gt_tracks.pkl", FileKind::Pickle),
        ("video/mmaction2/test.mp4", FileKind::Video),
        ("ava/mmaction2_eval_detection/gt.csv", FileKind::AvaCsv),
        ("ava/activitynet_labelmap/ava_action_list_v2.1_for_activitynet_2018.pbtxt.txt", FileKind::LabelMap),
        ("ntu/mmaction2/NTU_RGBD_samples_with_missing_skeletons.txt", FileKind::NtuList),
        ("ntu/mmaction2/label_map_ntu60.txt", FileKind::LabelMap),
    ];
    for (rel, kind) in cases {
        assert_eq!(detect(&real_fixture(rel)).unwrap(), kind, "{rel}");
    }
}

#[test]
fn unnamed_files_are_recognised_by_their_first_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[u8], FileKind); 4] = [
        (b"\x93NUMPY\x01\x00", FileKind::Npy),
        (b"PK\x03\x04rest", FileKind::Npz),
        (b"PAR1....", FileKind::Parquet),
        (&std::fs::read(real_fixture("phalp/gt_tracks.pkl")).unwrap(), FileKind::Pickle),
    ];
    for (i, (bytes, kind)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("file{i}"));
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(detect(&path).unwrap(), kind);
    }
    let unknown = dir.path().join("notes.bin");
    std::fs::write(&unknown, b"hello").unwrap();
    let err = detect(&unknown).unwrap_err();
    assert!(err.to_string().contains("notes.bin"), "{err}");
    assert!(err.hint().is_some_and(|h| h.contains("ntu-list")), "{:?}", err.hint());
    for kind in FileKind::ALL {
        assert_eq!(kind.id().parse::<FileKind>(), Ok(kind));
    }
}
