use actionbench_leaderboard::report::{Plot, bar_labels, draw, write_report};
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
        value: Some(81.23),
        std: Some(1.0),
        unit: "pt".into(),
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
    assert!(html.contains("<td>ntu60-xsub</td>") && html.contains("81.23 ± 1.00 pt"), "{html}");
    assert!(html.contains("synthetic &lt;NTU&gt;"), "escaped");
    for i in 0..3 {
        let png = dir.path().join(format!("plots/plot-{i:02}.png"));
        assert!(distinct_colours(&png) > 10, "plot {i} has content");
    }
}

/// Runs Debian's Chromium headless with the flags this sandbox needs
/// (no sandbox as root, no background networking on a closed network).
fn chromium(args: &[&str], profile: &std::path::Path) -> std::process::Output {
    let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("Chromium is not installed: scripts/test installs Debian's `chromium` package");
    let mut cmd = std::process::Command::new(binary);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.display()));
    cmd.args(args).output().expect("run chromium")
}

#[test]
fn the_page_renders_in_headless_chromium_with_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Row> = ["reproduced-row", "claimed-row"]
        .iter()
        .zip([RowState::Reproduced, RowState::Claimed])
        .map(|(name, state)| Row {
            benchmark: name.to_string(),
            dataset: "AVA".into(),
            split: "val".into(),
            model: "LART".into(),
            metric: "mAP".into(),
            value: Some(0.4251),
            std: None,
            unit: String::new(),
            state,
            protocol: "ava-version=2.2".into(),
            source: "tier 0".into(),
        })
        .collect();
    let plots = vec![Plot::Bars { title: "per-class AP".into(), y_label: "AP".into(), bars: ava_bars() }];
    let page = write_report(&dir.path().join("report"), "Leaderboard", &rows, &plots).unwrap();
    let url = format!("file://{}", page.display());
    let dom = chromium(&["--dump-dom", &url], &dir.path().join("profile-dom"));
    let html = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.status.success(), "chromium --dump-dom failed: {}", String::from_utf8_lossy(&dom.stderr));
    assert_eq!(html.matches("<tr class=").count(), 2, "{html}");
    assert!(html.contains("reproduced-row") && html.contains("claimed-row"), "{html}");
    let shot = dir.path().join("shot.png");
    let out = chromium(
        &[&format!("--screenshot={}", shot.display()), "--window-size=1200,900", &url],
        &dir.path().join("profile-shot"),
    );
    assert!(shot.exists(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
    // A blank page is one colour; the table, its badges and the plot are many.
    assert!(distinct_colours(&shot) > 50, "the screenshot looks blank");
    // The plot the page shows has one separate label per bar.
    assert_eq!(label_runs(&dir.path().join("report/plots/plot-00.png")), ava_bars().len());
}

/// The 18 classes of the demo's `ava-lart` benchmark, whose names ran into
/// each other under the per-class AP plot.
fn ava_bars() -> Vec<(String, f64)> {
    [
        "bend/bow (at the waist)",
        "crouch/kneel",
        "dance",
        "fall down",
        "get up",
        "jump/leap",
        "lie/sleep",
        "martial art",
        "run/jog",
        "sit",
        "stand",
        "walk",
        "hand clap",
        "hand shake",
        "hand wave",
        "push (another person)",
        "watch (a person)",
        "talk to (e.g., self, a person, a group)",
    ]
    .iter()
    .enumerate()
    .map(|(i, n)| (n.to_string(), 0.05 * i as f64))
    .collect()
}

/// Decodes a PNG: width, height, and whether each pixel is near white.
fn light_pixels(path: &std::path::Path) -> (usize, usize, Vec<bool>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let light = buf[..info.buffer_size()].chunks(px).map(|p| p[..3].iter().all(|&c| c > 200)).collect();
    (info.width as usize, info.height as usize, light)
}

/// Counts the label blocks under a bar plot's x axis: runs of columns with
/// ink in the label band, runs closer than 6 px (a space in a label) taken
/// as one. Labels that overlap or touch merge, so the count falls short.
fn label_runs(path: &std::path::Path) -> usize {
    let (w, h, light) = light_pixels(path);
    // The x axis: the lowest row that is dark across most of the plot.
    let axis = (0..h).rev().find(|&y| (0..w).filter(|&x| !light[y * w + x]).count() > w / 2).expect("an x axis");
    // Only under the axis itself (not the y axis' tick labels to its left).
    let dark = |x: usize| !light[axis * w + x];
    let (x0, x1) = ((0..w).find(|&x| dark(x)).unwrap(), (0..w).rev().find(|&x| dark(x)).unwrap());
    let inked: Vec<bool> = (x0 + 2..x1).map(|x| (axis + 3..h).any(|y| !light[y * w + x])).collect();
    let mut runs = 0;
    let mut gap = usize::MAX;
    for ink in inked {
        if ink {
            if gap >= 6 {
                runs += 1;
            }
            gap = 0;
        } else {
            gap = gap.saturating_add(1);
        }
    }
    runs
}

#[test]
fn bar_labels_never_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let short: Vec<(String, f64)> = ["sit", "stand", "walk", "run"].iter().map(|n| (n.to_string(), 0.4)).collect();
    let many: Vec<(String, f64)> = (0..80).map(|i| (format!("class {i}"), 0.01 * i as f64)).collect();
    let long = vec![("a label far longer than any plot could show on one line, cut".to_string(), 0.5); 3];
    for (name, bars) in [("ava", ava_bars()), ("short", short), ("many", many), ("long", long)] {
        let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
        let layout = bar_labels(&labels).unwrap();
        let path = dir.path().join(format!("{name}.png"));
        let size = draw(&Plot::Bars { title: name.into(), y_label: "AP".into(), bars: bars.clone() }, &path).unwrap();
        assert_eq!(size, layout.size);
        assert_eq!(label_runs(&path), labels.len(), "{name}: labels overlap (layout {layout:?})");
        match name {
            "short" => assert!(!layout.rotated, "short labels stay horizontal"),
            "long" => assert!(layout.text.iter().all(|t| t.ends_with('…')), "{:?}", layout.text),
            _ => assert!(layout.rotated, "{name}: long or many labels are turned"),
        }
    }
}
