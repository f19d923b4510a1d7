//! Clips: a rendered clip with a known asymmetric pattern keeps its frames
//! and every label aligned through window, scale, crop and flip; test views;
//! JPEG frames; the same batches for one and two loader threads.

use std::sync::Arc;

use actionbench_loader::{
    ClipConfig, ClipSource, HostBatch, Loader, LoaderConfig, LoaderState, Sample, SampleSource, Table, sample_rng,
};
use actionbench_shards::tensor::{VariableShapeTensorBuilder, variable_shape_tensor_field};
use arrow::array::{ArrayRef, BinaryBuilder, BooleanArray, Int32Array, ListBuilder, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float32Type, Schema, UInt8Type, UInt16Type};

const W: usize = 64;
const H: usize = 48;
const F: usize = 12;

/// The object of frame `f`: columns `x0..x0 + 16`, rows 12..36.
fn object_x0(f: usize) -> usize {
    4 + 3 * f
}

fn inside(f: usize, x: usize, y: usize) -> bool {
    (object_x0(f)..object_x0(f) + 16).contains(&x) && (12..36).contains(&y)
}

fn tensor_field(name: &str, ty: DataType, ndim: usize) -> Field {
    variable_shape_tensor_field(name, ty, ndim, None, None).unwrap()
}

/// One `ingest.renders`-shaped row per clip id: a red object moving right
/// on grey, its blue channel, depth (1 m + 0.1 m per frame) and the joints'
/// z telling the frame; normals pointing +x; segmentation 1; one box;
/// person 1's left shoulder (joint 4) at x = −0.5 and right (joint 8) at +0.5.
fn render_table(ids: &[&str]) -> Arc<Table> {
    Arc::new(Table::from_batches(vec![render_batch(ids)], "render-table"))
}

fn render_batch(ids: &[&str]) -> RecordBatch {
    let mut rgb = VariableShapeTensorBuilder::<UInt8Type>::new(4);
    let mut depth = VariableShapeTensorBuilder::<UInt16Type>::new(3);
    let mut normals = VariableShapeTensorBuilder::<UInt8Type>::new(4);
    let mut seg = VariableShapeTensorBuilder::<UInt8Type>::new(3);
    let mut boxes = VariableShapeTensorBuilder::<Float32Type>::new(2);
    let mut joints = VariableShapeTensorBuilder::<Float32Type>::new(4);
    for _ in ids {
        let (mut px, mut d, mut n, mut s) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut b, mut j) = (Vec::new(), Vec::new());
        for f in 0..F {
            for y in 0..H {
                for x in 0..W {
                    let hit = inside(f, x, y);
                    px.extend(if hit { [250u8, 0, 20 * f as u8] } else { [128, 128, 128] });
                    d.push(if hit { 1000 + 100 * f as u16 } else { 0 });
                    n.extend(if hit { [255u8, 128, 128] } else { [0, 0, 0] });
                    s.push(hit as u8);
                }
            }
            let x0 = object_x0(f) as f32;
            b.extend([f as f32, 1.0, x0, 12.0, x0 + 16.0, 36.0]);
            for joint in 0..25 {
                let x = match joint {
                    4 => -0.5,
                    8 => 0.5,
                    _ => 0.0,
                };
                j.extend([x, 0.0, 1.0 + 0.1 * f as f32]);
            }
        }
        rgb.push(&[F, H, W, 3], &px).unwrap();
        depth.push(&[F, H, W], &d).unwrap();
        normals.push(&[F, H, W, 3], &n).unwrap();
        seg.push(&[F, H, W], &s).unwrap();
        boxes.push(&[F, 6], &b).unwrap();
        joints.push(&[F, 1, 25, 3], &j).unwrap();
    }
    let yes = |name: &str| {
        (Field::new(name, DataType::Boolean, false), Arc::new(BooleanArray::from(vec![true; ids.len()])) as ArrayRef)
    };
    let mut columns: Vec<(Field, ArrayRef)> = vec![
        (Field::new("sample_id", DataType::Utf8, false), Arc::new(StringArray::from(ids.to_vec()))),
        (
            Field::new("label", DataType::Int32, false),
            Arc::new(Int32Array::from_iter_values((0..ids.len() as i32).map(|i| i % 3))),
        ),
        (tensor_field("rgb", DataType::UInt8, 4), rgb.finish().unwrap()),
        (tensor_field("depth", DataType::UInt16, 3), depth.finish().unwrap()),
        (tensor_field("normals", DataType::UInt8, 4), normals.finish().unwrap()),
        (tensor_field("segmentation", DataType::UInt8, 3), seg.finish().unwrap()),
        (tensor_field("boxes", DataType::Float32, 2), boxes.finish().unwrap()),
        (tensor_field("joints3d", DataType::Float32, 4), joints.finish().unwrap()),
    ];
    for name in ["has_depth", "has_normals", "has_segmentation", "has_boxes", "has_joints3d"] {
        columns.push(yes(name));
    }
    let schema = Arc::new(Schema::new(columns.iter().map(|c| c.0.clone()).collect::<Vec<_>>()));
    RecordBatch::try_new(schema, columns.into_iter().map(|c| c.1).collect()).unwrap()
}

fn training() -> ClipConfig {
    ClipConfig {
        num_frames: 4,
        sampling_rate: 2,
        crop_size: 32,
        jitter_scales: [48, 64],
        augment: true,
        flip: true,
        mean: [0.0; 3],
        std: [1.0; 3],
        render_labels: true,
        max_boxes: 2,
        max_people: 2,
        ..Default::default()
    }
}

/// The source frame a sampled frame shows, read back from its depth.
fn frame_of_depth(d: f32) -> usize {
    ((d - 1.0) / 0.1).round() as usize
}

#[test]
fn frames_and_every_label_stay_aligned_through_crop_and_flip() {
    let source = ClipSource::new(render_table(&["c0"]), training()).unwrap();
    let (t, s) = (4, 32);
    let mut flips = [0, 0];
    for seed in 0..40 {
        let sample: Sample = source.sample(0, &mut sample_rng(seed, 0, 0, 0)).unwrap();
        let clip = &sample.tensors["clip"];
        assert_eq!(clip.shape, [3, t, s, s]);
        let at = |name: &str, idx: usize| sample.tensors[name].data[idx];
        let mut frames = Vec::new();
        for ti in 0..t {
            let mut span_seg: Option<(usize, usize)> = None;
            let mut frame = None;
            let mut normal_x = None;
            for i in 0..s {
                for j in 0..s {
                    let red = clip.data[(ti * s + i) * s + j];
                    let green = clip.data[((t + ti) * s + i) * s + j];
                    let seg = at("segmentation", (ti * s + i) * s + j);
                    let depth = at("depth", (ti * s + i) * s + j);
                    // Where the pixels are clearly object or clearly background, every map agrees.
                    if red > 0.95 && green < 0.05 {
                        assert_eq!(seg, 1.0, "seed {seed} t {ti} ({i}, {j}): red pixel, segmentation {seg}");
                    }
                    if (red - 128.0 / 255.0).abs() < 0.01 && (green - 128.0 / 255.0).abs() < 0.01 {
                        assert_eq!(seg, 0.0, "seed {seed} t {ti} ({i}, {j}): grey pixel, segmentation {seg}");
                    }
                    assert_eq!(seg == 1.0, depth > 0.0, "seed {seed}: depth and segmentation disagree");
                    if seg == 1.0 {
                        span_seg = Some(span_seg.map_or((j, j), |(a, b)| (a.min(j), b.max(j))));
                        let f = frame_of_depth(depth);
                        assert_eq!(*frame.get_or_insert(f), f, "one frame per time step");
                        // The blue channel says the same frame as the depth.
                        let blue = clip.data[((2 * t + ti) * s + i) * s + j];
                        if red > 0.95 {
                            assert!(
                                (blue - 20.0 * f as f32 / 255.0).abs() < 0.02,
                                "seed {seed}: blue {blue}, frame {f}"
                            );
                        }
                        let nx = at("normals", (ti * s + i) * s + j);
                        assert_eq!(*normal_x.get_or_insert(nx), nx);
                    }
                }
            }
            let Some((a, b)) = span_seg else { continue };
            // The box covers the segmented columns (to a pixel).
            let slot = &sample.tensors["boxes"].data[ti * 2 * 4..ti * 2 * 4 + 4];
            assert_eq!(
                sample.tensors["boxes_mask"].data[ti * 2],
                1.0,
                "seed {seed}: the object is in view, the box too"
            );
            assert!(
                (slot[0] * s as f32 - a as f32).abs() <= 1.0,
                "seed {seed}: box x1 {} vs columns {a}..{b}",
                slot[0] * s as f32
            );
            assert!(
                (slot[2] * s as f32 - (b + 1) as f32).abs() <= 1.0,
                "seed {seed}: box x2 {} vs columns {a}..{b}",
                slot[2] * s as f32
            );
            // Normals point +x, or −x when the view is mirrored.
            let nx = normal_x.unwrap();
            let flipped = nx < 0.0;
            assert_eq!(nx.abs(), 1.0);
            flips[flipped as usize] += 1;
            // The object moves right as frames go on; mirrored, it moves left.
            let f = frame.unwrap();
            frames.push((f, a, b, flipped));
            // Joints: the same frame, the left shoulder stays on the left after a flip.
            let joint = |k: usize, c: usize| sample.tensors["joints3d"].data[((ti * 2) * 25 + k) * 3 + c];
            assert!((joint(4, 2) - (1.0 + 0.1 * f as f32)).abs() < 1e-5, "seed {seed}: joints show another frame");
            assert_eq!(joint(4, 0), -0.5, "seed {seed}: left shoulder x");
            assert_eq!(joint(8, 0), 0.5, "seed {seed}: right shoulder x");
            assert_eq!(sample.tensors["joints3d_mask"].data[ti * 2..ti * 2 + 2], [1.0, 0.0]);
        }
        // Frames are in time order, τ apart, and the motion direction follows the flip.
        for w in frames.windows(2) {
            let ((f0, a0, b0, flip), (f1, a1, b1, _)) = (w[0], w[1]);
            assert!(f1 >= f0, "seed {seed}: frames out of order {frames:?}");
            let whole = |a: usize, b: usize| a > 0 && b < s - 1;
            if f1 > f0 && whole(a0, b0) && whole(a1, b1) {
                assert_eq!(a1 > a0, !flip, "seed {seed}: motion {frames:?}");
            }
        }
        assert!(sample.label_masks["depth"] && sample.label_masks["joints3d"]);
    }
    assert!(flips[0] > 5 && flips[1] > 5, "both flipped and plain views: {flips:?}");
}

#[test]
fn test_views_are_clips_times_crops_with_the_row_id() {
    let cfg = ClipConfig { augment: false, test_clips: 2, test_crops: 3, ..training() };
    let source = ClipSource::new(render_table(&["a", "b"]), cfg).unwrap();
    assert_eq!(source.len(), 12);
    let views: Vec<Sample> = (0..12).map(|i| source.sample(i, &mut sample_rng(0, 0, 0, i as u64)).unwrap()).collect();
    assert!(views[..6].iter().all(|v| v.id == "a") && views[6..].iter().all(|v| v.id == "b"));
    // Test views do not depend on the RNG.
    assert_eq!(views[0], source.sample(0, &mut sample_rng(9, 9, 9, 9)).unwrap());
    // The two clips are the first and last windows; the three crops differ.
    let first_frame =
        |v: &Sample| frame_of_depth(v.tensors["depth"].data.iter().copied().find(|&d| d > 0.0).unwrap_or(1.0));
    assert_eq!(first_frame(&views[0]), 0);
    assert!(first_frame(&views[3]) > 0, "the second window starts later");
    assert_ne!(views[0].tensors["clip"], views[1].tensors["clip"]);
    assert_ne!(views[1].tensors["clip"], views[2].tensors["clip"]);
}

/// The same clip as JPEG files, as `ingest.video` and `ingest.renders` write them.
fn jpeg_table() -> Arc<Table> {
    let mut list = ListBuilder::new(BinaryBuilder::new());
    for f in 0..F {
        let mut px = Vec::new();
        for y in 0..H {
            for x in 0..W {
                px.extend(if inside(f, x, y) { [250u8, 0, 0] } else { [128, 128, 128] });
            }
        }
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 95).encode(&px, W as u16, H as u16, jpeg_encoder::ColorType::Rgb).unwrap();
        list.values().append_value(&out);
    }
    list.append(true);
    let schema = Arc::new(Schema::new(vec![
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("label", DataType::Int32, false),
        Field::new("frames", DataType::List(Arc::new(Field::new_list_field(DataType::Binary, true))), false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(StringArray::from(vec!["v"])), Arc::new(Int32Array::from(vec![2])), Arc::new(list.finish())],
    )
    .unwrap();
    Arc::new(Table::from_batches(vec![batch], "jpeg-table"))
}

#[test]
fn jpeg_frames_decode_to_the_same_clip_as_raw_ones() {
    let cfg = ClipConfig { augment: false, render_labels: false, ..training() };
    let jpeg = ClipSource::new(jpeg_table(), cfg.clone()).unwrap().sample(0, &mut sample_rng(0, 0, 0, 0)).unwrap();
    assert_eq!(jpeg.label, 2);
    let raw = ClipSource::new(render_table(&["v"]), cfg).unwrap().sample(0, &mut sample_rng(0, 0, 0, 0)).unwrap();
    let (a, b) = (&jpeg.tensors["clip"], &raw.tensors["clip"]);
    assert_eq!(a.shape, b.shape);
    // Red channel only (the raw table's blue carries the frame number).
    let n = a.len() / 3;
    let mean = a.data[..n].iter().zip(&b.data[..n]).map(|(x, y)| (x - y).abs()).sum::<f32>() / n as f32;
    assert!(mean < 0.03, "JPEG and raw frames differ by {mean} on average");
}

#[test]
fn bad_configs_and_columns_are_errors() {
    let table = render_table(&["a"]);
    let e = |cfg: ClipConfig| ClipSource::new(Arc::clone(&table), cfg).err().unwrap().to_string();
    assert!(e(ClipConfig { test_crops: 2, ..training() }).contains("test-crops = 2"));
    assert!(e(ClipConfig { jitter_scales: [16, 64], ..training() }).contains("jitter-scales"));
    assert!(e(ClipConfig { frames_column: Some("pixels".into()), ..training() }).contains("pixels"));
}

#[test]
fn a_label_map_of_the_wrong_shape_is_an_error_not_a_panic() {
    // `normals` holding one value per pixel (the segmentation) instead of three.
    let batch = render_batch(&["odd"]);
    let schema = batch.schema();
    let mut columns = batch.columns().to_vec();
    columns[schema.index_of("normals").unwrap()] = columns[schema.index_of("segmentation").unwrap()].clone();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields[schema.index_of("normals").unwrap()] = tensor_field("normals", DataType::UInt8, 3);
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let source = ClipSource::new(Arc::new(Table::from_batches(vec![batch], "odd-table")), training()).unwrap();
    let e = source.sample(0, &mut sample_rng(0, 0, 0, 0)).unwrap_err().to_string();
    assert!(e.contains("`normals` has shape") && e.contains("odd"), "{e}");
}

#[test]
fn batches_are_identical_for_one_and_two_threads() {
    let source: Arc<dyn SampleSource> =
        Arc::new(ClipSource::new(render_table(&["a", "b", "c", "d", "e"]), training()).unwrap());
    let run = |threads: usize| -> Vec<HostBatch> {
        let cfg = LoaderConfig { batch_size: 2, drop_last: false, shuffle: true, threads, prefetch: 1 };
        Loader::new(Arc::clone(&source), &cfg, LoaderState::new(7, 1)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    let one = run(1);
    assert_eq!(one.len(), 3);
    assert_eq!(one[0].tensors["clip"].shape, [2, 3, 4, 32, 32]);
    assert_eq!(one, run(2));
}
