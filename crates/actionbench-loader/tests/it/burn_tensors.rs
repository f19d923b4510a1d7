//! HostBatch -> Burn tensors.

use std::sync::Arc;

use actionbench_loader::{HostBatch, HostTensor, Loader, LoaderConfig, LoaderState, SkeletonConfig, SkeletonSource};
use burn::backend::NdArray;
use burn::tensor::Tensor;

use crate::common::ntu_table;

type B = NdArray;

#[test]
fn batches_become_burn_tensors_with_their_shapes_and_values() {
    let device = Default::default();
    let source = SkeletonSource::new(ntu_table(9), SkeletonConfig { frames: 10, ..Default::default() }).unwrap();
    let cfg = LoaderConfig { batch_size: 4, prefetch: 0, ..Default::default() };
    let batch = Loader::new(Arc::new(source), &cfg, LoaderState::new(0, 0)).unwrap().next().unwrap().unwrap();
    let joints: Tensor<B, 5> = batch.tensor("joints", &device).unwrap();
    assert_eq!(joints.dims(), [4, 3, 10, 25, 2]);
    let host = &batch.tensors["joints"];
    assert_eq!(joints.into_data().to_vec::<f32>().unwrap(), host.data);
    let labels = batch.labels_tensor::<B>(&device);
    assert_eq!(labels.into_data().to_vec::<i64>().unwrap(), batch.labels);
    let mask = batch.mask_tensor::<B>("action", &device);
    assert_eq!(mask.into_data().to_vec::<f32>().unwrap(), vec![1.0; 4]);

    let e = batch.tensor::<B, 3>("joints", &device).err().unwrap().to_string();
    assert!(e.contains("5 dimensions") && e.contains('3'), "{e}");
    let e = batch.tensor::<B, 2>("pose", &device).err().unwrap().to_string();
    assert!(e.contains("pose") && e.contains("body_mask"), "{e}");
}

#[test]
fn multi_labels_and_masks_convert() {
    let device = Default::default();
    let mut batch = HostBatch {
        sample_ids: vec!["a".into(), "b".into()],
        labels: vec![-1, -1],
        multi_labels: Some(HostTensor::new(vec![2, 3], vec![1.0, 0.0, 1.0, 0.0, 1.0, 0.0]).unwrap()),
        ..Default::default()
    };
    batch.label_masks.insert("action".into(), vec![false, true]);
    let m: Tensor<B, 2> = batch.multi_labels_tensor(&device).unwrap().unwrap();
    assert_eq!(m.dims(), [2, 3]);
    assert_eq!(batch.mask_tensor::<B>("action", &device).into_data().to_vec::<f32>().unwrap(), vec![0.0, 1.0]);
    assert!(HostTensor::new(vec![2, 2], vec![0.0; 3]).is_err());
}
