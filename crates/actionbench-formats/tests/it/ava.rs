//! AVA CSVs and exclusion lists from the mmaction2 test data.

use actionbench_formats::ava::{AvaDialect, AvaTimestamp, read_ava_csv, read_ava_exclusions};

use crate::support::real_fixture;

#[test]
fn reads_the_evaluation_fixture() {
    let dir = real_fixture("ava/mmaction2_eval_detection");
    for dialect in [AvaDialect::Activitynet2019, AvaDialect::Activitynet2020] {
        let gt = read_ava_csv(&dir.join("gt.csv"), dialect).unwrap();
        let pred = read_ava_csv(&dir.join("pred.csv"), dialect).unwrap();
        assert_eq!((gt.len(), pred.len()), (12, 30));
        let first = gt[0].bbox.unwrap();
        assert_eq!(gt[0].video_id, "3reY9zJKhqN");
        assert_eq!((first.x1, first.y1, first.x2, first.y2), (0.278, 0.203, 0.964, 0.677));
        assert_eq!((first.action_id, first.score), (3, Some(0.0)));
        let last = pred[29].bbox.unwrap();
        assert_eq!(pred[29].line, 30);
        assert_eq!((last.action_id, last.score), (2, Some(0.912)));
    }
    let gt = read_ava_csv(&dir.join("gt.csv"), AvaDialect::Activitynet2019).unwrap();
    assert_eq!(gt[4].timestamp, AvaTimestamp::Seconds(1384));
    let gt = read_ava_csv(&dir.join("gt.csv"), AvaDialect::Activitynet2020).unwrap();
    assert_eq!(gt[4].timestamp, AvaTimestamp::Decimal(1384.0));
}

#[test]
fn keeps_video_ids_that_start_with_punctuation_and_reads_padded_times() {
    let dir = real_fixture("ava/mmaction2_ava_dataset");
    let rows = read_ava_csv(&dir.join("ava_sample.csv"), AvaDialect::Activitynet2019).unwrap();
    assert_eq!(rows.len(), 8);
    assert_eq!(rows[5].video_id, "_-Z6wFjXtGQ");
    assert_eq!(rows[0].timestamp, AvaTimestamp::Seconds(902));
    // Class 74 is in the CSV but not in the map; filtering is the evaluator's job.
    assert_eq!(rows[6].bbox.unwrap().action_id, 74);
    let ex = read_ava_exclusions(&dir.join("ava_excluded_timestamps_sample.csv"), AvaDialect::Activitynet2019).unwrap();
    let got: Vec<(&str, AvaTimestamp)> = ex.iter().map(|e| (e.video_id.as_str(), e.timestamp)).collect();
    assert_eq!(got, vec![("0f39OWEqJ24", AvaTimestamp::Seconds(903)), ("_-Z6wFjXtGQ", AvaTimestamp::Seconds(902)),]);
}

#[test]
fn a_missing_file_names_the_path() {
    let err = read_ava_csv(std::path::Path::new("no/such/gt.csv"), AvaDialect::Activitynet2019).unwrap_err();
    assert!(err.to_string().starts_with("Failed to read `no/such/gt.csv`"), "{err}");
}
