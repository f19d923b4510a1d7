use actionbench_leaderboard::report::{Plot, write_report};
use actionbench_leaderboard::{Row, RowState};

/// Decodes a PNG and counts its distinct colours.
pub(crate) fn distinct_colours(path: &std::path::Path) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let mut seen = std::collections::BTreeSet::new();
    for p in buf[..info.buffer_size()].chunks(px) {
        seen.insert(p.to_vec());
    }
    seen.len()
}

#[test]
fn writes_a_page_with_rows_and_non_blank_plots() {
    let dir = tempfile::tempdir().unwrap();
    let row = Row {
        benchmark: "ntu60-xsub".into(),
        dataset: "synthetic <NTU>".into(),
        split: "x-sub val".into(),
        model: "ST-GCN".into(),
        metric: "top1".into(),
        value: Some(0.8123),
        std: Some(0.01),
        unit: String::new(),
        state: RowState::Reproduced,
        protocol: "evaluation=top-1".into(),
        source: "tier 2".into(),
    };
    let plots = vec![
        Plot::Curves {
            title: "training loss".into(),
            y_label: "loss".into(),
            series: vec![("seed 0".into(), (0..50).map(|i| (i as f64, 2.0 / (1.0 + i as f64))).collect())],
        },
        Plot::Bars {
            title: "per-class AP".into(),
            y_label: "AP".into(),
            bars: vec![("wave".into(), 0.5), ("clap".into(), 0.8)],
        },
        Plot::Seeds {
            title: "top1 per seed".into(),
            values: vec![(0, 0.80), (1, 0.82), (2, 0.81)],
            expected: 0.8,
            band: 0.02,
        },
    ];
    let page = write_report(dir.path(), "Leaderboard", &[row], &plots).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<td>ntu60-xsub</td>") && html.contains("0.8123 ± 0.0100"), "{html}");
    assert!(html.contains("synthetic &lt;NTU&gt;"), "escaped");
    for i in 0..3 {
        let png = dir.path().join(format!("plots/plot-{i:02}.png"));
        assert!(distinct_colours(&png) > 10, "plot {i} has content");
    }
}
