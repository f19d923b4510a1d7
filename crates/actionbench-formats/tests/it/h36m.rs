//! VideoPose3D Human3.6M archives (self-made with numpy, see
//! tests/fixtures/h36m/make_fixtures.py).

use actionbench_formats::h36m::{read_h36m_2d, read_h36m_3d};
use actionbench_formats::npz::read_npz;
use actionbench_formats::pickle::PickleOptions;

use crate::support::crate_fixture;

#[test]
fn positions_3d() {
    let seqs = read_h36m_3d(&crate_fixture("h36m/data_3d_h36m_tiny.npz")).unwrap();
    let names: Vec<(&str, &str, [usize; 3])> =
        seqs.iter().map(|s| (s.subject.as_str(), s.action.as_str(), s.positions.shape)).collect();
    assert_eq!(
        names,
        [("S1", "Walking", [5, 32, 3]), ("S1", "Walking 1", [4, 32, 3]), ("S11", "Directions 1", [3, 32, 3])]
    );
    // value [t, j, c] = s + t/10 + j/100 + c/1000
    let s11 = &seqs[2].positions;
    let at = |t: usize, j: usize, c: usize| s11.data[(t * 32 + j) * 3 + c];
    assert_eq!(at(2, 31, 2), (11.0 + 0.2 + 0.31 + 0.002) as f32);
    assert_eq!(at(0, 0, 0), 11.0);
}

#[test]
fn positions_2d_and_metadata() {
    for (file, layout) in [("data_2d_h36m_tiny_gt.npz", None), ("data_2d_h36m_tiny_cpn.npz", Some("h36m"))] {
        let d = read_h36m_2d(&crate_fixture(&format!("h36m/{file}"))).unwrap();
        assert_eq!(d.metadata.layout_name.as_deref(), layout);
        assert_eq!(d.metadata.num_joints, Some(17));
        assert_eq!(d.metadata.keypoints_symmetry, Some((vec![4, 5, 6, 11, 12, 13], vec![1, 2, 3, 14, 15, 16])));
        assert_eq!(d.sequences.len(), 3);
        let walking = &d.sequences[0];
        assert_eq!(walking.cameras.iter().map(|c| c.shape[0]).collect::<Vec<_>>(), [6, 7, 8, 9]);
        // value [t, j, c] = cam*100 + t + j/10 + c/100
        let cam3 = &walking.cameras[3];
        assert_eq!(cam3.data[(5 * 17 + 16) * 2 + 1], (300.0 + 5.0 + 1.6 + 0.01) as f32);
    }
}

#[test]
fn npz_members_and_errors() {
    let members = read_npz(&crate_fixture("h36m/data_2d_h36m_tiny_gt.npz"), PickleOptions::default()).unwrap();
    let names: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["positions_2d", "metadata"]);
    let err = read_h36m_3d(&crate_fixture("h36m/data_2d_h36m_tiny_gt.npz")).unwrap_err();
    assert!(err.to_string().contains("no member `positions_3d.npy`"), "{err}");
    // A truncated archive is an error naming the file.
    let bytes = std::fs::read(crate_fixture("h36m/data_3d_h36m_tiny.npz")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.npz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = read_h36m_3d(&cut).unwrap_err().to_string();
    assert!(err.contains("cut.npz"), "{err}");
    // A corrupt pickle inside a stored member names the member and offset.
    let plain = std::fs::read(crate_fixture("h36m/data_2d_h36m_tiny_gt.npz")).unwrap();
    let at = plain.windows(4).position(|w| w == b"\x94\x8c\x04h3".as_slice()).unwrap_or(0);
    let _ = at; // layout differs across numpy versions; corrupting bytes is enough:
    let mut bad = plain.clone();
    for b in bad.iter_mut().skip(400).take(64) {
        *b = 0xff;
    }
    let path = dir.path().join("bad.npz");
    std::fs::write(&path, &bad).unwrap();
    assert!(read_h36m_2d(&path).is_err());
}
