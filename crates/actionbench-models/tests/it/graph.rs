use actionbench_models::{Graph, Layout};

#[test]
fn ntu_graph_is_a_connected_tree_centred_on_the_spine() {
    let g = Graph::new(Layout::NtuRgbd);
    assert_eq!((g.num_nodes, g.edges.len(), g.center), (25, 24, 20));
    let hop = g.hop_distances();
    assert!(hop.iter().flatten().all(|&d| d < 25), "every joint reaches every other");
    assert_eq!(hop[21][7], 2, "left hand tip (22) -> joint 23 -> left hand (8)");
    assert_eq!(hop[20][3], 2, "spine-shoulder (21) -> neck (3) -> head (4)");
}

#[test]
fn spatial_partitions_split_neighbours_by_distance_to_the_centre() {
    let g = Graph::new(Layout::NtuRgbd);
    let n = g.num_nodes;
    let a = g.spatial_partitions();
    let at = |k: usize, j: usize, i: usize| a[k * n * n + j * n + i];
    // Joint 2 (index 1, spine middle): self, joint 21 (closer to the centre)
    // and joint 1 (farther), each weighted by 1/degree = 1/3.
    assert!((at(0, 1, 1) - 1.0 / 3.0).abs() < 1e-6);
    assert!((at(1, 20, 1) - 1.0 / 3.0).abs() < 1e-6, "centripetal neighbour");
    assert!((at(2, 0, 1) - 1.0 / 3.0).abs() < 1e-6, "centrifugal neighbour");
    assert_eq!(at(1, 0, 1), 0.0);
    // The centre itself has no centripetal neighbour; its 4 neighbours are centrifugal.
    assert!((0..n).all(|j| at(1, j, 20) == 0.0));
    assert_eq!((0..n).filter(|&j| at(2, j, 20) > 0.0).count(), 4);
    // Every column sums to 1 over partitions (degree normalisation).
    for i in 0..n {
        let s: f32 = (0..3).flat_map(|k| (0..n).map(move |j| (k, j))).map(|(k, j)| at(k, j, i)).sum();
        assert!((s - 1.0).abs() < 1e-5, "column {i} sums to {s}");
    }
}

#[test]
fn the_other_layouts_are_trees_and_padding_isolates_the_extra_joints() {
    for (layout, nodes, center) in [(Layout::Openpose18, 18, 1), (Layout::H36m17, 17, 0)] {
        let g = Graph::new(layout);
        assert_eq!((g.num_nodes, g.edges.len(), g.center), (nodes, nodes - 1, center));
        assert!(g.hop_distances().iter().flatten().all(|&d| d < nodes), "{layout:?} is connected");
        let own = g.spatial_partitions();
        let padded = g.padded_partitions(25);
        assert_eq!(padded.len(), 3 * 25 * 25);
        let at = |a: &[f32], v: usize, k: usize, j: usize, i: usize| a[k * v * v + j * v + i];
        for k in 0..3 {
            for j in 0..25 {
                for i in 0..25 {
                    let want = match (j < nodes, i < nodes) {
                        (true, true) => at(&own, nodes, k, j, i),
                        // A padded joint keeps its own value only.
                        _ if k == 0 && i == j => 1.0,
                        _ => 0.0,
                    };
                    assert_eq!(at(&padded, 25, k, j, i), want, "{layout:?} partition {k} ({j} -> {i})");
                }
            }
        }
    }
    // Human3.6M: the thorax (8) holds the neck and both shoulders.
    let h36m = Graph::new(Layout::H36m17);
    for child in [9, 11, 14] {
        assert!(h36m.edges.contains(&(child, 8)), "{child} hangs from the thorax");
    }
}
