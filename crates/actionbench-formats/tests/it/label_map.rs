//! Every label map among the real fixtures.

use actionbench_formats::label_map::{LabelMapKind, read_label_map};

use crate::support::real_fixture;

/// The 60 evaluated AVA ids (docs/formats.md §4.1).
const AVA_60: [i64; 60] = [
    1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 20, 22, 24, 26, 27, 28, 29, 30, 34, 36, 37, 38, 41, 43, 45, 46,
    47, 48, 49, 51, 52, 54, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 72, 73, 74, 76, 77, 78, 79, 80,
];

#[test]
fn official_activitynet_pbtxt_lists_the_60_classes() {
    let m =
        read_label_map(&real_fixture("ava/activitynet_labelmap/ava_action_list_v2.1_for_activitynet_2018.pbtxt.txt"))
            .unwrap();
    assert_eq!(m.kind, LabelMapKind::Pbtxt);
    let ids: Vec<i64> = m.entries.iter().map(|e| e.id).collect();
    assert_eq!(ids, AVA_60);
    assert_eq!(m.name_of(1), Some("bend/bow (at the waist)"));
    assert_eq!(m.name_of(80), Some("watch (a person)"));
}

#[test]
fn plain_id_colon_name_map_agrees_with_the_pbtxt() {
    let plain = read_label_map(&real_fixture("ava/mmaction2_label_map/label_map.txt")).unwrap();
    let pbtxt =
        read_label_map(&real_fixture("ava/activitynet_labelmap/ava_action_list_v2.1_for_activitynet_2018.pbtxt.txt"))
            .unwrap();
    assert_eq!(plain.kind, LabelMapKind::IdColonName);
    let a: Vec<(i64, &str)> = plain.entries.iter().map(|e| (e.id, e.name.as_str())).collect();
    let b: Vec<(i64, &str)> = pbtxt.entries.iter().map(|e| (e.id, e.name.as_str())).collect();
    assert_eq!(a, b);
}

#[test]
fn small_item_maps() {
    let m = read_label_map(&real_fixture("ava/mmaction2_eval_detection/action_list.txt")).unwrap();
    let got: Vec<(i64, &str)> = m.entries.iter().map(|e| (e.id, e.name.as_str())).collect();
    assert_eq!(got, vec![(1, "action1"), (2, "action2"), (3, "action3")]);
    let m = read_label_map(&real_fixture("ava/mmaction2_ava_dataset/action_list.txt")).unwrap();
    let ids: Vec<i64> = m.entries.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![12, 17, 79, 80]);
    assert_eq!(m.name_of(80), Some("action3"));
}

#[test]
fn name_per_line_class_lists() {
    for (file, count, first, last) in [
        ("label_maps/kinetics400/label_name.txt", 400, "abseiling", "zumba"),
        (
            "label_maps/sthv2/label_map.txt",
            174,
            "Approaching something with your camera",
            "Wiping something off of something",
        ),
        ("label_maps/ucf101/label_map.txt", 101, "ApplyEyeMakeup", "YoYo"),
        ("label_maps/diving48/label_map.txt", 48, "Back+15som+05Twis+FREE", "Reverse+Dive+NoTwis+TUCK"),
        ("ntu/mmaction2/label_map_ntu60.txt", 60, "drink water", "walking apart from each other"),
        ("ntu/pyskl/nturgbd_120.txt", 120, "drink water", "finger-guessing game (playing rock-paper-scissors)"),
    ] {
        let m = read_label_map(&real_fixture(file)).unwrap();
        assert_eq!(m.kind, LabelMapKind::NamePerLine, "{file}");
        assert_eq!(m.entries.len(), count, "{file}");
        assert_eq!(m.name_of(0), Some(first), "{file}");
        assert_eq!(m.name_of(count as i64 - 1), Some(last), "{file}");
    }
}
