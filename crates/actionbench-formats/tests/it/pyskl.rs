//! mmaction2 / pyskl annotation pickles, both generations.

use actionbench_formats::pyskl::{PysklLayout, pyskl_from_value, read_pyskl};
use actionbench_formats::value::PyValue;

use crate::support::real_fixture;

#[test]
fn both_generations_give_the_same_records() {
    let main = read_pyskl(&real_fixture("skeleton_pkl/mmaction2_main/sample.pkl")).unwrap();
    let old = read_pyskl(&real_fixture("skeleton_pkl/mmaction2_0.x/sample.pkl")).unwrap();
    assert_eq!(main.layout, PysklLayout::SplitAndAnnotations);
    assert_eq!(old.layout, PysklLayout::BareList);
    assert_eq!(main.split.len(), 1);
    assert_eq!(main.split[0].0, "train");
    assert_eq!(main.split[0].1.len(), 100);
    assert!(old.split.is_empty());
    assert_eq!(main.annotations.len(), 100);
    assert_eq!(old.annotations.len(), 100);
    for (a, b) in main.annotations.iter().zip(&old.annotations) {
        assert_eq!(a.frame_dir, b.frame_dir);
        assert_eq!((a.label, a.total_frames, a.img_shape), (b.label, b.total_frames, b.img_shape));
        assert!(a.keypoint.is_none() && a.keypoint_score.is_none());
    }
    let first = &main.annotations[0];
    assert_eq!(first.frame_dir, "jf7RDuUTrsQ");
    assert_eq!((first.label, first.total_frames, first.img_shape), (Some(325), Some(300), Some((320, 570))));
    let keys: Vec<&str> = first.other.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["frame_inds", "box_score", "valid"]);
    // `valid` has float keys in the main generation…
    let valid = &first.other[2].1;
    assert_eq!(valid.as_dict().unwrap()[0], (PyValue::Float(0.5), PyValue::Int(150)));
    // …and flat `valid@0.5` keys plus `filename` in 0.x.
    let old_keys: Vec<&str> = old.annotations[0].other.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        old_keys,
        ["filename", "frame_inds", "box_score", "valid@0.5", "valid@0.6", "valid@0.7", "valid@0.8", "valid@0.9"]
    );
    // Portrait videos occur.
    assert!(main.annotations.iter().any(|a| matches!(a.img_shape, Some((h, w)) if h > w)));
}

#[test]
fn keypoints_and_structure_errors() {
    use actionbench_formats::value::{ArrayData, Dtype, NdArray};
    let kp = NdArray {
        dtype: Dtype::from_code("<f4").unwrap(),
        shape: vec![1, 2, 1, 2],
        data: ArrayData::Raw([1f32, 2., 3., 4.].iter().flat_map(|v| v.to_le_bytes()).collect()),
    };
    let record = PyValue::Dict(vec![
        (PyValue::Str("frame_dir".into()), PyValue::Str("S001C001P001R001A001".into())),
        (PyValue::Str("label".into()), PyValue::Int(0)),
        (PyValue::Str("keypoint".into()), PyValue::Array(kp.clone())),
    ]);
    let path = std::path::Path::new("a.pkl");
    let parsed = pyskl_from_value(PyValue::List(vec![record.clone()]), path).unwrap();
    assert_eq!(parsed.annotations[0].keypoint.as_ref(), Some(&kp));
    let err = pyskl_from_value(PyValue::List(vec![PyValue::Int(3)]), path).unwrap_err();
    assert_eq!(err.to_string(), "`a.pkl`: annotation 0 is a int, expected a dict");
    let no_dir = PyValue::Dict(vec![(PyValue::Str("label".into()), PyValue::Str("x".into()))]);
    let err = pyskl_from_value(PyValue::List(vec![no_dir]), path).unwrap_err();
    assert_eq!(err.to_string(), "`a.pkl`: annotation 0: `label` is a str, expected an int");
    let err = pyskl_from_value(PyValue::Dict(vec![]), path).unwrap_err();
    assert!(err.to_string().contains("without an `annotations` list"));
}
