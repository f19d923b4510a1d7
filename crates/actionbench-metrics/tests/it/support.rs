//! Shared helpers: locating the real fixtures and a minimal AVA CSV parser
//! (independent of actionbench-formats, so these tests check the metric alone).

use std::path::PathBuf;

use actionbench_metrics::ava::{AvaAnnotation, AvaBox, AvaProtocol, AvaRow, FrameKey};

/// A file under the repository's `fixtures/real/` (provenance in its
/// `SOURCES.md`).
pub(crate) fn real_fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/real").join(relative)
}

fn key(protocol: AvaProtocol, video: &str, ts: &str) -> FrameKey {
    match protocol {
        AvaProtocol::V2019 => FrameKey::from_seconds(video, ts.trim().parse().unwrap()),
        AvaProtocol::V2020 => FrameKey::from_decimal_seconds(video, ts.trim().parse().unwrap()),
    }
}

/// Parses AVA CSV text (2, 7 or 8 columns, no quoting) into rows.
pub(crate) fn ava_rows(text: &str, protocol: AvaProtocol) -> Vec<AvaRow> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let frame = key(protocol, f[0], f[1]);
            let annotation = (f.len() > 2).then(|| {
                let n = |i: usize| f[i].trim().parse::<f64>().unwrap();
                AvaAnnotation {
                    bbox: AvaBox { x1: n(2), y1: n(3), x2: n(4), y2: n(5) },
                    action_id: f[6].trim().parse().unwrap(),
                    score: if f.len() == 8 { n(7) } else { 1.0 },
                }
            });
            AvaRow { frame, annotation }
        })
        .collect()
}

/// Frame keys of an exclusions CSV.
pub(crate) fn ava_keys(text: &str, protocol: AvaProtocol) -> Vec<FrameKey> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            key(protocol, f[0], f[1])
        })
        .collect()
}
