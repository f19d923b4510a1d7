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
