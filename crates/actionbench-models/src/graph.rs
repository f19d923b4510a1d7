//! Skeleton graphs and ST-GCN's spatial-configuration partitioning.
//!
//! Hand-written (a few dozen lines of graph arithmetic) because no
//! maintained Rust crate builds ST-GCN adjacency tensors.

use serde::{Deserialize, Serialize};

/// Which skeleton a graph describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// Kinect v2, 25 joints, as in NTU RGB+D (centre: spine, joint 21).
    NtuRgbd,
    /// OpenPose COCO-18, as in Kinetics-skeleton (centre: neck, joint 1).
    Openpose18,
    /// Human3.6M's 17 joints as VideoPose3D keeps them (centre: pelvis, joint 0).
    H36m17,
}

/// An undirected skeleton graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// Number of joints.
    pub num_nodes: usize,
    /// Bones as 0-based joint pairs.
    pub edges: Vec<(usize, usize)>,
    /// The joint the spatial partitioning measures distances from.
    pub center: usize,
}

/// NTU RGB+D bones, 1-based as in the dataset's documentation.
const NTU_EDGES: [(usize, usize); 24] = [
    (1, 2),
    (2, 21),
    (3, 21),
    (4, 3),
    (5, 21),
    (6, 5),
    (7, 6),
    (8, 7),
    (9, 21),
    (10, 9),
    (11, 10),
    (12, 11),
    (13, 1),
    (14, 13),
    (15, 14),
    (16, 15),
    (17, 1),
    (18, 17),
    (19, 18),
    (20, 19),
    (22, 23),
    (23, 8),
    (24, 25),
    (25, 12),
];

/// OpenPose COCO-18 bones, 0-based (ST-GCN's Kinetics graph).
const OPENPOSE18_EDGES: [(usize, usize); 17] = [
    (4, 3),
    (3, 2),
    (7, 6),
    (6, 5),
    (13, 12),
    (12, 11),
    (10, 9),
    (9, 8),
    (11, 5),
    (8, 2),
    (5, 1),
    (2, 1),
    (0, 1),
    (15, 0),
    (14, 0),
    (17, 15),
    (16, 14),
];

/// Parent of every Human3.6M-17 joint (VideoPose3D's skeleton after it drops
/// 15 of the 32 mocap joints; the root has none).
pub const H36M17_PARENTS: [Option<usize>; 17] = [
    None,
    Some(0),
    Some(1),
    Some(2),
    Some(0),
    Some(4),
    Some(5),
    Some(0),
    Some(7),
    Some(8),
    Some(9),
    Some(8),
    Some(11),
    Some(12),
    Some(8),
    Some(14),
    Some(15),
];

impl Graph {
    /// The graph of a layout.
    pub fn new(layout: Layout) -> Self {
        match layout {
            Layout::NtuRgbd => {
                Graph { num_nodes: 25, edges: NTU_EDGES.iter().map(|&(a, b)| (a - 1, b - 1)).collect(), center: 20 }
            }
            Layout::Openpose18 => Graph { num_nodes: 18, edges: OPENPOSE18_EDGES.to_vec(), center: 1 },
            Layout::H36m17 => Graph {
                num_nodes: 17,
                edges: H36M17_PARENTS.iter().enumerate().filter_map(|(j, p)| p.map(|p| (j, p))).collect(),
                center: 0,
            },
        }
    }

    /// [`Graph::spatial_partitions`] of this graph inside a `[3, V, V]`
    /// buffer with `V = joints >= num_nodes`: the extra joints (padding)
    /// keep only their self loop, so they never mix into real joints.
    pub fn padded_partitions(&self, joints: usize) -> Vec<f32> {
        assert!(joints >= self.num_nodes, "cannot pad {} joints into {joints}", self.num_nodes);
        let (n, v) = (self.num_nodes, joints);
        let own = self.spatial_partitions();
        let mut out = vec![0f32; 3 * v * v];
        for k in 0..3 {
            for j in 0..n {
                for i in 0..n {
                    out[k * v * v + j * v + i] = own[k * n * n + j * n + i];
                }
            }
        }
        for p in n..v {
            out[p * v + p] = 1.0;
        }
        out
    }

    /// Hop distance between every pair of joints (`usize::MAX` when
    /// unreachable), by breadth-first search from each joint.
    pub fn hop_distances(&self) -> Vec<Vec<usize>> {
        let n = self.num_nodes;
        let mut neighbours = vec![Vec::new(); n];
        for &(a, b) in &self.edges {
            neighbours[a].push(b);
            neighbours[b].push(a);
        }
        (0..n)
            .map(|start| {
                let mut dist = vec![usize::MAX; n];
                dist[start] = 0;
                let mut queue = std::collections::VecDeque::from([start]);
                while let Some(u) = queue.pop_front() {
                    for &v in &neighbours[u] {
                        if dist[v] == usize::MAX {
                            dist[v] = dist[u] + 1;
                            queue.push_back(v);
                        }
                    }
                }
                dist
            })
            .collect()
    }

    /// ST-GCN's spatial-configuration partitioning (Yan et al. 2018) with
    /// max distance 1: three `[V, V]` matrices, flattened row-major into one
    /// `[3, V, V]` buffer. Entry `[k, j, i]` weighs joint `j`'s features in
    /// joint `i`'s output. Partition 0 is the root (self loop), 1 the
    /// neighbours at least as close to the centre as `i` (centripetal, plus
    /// the self loop's equal-distance case), 2 the neighbours farther away
    /// (centrifugal). Columns are normalised by the degree of the
    /// 1-neighbourhood, as in the reference implementation.
    pub fn spatial_partitions(&self) -> Vec<f32> {
        let n = self.num_nodes;
        let hop = self.hop_distances();
        // Column-normalised adjacency with self loops.
        let mut degree = vec![0f32; n];
        for (i, d) in degree.iter_mut().enumerate() {
            *d = (0..n).filter(|&j| hop[j][i] <= 1).count() as f32;
        }
        let norm = |j: usize, i: usize| if hop[j][i] <= 1 { 1.0 / degree[i] } else { 0.0 };
        let mut out = vec![0f32; 3 * n * n];
        let center = &hop[self.center];
        for j in 0..n {
            for i in 0..n {
                let idx = |k: usize| k * n * n + j * n + i;
                match hop[j][i] {
                    0 => out[idx(0)] = norm(j, i),
                    1 => {
                        if center[j] <= center[i] {
                            out[idx(1)] = norm(j, i);
                        } else {
                            out[idx(2)] = norm(j, i);
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }
}
