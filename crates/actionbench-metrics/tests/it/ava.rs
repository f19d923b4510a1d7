//! AVA frame-mAP against the official ActivityNet evaluator.

use std::collections::HashMap;

use actionbench_metrics::Error;
use actionbench_metrics::ava::{AvaClass, AvaProtocol, AvaReport, evaluate_ava};

use crate::support::{ava_keys, ava_rows, real_fixture};

const BOTH: [AvaProtocol; 2] = [AvaProtocol::V2019, AvaProtocol::V2020];

/// The `item { name id }` map of the mmaction2 fixture (action1..action3).
fn three_classes() -> Vec<AvaClass> {
    (1..=3).map(|id| AvaClass { id, name: format!("action{id}") }).collect()
}

fn ap(report: &AvaReport, id: i64) -> Option<f64> {
    report.per_class.iter().find(|c| c.id == id).unwrap().average_precision
}

fn eval(protocol: AvaProtocol, gt: &str, det: &str) -> AvaReport {
    evaluate_ava(protocol, &three_classes(), &ava_rows(gt, protocol), &ava_rows(det, protocol), &[]).unwrap()
}

#[test]
fn real_fixture_matches_the_published_map_in_both_revisions() {
    let dir = real_fixture("ava/mmaction2_eval_detection");
    let gt = std::fs::read_to_string(dir.join("gt.csv")).unwrap();
    let pred = std::fs::read_to_string(dir.join("pred.csv")).unwrap();
    for protocol in BOTH {
        let r = eval(protocol, &gt, &pred);
        assert!((r.mean_ap.unwrap() - 0.09385522).abs() < 5e-9, "{protocol}");
        // Values printed by the official evaluator (both revisions).
        assert_eq!(r.mean_ap, Some(0.09385521885521886));
        assert_eq!(ap(&r, 1), Some(0.17045454545454547));
        assert_eq!(ap(&r, 2), Some(0.0));
        assert_eq!(ap(&r, 3), Some(0.1111111111111111));
        let positives: Vec<usize> = r.per_class.iter().map(|c| c.positives).collect();
        assert_eq!(positives, vec![4, 3, 5]); // rows per action in gt.csv
    }
}

const CASE_GT: &str = "vid_a,902,0.1,0.1,0.5,0.5,1,0\n";

#[test]
fn case_a_detection_on_a_frame_absent_from_ground_truth() {
    // formats.md §4.3 case A: official 2019 = 0.5 (a false positive),
    // official 2020 = 1.0 (ignored).
    let det = "vid_a,902,0.1,0.1,0.5,0.5,1,0.5\nvid_a,903,0.1,0.1,0.5,0.5,1,0.9\n";
    let r2019 = eval(AvaProtocol::V2019, CASE_GT, det);
    let r2020 = eval(AvaProtocol::V2020, CASE_GT, det);
    assert_eq!(r2019.mean_ap, Some(0.5));
    assert_eq!(r2020.mean_ap, Some(1.0));
    // Classes 2 and 3 have no ground truth: null, left out of the mean.
    assert_eq!(ap(&r2019, 2), None);
    assert_eq!(ap(&r2019, 3), None);
}

#[test]
fn case_b_only_the_50_best_detections_of_a_frame_count() {
    // 55 detections scored 0.99 .. 0.45 on a box that misses the ground
    // truth, plus the matching box at 0.05: the cap drops the match -> 0.0
    // (pyslowfast, which has no cap, gives 1/56 = 0.017857).
    let mut det = String::new();
    for i in 0..55 {
        det.push_str(&format!("vid_a,902,0.6,0.6,0.9,0.9,1,{:.2}\n", 0.99 - 0.01 * i as f64));
    }
    det.push_str("vid_a,902,0.1,0.1,0.5,0.5,1,0.05\n");
    for protocol in BOTH {
        assert_eq!(eval(protocol, CASE_GT, &det).mean_ap, Some(0.0), "{protocol}");
    }
    // With 49 misses the match is the 50th detection and counts: AP = 1/50.
    let mut fits = String::new();
    for i in 0..49 {
        fits.push_str(&format!("vid_a,902,0.6,0.6,0.9,0.9,1,{:.2}\n", 0.99 - 0.01 * i as f64));
    }
    fits.push_str("vid_a,902,0.1,0.1,0.5,0.5,1,0.05\n");
    let r = eval(AvaProtocol::V2019, CASE_GT, &fits);
    assert_eq!(r.mean_ap, Some(1.0 / 50.0));
}

#[test]
fn case_c_detections_are_ranked_by_score_within_a_frame() {
    // The matching box at 0.3 is listed before an also-matching box at 0.9:
    // sorted by score, 0.9 is the true positive and 0.3 a duplicate -> 1.0
    // (pyslowfast, which keeps file order, gives 0.5).
    let det = "vid_a,902,0.1,0.1,0.5,0.5,1,0.3\nvid_a,902,0.11,0.11,0.5,0.5,1,0.9\n";
    for protocol in BOTH {
        assert_eq!(eval(protocol, CASE_GT, det).mean_ap, Some(1.0), "{protocol}");
    }
}

#[test]
fn a_detection_does_not_fall_back_to_a_free_second_best_box() {
    // Two ground-truth boxes; both detections overlap box A best. The second
    // one is a false positive although it overlaps the free box B by IoU 2/3
    // (VOC rule; COCO would match it to B).
    let gt = "v,902,0.0,0.0,1.0,1.0,1,0\nv,902,0.0,0.0,0.6,1.0,1,1\n";
    let det = "v,902,0.0,0.0,1.0,1.0,1,0.9\nv,902,0.0,0.0,0.9,1.0,1,0.8\n";
    let r = eval(AvaProtocol::V2019, gt, det);
    // Ranked TP, FP with 2 positives: AP = 0.5 * 1.0.
    assert_eq!(ap(&r, 1), Some(0.5));
}

#[test]
fn degenerate_detection_boxes_are_dropped() {
    let det = "vid_a,902,0.3,0.1,0.3,0.5,1,0.99\nvid_a,902,0.1,0.1,0.5,0.5,1,0.5\n";
    let r = eval(AvaProtocol::V2019, CASE_GT, det);
    assert_eq!(r.mean_ap, Some(1.0));
    assert_eq!(r.per_class[0].detections, 1);
}

#[test]
fn exclusions_remove_frames_from_both_sides_in_2019() {
    let gt = "v,902,0.1,0.1,0.5,0.5,1,0\nv,903,0.1,0.1,0.5,0.5,1,0\n";
    let det = "v,902,0.1,0.1,0.5,0.5,1,0.9\nv,903,0.7,0.7,0.9,0.9,1,0.95\n";
    let classes = three_classes();
    let p = AvaProtocol::V2019;
    let without = evaluate_ava(p, &classes, &ava_rows(gt, p), &ava_rows(det, p), &[]).unwrap();
    // Ranked FP (0.95), TP (0.9) with 2 positives: AP = 0.5 * 0.5.
    assert_eq!(without.mean_ap, Some(0.25));
    let excluded = ava_keys("v,0903\n", p);
    let with = evaluate_ava(p, &classes, &ava_rows(gt, p), &ava_rows(det, p), &excluded).unwrap();
    assert_eq!(with.mean_ap, Some(1.0));
    assert_eq!(with.per_class[0].positives, 1);
}

#[test]
fn frames_without_boxes_are_evaluated_in_2020() {
    // A `video_id,timestamp` row puts frame 903 into the evaluation: the
    // detection there becomes a false positive.
    let gt = "vid_a,902,0.1,0.1,0.5,0.5,1,0\nvid_a,903\n";
    let det = "vid_a,902,0.1,0.1,0.5,0.5,1,0.5\nvid_a,903.0,0.1,0.1,0.5,0.5,1,0.9\n";
    assert_eq!(eval(AvaProtocol::V2020, gt, det).mean_ap, Some(0.5));
    // The 2019 reader rejects such rows.
    let p = AvaProtocol::V2019;
    let err = evaluate_ava(p, &three_classes(), &ava_rows(gt, p), &[], &[]).unwrap_err();
    assert!(matches!(err, Error::FrameOnlyRow { .. }), "{err}");
}

#[test]
fn label_map_problems_are_errors() {
    let p = AvaProtocol::V2019;
    let rows = ava_rows(CASE_GT, p);
    assert_eq!(evaluate_ava(p, &[], &rows, &rows, &[]), Err(Error::EmptyLabelMap));
    let zero = [AvaClass { id: 0, name: "zero".into() }];
    assert_eq!(evaluate_ava(p, &zero, &rows, &rows, &[]), Err(Error::ClassIdNotPositive { id: 0 }));
    let inverted = ava_rows("vid_a,902,0.5,0.1,0.1,0.5,1,0\n", p);
    assert!(matches!(
        evaluate_ava(p, &three_classes(), &inverted, &rows, &[]),
        Err(Error::InvalidGroundTruthBox { .. })
    ));
}

// ---------------------------------------------------------------------------
// Generated data with many tied scores, capped frames, exclusions, frames
// absent from the ground truth, unpadded timestamps, unknown classes and
// degenerate boxes. The expected numbers were printed by the official
// ActivityNet evaluator (revisions 3fee089 and HEAD, numpy 1.24.4) on the
// same CSV text; the generator below is a port of the script that wrote it.

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn fmt3(k: u64) -> String {
    format!("{}.{:03}", k / 1000, k % 1000)
}

const VIDEOS: [&str; 3] = ["vidA0000001", "-vidB000002", "_vidC000003"];

fn rand_box(r: &mut Lcg) -> [u64; 4] {
    let x1 = r.below(600);
    let y1 = r.below(600);
    let x2 = (x1 + 50 + r.below(350)).min(1000);
    let y2 = (y1 + 50 + r.below(350)).min(1000);
    [x1, y1, x2, y2]
}

/// A generated ground-truth box (corners in thousandths) and its action.
type LabelledBox = ([u64; 4], u64);

/// (ground truth, extra 2-column rows for 2020, detections) as CSV text.
fn generate(seed: u64) -> (String, String, String) {
    const ACTIONS_GT: [u64; 5] = [1, 2, 3, 4, 7];
    const ACTIONS_DET: [u64; 5] = [1, 3, 4, 5, 7];
    let mut r = Lcg(seed);
    let (mut gt, mut extra, mut det) = (String::new(), String::new(), String::new());
    let mut boxes: HashMap<(usize, u64), Vec<LabelledBox>> = HashMap::new();
    for (vi, v) in VIDEOS.iter().enumerate() {
        for t in 902..907u64 {
            let ts = if r.below(2) == 0 { format!("{t:04}") } else { t.to_string() };
            if r.below(7) == 0 {
                extra.push_str(&format!("{v},{ts}\n"));
                continue;
            }
            for p in 0..r.below(4) {
                let b = rand_box(&mut r);
                for _ in 0..1 + r.below(3) {
                    let a = ACTIONS_GT[r.below(5) as usize];
                    boxes.entry((vi, t)).or_default().push((b, a));
                    let [x1, y1, x2, y2] = b.map(fmt3);
                    gt.push_str(&format!("{v},{ts},{x1},{y1},{x2},{y2},{a},{p}\n"));
                }
            }
        }
    }
    extra.push_str(&format!("{},907\n", VIDEOS[0]));
    for (vi, v) in VIDEOS.iter().enumerate() {
        for t in 902..908u64 {
            let m = if r.below(3) == 0 { r.below(70) } else { r.below(12) };
            for _ in 0..m {
                let frame_boxes = boxes.get(&(vi, t)).cloned().unwrap_or_default();
                let (b, a) = if !frame_boxes.is_empty() && r.below(2) == 0 {
                    let (g, ga) = frame_boxes[r.below(frame_boxes.len() as u64) as usize];
                    let b = g.map(|c| (c as i64 + r.below(61) as i64 - 30).clamp(0, 1000) as u64);
                    let a = if r.below(3) > 0 { ga } else { ACTIONS_DET[r.below(5) as usize] };
                    (b, a)
                } else {
                    let mut b = rand_box(&mut r);
                    if r.below(15) == 0 {
                        b[2] = b[0];
                    }
                    (b, ACTIONS_DET[r.below(5) as usize])
                };
                let score = fmt3(r.below(21) * 50);
                let [x1, y1, x2, y2] = b.map(fmt3);
                det.push_str(&format!("{v},{t},{x1},{y1},{x2},{y2},{a},{score}\n"));
            }
        }
    }
    (gt, extra, det)
}

fn four_classes() -> Vec<AvaClass> {
    [(1, "one"), (3, "three"), (4, "four"), (7, "seven")]
        .into_iter()
        .map(|(id, name)| AvaClass { id, name: name.into() })
        .collect()
}

const EXCLUSIONS: &str = "vidA0000001,0903\n_vidC000003,906\n-vidB000002,1000\n";

/// Official outputs: (seed, [mAP, AP one, AP three, AP four, AP seven]) for
/// 2019 with exclusions, 2019 without, 2020 (with the 2-column rows).
const OFFICIAL: [(u64, [[f64; 5]; 3]); 3] = [
    (
        1,
        [
            [0.08119123102139406, 0.17559523809523808, 0.0625, 0.05555555555555555, 0.03111413043478261],
            [0.08427594745908701, 0.1935185185185185, 0.0625, 0.05555555555555555, 0.0255297157622739],
            [0.09600694444444445, 0.23148148148148145, 0.07053571428571428, 0.05555555555555555, 0.026455026455026454],
        ],
    ),
    (
        2,
        [
            [0.15849602889990158, 0.1874498933322463, 0.12922077922077924, 0.2152571659903038, 0.10205627705627707],
            [0.11545870583829217, 0.14574841358715937, 0.08859180035650624, 0.1520757020757021, 0.07541890733380095],
            [0.14310051234727517, 0.18062015503875967, 0.08993157380254155, 0.16934731934731934, 0.13250300120048017],
        ],
    ),
    (
        3,
        [
            [0.0897239057239057, 0.036, 0.021164021164021163, 0.20974025974025973, 0.09199134199134198],
            [0.07357396174844207, 0.024725274725274728, 0.02119309262166405, 0.17407407407407408, 0.07430340557275542],
            [0.08251205111048768, 0.02990033222591362, 0.03007518796992481, 0.1781609195402299, 0.09191176470588236],
        ],
    ),
];

fn numbers(r: &AvaReport) -> [f64; 5] {
    [r.mean_ap.unwrap(), ap(r, 1).unwrap(), ap(r, 3).unwrap(), ap(r, 4).unwrap(), ap(r, 7).unwrap()]
}

#[test]
fn generated_cases_equal_the_official_evaluator_bit_for_bit() {
    let classes = four_classes();
    for (seed, [with_excl, without_excl, v2020]) in OFFICIAL {
        let (gt, extra, det) = generate(seed);
        let p = AvaProtocol::V2019;
        let (g, d) = (ava_rows(&gt, p), ava_rows(&det, p));
        let ex = ava_keys(EXCLUSIONS, p);
        let r = evaluate_ava(p, &classes, &g, &d, &ex).unwrap();
        assert_eq!(numbers(&r), with_excl, "seed {seed}, 2019 with exclusions");
        let r = evaluate_ava(p, &classes, &g, &d, &[]).unwrap();
        assert_eq!(numbers(&r), without_excl, "seed {seed}, 2019");
        let p = AvaProtocol::V2020;
        let g = ava_rows(&format!("{gt}{extra}"), p);
        let r = evaluate_ava(p, &classes, &g, &ava_rows(&det, p), &[]).unwrap();
        assert_eq!(numbers(&r), v2020, "seed {seed}, 2020");
    }
}
