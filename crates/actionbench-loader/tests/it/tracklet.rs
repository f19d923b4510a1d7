//! Tracklet windows around keyframes, context persons and masks.

use std::sync::Arc;

use actionbench_loader::{
    Keyframes, Loader, LoaderConfig, LoaderState, SampleSource, Table, TrackletConfig, TrackletSource, sample_rng,
};
use actionbench_shards::tensor::{VariableShapeTensorBuilder, variable_shape_tensor_field};
use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float32Type, Int32Type, Schema, UInt8Type};

const D: usize = 4;
const K: usize = 3;

struct Track {
    id: &'static str,
    video: &'static str,
    frames: std::ops::RangeInclusive<i32>,
    base: f32,
    missing: Vec<i32>,
    gt: Vec<i32>,
    pseudo: Vec<i32>,
}

fn table(tracks: &[Track]) -> Arc<Table> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("video_id", DataType::Utf8, false),
        variable_shape_tensor_field("frame", DataType::Int32, 1, None, None).unwrap(),
        variable_shape_tensor_field("pose229", DataType::Float32, 2, None, None).unwrap(),
        variable_shape_tensor_field("has_detection", DataType::UInt8, 1, None, None).unwrap(),
        variable_shape_tensor_field("labels", DataType::Float32, 2, None, None).unwrap(),
        variable_shape_tensor_field("has_gt", DataType::UInt8, 1, None, None).unwrap(),
    ]));
    let mut frame = VariableShapeTensorBuilder::<Int32Type>::new(1);
    let mut pose = VariableShapeTensorBuilder::<Float32Type>::new(2);
    let mut det = VariableShapeTensorBuilder::<UInt8Type>::new(1);
    let mut labels = VariableShapeTensorBuilder::<Float32Type>::new(2);
    let mut gt = VariableShapeTensorBuilder::<UInt8Type>::new(1);
    for t in tracks {
        let f: Vec<i32> = t.frames.clone().collect();
        let n = f.len();
        frame.push(&[n], &f).unwrap();
        let p: Vec<f32> =
            f.iter().flat_map(|&x| (0..D).map(move |d| x as f32 * 10.0 + d as f32)).map(|v| v + t.base).collect();
        pose.push(&[n, D], &p).unwrap();
        det.push(&[n], &f.iter().map(|x| u8::from(!t.missing.contains(x))).collect::<Vec<_>>()).unwrap();
        let l: Vec<f32> = f
            .iter()
            .flat_map(|&x| (0..K).map(move |k| if (x as usize + k).is_multiple_of(2) { 1.0 } else { 0.0 }))
            .collect();
        labels.push(&[n, K], &l).unwrap();
        let flag = |x: &i32| if t.gt.contains(x) { 2 } else { u8::from(t.pseudo.contains(x)) };
        gt.push(&[n], &f.iter().map(flag).collect::<Vec<_>>()).unwrap();
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(tracks.iter().map(|t| t.id).collect::<Vec<_>>())),
        Arc::new(StringArray::from(tracks.iter().map(|t| t.video).collect::<Vec<_>>())),
        frame.finish().unwrap(),
        pose.finish().unwrap(),
        det.finish().unwrap(),
        labels.finish().unwrap(),
        gt.finish().unwrap(),
    ];
    Arc::new(Table::from_batches(vec![RecordBatch::try_new(schema, columns).unwrap()], "tracklets"))
}

fn tracks() -> Vec<Track> {
    vec![
        Track {
            id: "A",
            video: "v1",
            frames: 10..=30,
            base: 0.0,
            missing: vec![20],
            gt: vec![12, 21, 25],
            pseudo: vec![],
        },
        Track { id: "B", video: "v1", frames: 22..=40, base: 1000.0, missing: vec![], gt: vec![], pseudo: vec![] },
        Track { id: "C", video: "v2", frames: 0..=5, base: 5000.0, missing: vec![], gt: vec![2], pseudo: vec![] },
    ]
}

fn source(keyframes: Keyframes) -> TrackletSource {
    let cfg = TrackletConfig { window: 6, persons: 2, keyframes, ..Default::default() };
    TrackletSource::new(table(&tracks()), cfg).unwrap()
}

#[test]
fn labelled_keyframes_become_windows_with_context_and_masks() {
    let s = source(Keyframes::Labelled);
    assert_eq!(s.len(), 4, "A@12, A@21, A@25, C@2");
    let get = |i: usize| s.sample(i, &mut sample_rng(0, 0, 0, i as u64)).unwrap();

    // A@25: frames 22..=27, both A and B everywhere.
    let a25 = get(2);
    assert_eq!(a25.id, "A@25");
    let (pose, valid) = (&a25.tensors["pose"], &a25.tensors["valid"]);
    assert_eq!(pose.shape, vec![6, 2, D]);
    assert_eq!(valid.data, vec![1.0; 12]);
    assert_eq!(&pose.data[..D], &[220.0, 221.0, 222.0, 223.0], "person 0, frame 22");
    assert_eq!(&pose.data[D..2 * D], &[1220.0, 1221.0, 1222.0, 1223.0], "person 1 (B), frame 22");
    assert_eq!(a25.tensors["label_valid"].data, vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    let ml = a25.multi_label.as_ref().unwrap();
    assert_eq!(ml.shape, vec![6, K]);
    assert_eq!(&ml.data[3 * K..4 * K], &[0.0, 1.0, 0.0], "labels of frame 25");
    assert!(ml.data[..3 * K].iter().all(|&v| v == 0.0), "labels only where has_gt");
    assert!(a25.label_masks["action"]);

    // A@12: frames 9..=14; frame 9 is before the track; B is not in the window.
    let a12 = get(0);
    let v = &a12.tensors["valid"].data;
    assert_eq!(v.iter().step_by(2).copied().collect::<Vec<_>>(), vec![0.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    assert!(v.iter().skip(1).step_by(2).all(|&x| x == 0.0), "no context person");
    assert!(a12.tensors["pose"].data[..2 * D].iter().all(|&x| x == 0.0), "padding is zeros");

    // A@21: frames 18..=23; A has no detection at 20, B starts at 22.
    let a21 = get(1);
    let v = &a21.tensors["valid"].data;
    assert_eq!(v.iter().step_by(2).copied().collect::<Vec<_>>(), vec![1.0, 1.0, 0.0, 1.0, 1.0, 1.0]);
    assert_eq!(v.iter().skip(1).step_by(2).copied().collect::<Vec<_>>(), vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0]);

    // C@2 in another video: frames -1..=4.
    let c2 = get(3);
    assert_eq!(c2.id, "C@2");
    assert_eq!(
        c2.tensors["valid"].data.iter().step_by(2).copied().collect::<Vec<_>>(),
        vec![0.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    );
}

#[test]
fn every_nth_detected_frame_is_a_sample() {
    let s = source(Keyframes::Every(5));
    let keys: Vec<(usize, i64)> = (0..s.len()).map(|i| s.keyframe(i).unwrap()).collect();
    assert_eq!(keys, vec![(0, 10), (0, 15), (0, 25), (0, 30), (1, 22), (1, 27), (1, 32), (1, 37), (2, 0), (2, 5)]);
    // B has no ground truth: its mask says so.
    let b = s.sample(4, &mut sample_rng(0, 0, 0, 4)).unwrap();
    assert!(!b.label_masks["action"]);
}

#[test]
fn marked_frames_are_samples_only_where_detected() {
    // `has_gt` marks A@12, A@21, A@25 and C@2.
    let s = source(Keyframes::Marked("has_gt".into()));
    let keys: Vec<(usize, i64)> = (0..s.len()).map(|i| s.keyframe(i).unwrap()).collect();
    assert_eq!(keys, vec![(0, 12), (0, 21), (0, 25), (2, 2)]);
    // Every frame is marked by `has_detection`, but A's frame 20 has no detection.
    let s = source(Keyframes::Marked("has_detection".into()));
    assert_eq!(s.len(), 20 + 19 + 6);
    assert!((0..s.len()).all(|i| s.keyframe(i) != Some((0, 20))));
    let cfg = TrackletConfig { keyframes: Keyframes::Marked("is_keyframe".into()), ..Default::default() };
    let err = TrackletSource::new(table(&tracks()), cfg).err().expect("unknown column").to_string();
    assert!(err.contains("is_keyframe"), "{err}");
}

#[test]
fn tracklet_batches_collate_with_masks() {
    let s = Arc::new(source(Keyframes::Labelled));
    let cfg = LoaderConfig { batch_size: 4, shuffle: false, ..Default::default() };
    let batch = Loader::new(s, &cfg, LoaderState::new(0, 0)).unwrap().next().unwrap().unwrap();
    assert_eq!(batch.tensors["pose"].shape, vec![4, 6, 2, D]);
    assert_eq!(batch.tensors["valid"].shape, vec![4, 6, 2]);
    assert_eq!(batch.multi_labels.as_ref().unwrap().shape, vec![4, 6, K]);
    assert_eq!(batch.label_masks["action"], vec![true; 4]);
    assert_eq!(batch.labels, vec![-1; 4]);
}

#[test]
fn empty_tracks_are_fine_and_missing_columns_are_errors() {
    let mut t = tracks();
    t[1].frames = std::ops::RangeInclusive::new(5, 4); // an empty track is fine
    assert!(TrackletSource::new(table(&t), TrackletConfig::default()).is_ok());
    let e = TrackletSource::new(table(&tracks()), TrackletConfig { pose_column: "pose".into(), ..Default::default() })
        .err()
        .unwrap();
    let hint = actionbench_core::Diagnose::hint(&e).unwrap_or_default();
    assert!(e.to_string().contains("pose") && hint.contains("pose229"), "{e} / {hint}");
}

#[test]
fn pseudo_labels_count_unless_ground_truth_only_is_asked() {
    let mut t = tracks();
    t[1].pseudo = vec![30, 31];
    let count = |min_gt: f32| {
        let cfg = TrackletConfig { window: 4, min_gt, ..Default::default() };
        TrackletSource::new(table(&t), cfg).unwrap().len()
    };
    assert_eq!(count(1.0), 6, "4 ground-truth keyframes + 2 pseudo-labelled");
    assert_eq!(count(2.0), 4, "ground truth only");
}
