//! NTU RGB+D: `.skeleton` grammar and errors, sample names, the real
//! missing-sample lists, and the official split rules.
//!
//! The split rules are checked on generated sample names. The official
//! counts after dropping missing samples (NTU60 X-Sub 40,091 / 16,487,
//! X-View 37,646 / 18,932; NTU120 X-Sub 63,026 / 50,919, X-Set 54,468 /
//! 59,477) need the real file list, which cannot be downloaded here; the
//! tests pin the rules those counts come from instead (subject lists,
//! cameras, setup parity) and their sizes on the full name grid.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use actionbench_formats::ntu::{
    NTU60_XSUB_TRAIN_SUBJECTS, NTU120_XSUB_TRAIN_SUBJECTS, NtuBenchmark, NtuDataset, NtuSampleName, ntu60_xsub_split,
    ntu60_xview_split, ntu120_xset_split, ntu120_xsub_split, parse_ntu_missing_list, parse_ntu_skeleton,
    read_ntu_missing_list,
};

use crate::support::real_fixture;

/// A joint line with recognisable values.
fn joint(b: usize, j: usize) -> String {
    format!(
        "{} {} {} 250.5 200.25 1000.5 500.75 0.5 -0.5 0.25 -0.25 2",
        b as f32 + j as f32 / 100.0,
        -(j as f32) / 10.0,
        3.0 + j as f32 / 1000.0
    )
}

/// A `.skeleton` text: `bodies[f]` bodies in frame f, body ids from `ids`.
pub(crate) fn skeleton_text(bodies: &[usize], ids: &[u64], eol: &str) -> String {
    let mut s = format!("{}{eol}", bodies.len());
    for &n in bodies {
        write!(s, "{n}{eol}").unwrap();
        for (b, id) in ids.iter().enumerate().take(n) {
            write!(s, "{id} 0 1 2 1 3 0 0.125 -0.0625 2{eol}25{eol}").unwrap();
            for j in 0..25 {
                write!(s, "{}{eol}", joint(b, j)).unwrap();
            }
        }
    }
    s
}

const BIG_ID: u64 = 72057594037931101;

#[test]
fn parses_bodies_joints_zero_body_frames_and_crlf() {
    let p = Path::new("S001C001P001R001A001.skeleton");
    let lf = skeleton_text(&[1, 0, 3], &[BIG_ID, 2, u64::MAX], "\n");
    let crlf = skeleton_text(&[1, 0, 3], &[BIG_ID, 2, u64::MAX], "\r\n");
    let a = parse_ntu_skeleton(lf.as_bytes(), p).unwrap();
    let b = parse_ntu_skeleton(crlf.as_bytes(), p).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.frames.len(), 3);
    assert_eq!(a.frames[1].bodies.len(), 0);
    assert_eq!(a.max_bodies(), 3);
    let body = &a.frames[0].bodies[0];
    assert_eq!(body.body_id, BIG_ID);
    assert_eq!(a.frames[2].bodies[2].body_id, u64::MAX);
    assert_eq!(
        (body.clipped_edges, body.hand_left_confidence, body.hand_left_state, body.hand_right_confidence),
        (0, 1, 2, 1)
    );
    assert_eq!(
        (body.hand_right_state, body.is_restricted, body.lean, body.tracking_state),
        (3, 0, [0.125, -0.0625], 2)
    );
    let j = a.frames[2].bodies[1].joints[24];
    assert_eq!(j.position, [1.24, -2.4, 3.024]);
    assert_eq!(
        (j.depth, j.color, j.orientation, j.tracking_state),
        ([250.5, 200.25], [1000.5, 500.75], [0.5, -0.5, 0.25, -0.25], 2)
    );
    // Extra whitespace and trailing blank lines are fine.
    let spaced = lf.replace(' ', " \t ") + "\n\n";
    assert_eq!(parse_ntu_skeleton(spaced.as_bytes(), p).unwrap(), a);
    // Zero frames.
    assert!(parse_ntu_skeleton(b"0\n", p).unwrap().frames.is_empty());
}

fn err(text: &str) -> String {
    parse_ntu_skeleton(text.as_bytes(), Path::new("x.skeleton")).unwrap_err().to_string()
}

#[test]
fn errors_name_the_line() {
    let good = skeleton_text(&[1, 2], &[5, 6], "\n");
    let lines: Vec<&str> = good.lines().collect();
    assert_eq!(err(""), "`x.skeleton` line 1: the file is empty: expected the frame count");
    // Truncated in the middle of a body.
    let cut = lines[..20].join("\n");
    assert!(
        err(&cut).starts_with("`x.skeleton` line 21: unexpected end of file: expected joint 17 of body 1 in frame 1"),
        "{}",
        err(&cut)
    );
    // A joint line with 11 fields.
    let mut bad = lines.clone();
    bad[5] = "1 2 3 4 5 6 7 8 9 10 11";
    assert_eq!(
        err(&bad.join("\n")),
        "`x.skeleton` line 6: expected joint 2 of body 1 in frame 1: the joint line (12 fields), found 11 fields"
    );
    // A body line with 9 fields.
    let mut bad = lines.clone();
    bad[2] = "5 0 1 2 1 3 0 0.125 -0.0625";
    assert!(
        err(&bad.join("\n"))
            .starts_with("`x.skeleton` line 3: expected body 1 of frame 1: the body line (10 fields), found 9")
    );
    // Non-numeric fields.
    let mut bad = lines.clone();
    let replaced = lines[10].replacen("250.5", "abc", 1);
    bad[10] = &replaced;
    assert_eq!(err(&bad.join("\n")), "`x.skeleton` line 11: field 4 (depthX): `abc` is not a number");
    let mut bad = lines.clone();
    bad[2] = "-5 0 1 2 1 3 0 0.125 -0.0625 2";
    assert_eq!(err(&bad.join("\n")), "`x.skeleton` line 3: field 1 (bodyID): `-5` is not an unsigned 64-bit integer");
    // A wrong joint count.
    let mut bad = lines.clone();
    bad[3] = "24";
    assert_eq!(err(&bad.join("\n")), "`x.skeleton` line 4: expected 25 joints (Kinect v2), found a joint count of 24");
    // A frame count that is too small leaves content behind.
    let mut bad = lines.clone();
    bad[0] = "1";
    assert_eq!(err(&bad.join("\n")), "`x.skeleton` line 30: unexpected content after the last of 1 frames");
    // One that is too large runs out of data.
    let mut bad = lines.clone();
    bad[0] = "3";
    assert!(err(&bad.join("\n")).contains("expected the body count of frame 3 of 3"));
    assert!(err("abc").contains("line 1: field 1 (frameCount): `abc` is not a non-negative integer"));
}

#[test]
fn missing_lists_in_both_layouts() {
    let ntu60 =
        read_ntu_missing_list(&real_fixture("ntu/mmaction2/NTU_RGBD_samples_with_missing_skeletons.txt")).unwrap();
    let ntu120 =
        read_ntu_missing_list(&real_fixture("ntu/mmaction2/NTU_RGBD120_samples_with_missing_skeletons.txt")).unwrap();
    assert_eq!((ntu60.len(), ntu120.len()), (302, 535));
    assert!(ntu60.iter().all(|s| NtuDataset::Ntu60.contains(s)));
    assert!(ntu120.iter().all(|s| NtuDataset::Ntu120.contains(s)));
    assert_eq!(ntu60.iter().collect::<BTreeSet<_>>().len(), 302);
    // The official NTURGB-D copy starts with two prose lines and a blank line.
    let text =
        std::fs::read_to_string(real_fixture("ntu/mmaction2/NTU_RGBD_samples_with_missing_skeletons.txt")).unwrap();
    let official = format!(
        "The following list contains the samples with missing skeletons.\r\nPlease exclude them from the experiments.\r\n\r\n{}",
        text.replace('\n', "\r\n")
    );
    assert_eq!(parse_ntu_missing_list(&official), ntu60);
}

fn grid(dataset: NtuDataset) -> Vec<NtuSampleName> {
    let (setups, subjects, actions) = match dataset {
        NtuDataset::Ntu60 => (17, 40, 60),
        NtuDataset::Ntu120 => (32, 106, 120),
    };
    let mut out = Vec::new();
    for setup in 1..=setups {
        for camera in 1..=3 {
            for subject in 1..=subjects {
                for action in 1..=actions {
                    out.push(NtuSampleName { setup, camera, subject, replication: 1, action });
                }
            }
        }
    }
    out
}

fn counts(names: &[NtuSampleName], rule: fn(&NtuSampleName) -> &'static str) -> (usize, usize) {
    let train = names.iter().filter(|n| rule(n) == "train").count();
    (train, names.len() - train)
}

#[test]
fn official_split_rules() {
    let name = |s: &str| NtuSampleName::parse(s).unwrap();
    // Known memberships.
    assert_eq!(ntu60_xsub_split(&name("S001C001P001R001A001")), "train");
    assert_eq!(ntu60_xsub_split(&name("S001C001P003R001A001")), "val");
    assert_eq!(ntu60_xsub_split(&name("S017C003P038R002A060")), "train");
    assert_eq!(ntu60_xsub_split(&name("S017C003P040R002A060")), "val");
    assert_eq!(ntu60_xview_split(&name("S001C001P001R001A001")), "val");
    assert_eq!(ntu60_xview_split(&name("S001C002P001R001A001")), "train");
    assert_eq!(ntu60_xview_split(&name("S001C003P001R001A001")), "train");
    assert_eq!(ntu120_xsub_split(&name("S018C001P045R001A061")), "train");
    assert_eq!(ntu120_xsub_split(&name("S018C001P044R001A061")), "val");
    assert_eq!(ntu120_xsub_split(&name("S032C001P103R001A120")), "train");
    assert_eq!(ntu120_xsub_split(&name("S032C001P106R001A120")), "val");
    assert_eq!(ntu120_xset_split(&name("S002C001P001R001A001")), "train");
    assert_eq!(ntu120_xset_split(&name("S001C001P001R001A001")), "val");
    assert_eq!(ntu120_xset_split(&name("S032C001P001R001A001")), "train");

    // Sizes of the subject lists, and NTU120's training subjects extend NTU60's.
    assert_eq!(NTU60_XSUB_TRAIN_SUBJECTS.len(), 20);
    assert_eq!(NTU120_XSUB_TRAIN_SUBJECTS.len(), 53);
    assert_eq!(NTU120_XSUB_TRAIN_SUBJECTS[..20], NTU60_XSUB_TRAIN_SUBJECTS);
    assert!(NTU120_XSUB_TRAIN_SUBJECTS.windows(2).all(|w| w[0] < w[1]));

    // On the full name grid: 20 of 40 subjects, 2 of 3 cameras, 53 of 106
    // subjects, 16 of 32 setups train.
    let g60 = grid(NtuDataset::Ntu60);
    let per_subject = g60.len() / 40;
    assert_eq!(counts(&g60, ntu60_xsub_split), (20 * per_subject, 20 * per_subject));
    assert_eq!(counts(&g60, ntu60_xview_split), (g60.len() / 3 * 2, g60.len() / 3));
    let g120 = grid(NtuDataset::Ntu120);
    let per_subject = g120.len() / 106;
    assert_eq!(counts(&g120, ntu120_xsub_split), (53 * per_subject, 53 * per_subject));
    assert_eq!(counts(&g120, ntu120_xset_split), (g120.len() / 2, g120.len() / 2));
    // Enum and functions agree.
    for n in g60.iter().step_by(97) {
        assert_eq!(NtuBenchmark::Ntu60XSub.split(n), ntu60_xsub_split(n));
        assert_eq!(NtuBenchmark::Ntu60XView.split(n), ntu60_xview_split(n));
    }
    assert_eq!(NtuDataset::Ntu120.benchmarks().map(NtuBenchmark::name), ["xsub", "xset"]);
    assert!(!NtuDataset::Ntu60.contains(&name("S018C001P045R001A061")));
    assert!(!NtuDataset::Ntu60.contains(&name("S001C001P001R001A061")));
}

#[test]
fn missing_samples_and_splits_on_the_real_lists() {
    // Every listed NTU60 sample is in the NTU120 list too (NTU120 contains NTU60).
    let ntu60 =
        read_ntu_missing_list(&real_fixture("ntu/mmaction2/NTU_RGBD_samples_with_missing_skeletons.txt")).unwrap();
    let ntu120: BTreeSet<_> =
        read_ntu_missing_list(&real_fixture("ntu/mmaction2/NTU_RGBD120_samples_with_missing_skeletons.txt"))
            .unwrap()
            .into_iter()
            .collect();
    let contained = ntu60.iter().filter(|s| ntu120.contains(s)).count();
    assert_eq!(contained, ntu60.len());
}
