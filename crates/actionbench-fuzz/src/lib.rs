//! Fuzz harnesses: for each parser that reads files from strangers, what
//! one fuzz input is fed to. The coverage-guided fuzzers in `fuzz/`
//! (cargo-fuzz, libFuzzer; `scripts/fuzz`) call these, and this crate's
//! test replays the seed corpora and every input the fuzzers ever found
//! (`fuzz/regressions/TARGET/`) through them, so a fixed crash stays fixed
//! in CI without a fuzzer.
//!
//! A harness returns nothing: any input may be rejected with an error, and
//! the only failures are a panic, an abort (stack overflow, out of memory)
//! or a hang, which the fuzzer reports. Where two code paths must agree (the
//! NTU reader's fast and per-joint parses) the harness asserts it.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use actionbench_formats::ava::{AvaDialect, parse_ava_csv, parse_ava_exclusions};
use actionbench_formats::joblib::parse_joblib;
use actionbench_formats::kinetics_skeleton::{parse_kinetics_labels, parse_kinetics_skeleton};
use actionbench_formats::label_map::parse_label_map;
use actionbench_formats::npy::{parse_npy, parse_npy_array};
use actionbench_formats::npz::parse_npz;
use actionbench_formats::ntu::{NtuArrays, parse_ntu_arrays, parse_ntu_skeleton};
use actionbench_formats::phalp::parse_phalp;
use actionbench_formats::pickle::{PickleOptions, parse_pickle};
use actionbench_formats::value::PyValue;

/// A harness: takes one fuzz input.
pub type Harness = fn(&[u8]);

/// The fuzz targets, by name (the names of `fuzz/fuzz_targets/*.rs`).
pub const TARGETS: &[(&str, Harness)] = &[
    ("pickle", pickle),
    ("joblib", joblib),
    ("npy", npy),
    ("npz", npz),
    ("ntu_skeleton", ntu_skeleton),
    ("kinetics_json", kinetics_json),
    ("ava_csv", ava_csv),
    ("phalp", phalp),
    ("pipeline_toml", pipeline_toml),
    ("sql_filter", sql_filter),
];

/// The harness of a target name.
pub fn target(name: &str) -> Option<Harness> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

const PATH: &str = "fuzz.input";

/// Walks a decoded value the ways the stages do (JSON for `inspect`, the
/// repr for messages, its depth), so a value that decodes but cannot be
/// walked is found too.
fn walk(value: &PyValue) {
    let _ = value.depth();
    let _ = value.to_json();
    let _ = value.repr();
}

/// Plain pickles, strict and lenient (`ingest.pyskl`, AVA proposals).
pub fn pickle(data: &[u8]) {
    for options in [PickleOptions::default(), PickleOptions::lenient()] {
        if let Ok(v) = parse_pickle(data, Path::new(PATH), options) {
            walk(&v);
        }
    }
}

/// joblib files, plain or compressed (PHALP outputs, LART's pickles).
pub fn joblib(data: &[u8]) {
    if let Ok(v) = parse_joblib(data, Path::new(PATH), PickleOptions::lenient()) {
        walk(&v);
    }
}

/// `.npy` arrays, numeric and object.
pub fn npy(data: &[u8]) {
    let _ = parse_npy(data, Path::new(PATH));
    if let Ok(a) = parse_npy_array(data, Path::new(PATH), PickleOptions::default()) {
        let _ = a.to_json();
        let _ = a.to_f64();
    }
}

/// `.npz` archives (VideoPose3D's Human3.6M files).
pub fn npz(data: &[u8]) {
    if let Ok(members) = parse_npz(data, Path::new(PATH), PickleOptions::default()) {
        for (_, a) in members {
            let _ = a.to_f32();
        }
    }
}

/// NTU RGB+D `.skeleton` text. The fast array parse and the per-joint
/// parse must agree on every file.
pub fn ntu_skeleton(data: &[u8]) {
    let path = Path::new(PATH);
    let fast = parse_ntu_arrays(data, path, None);
    let slow = parse_ntu_skeleton(data, path).map(|s| NtuArrays::from_skeleton(&s, None));
    match (fast, slow) {
        // Debug text, so that NaN equals NaN.
        (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "the two NTU parses disagree"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("one NTU parse failed and one did not: fast {:?}, per-joint {:?}", a.err(), b.err()),
    }
}

/// Kinetics-skeleton JSON: one video, and the label index.
pub fn kinetics_json(data: &[u8]) {
    let _ = parse_kinetics_skeleton(data, Path::new(PATH));
    let _ = parse_kinetics_labels(data, Path::new(PATH));
}

/// AVA CSV (both dialects), excluded timestamps and `.pbtxt` label maps.
pub fn ava_csv(data: &[u8]) {
    let path = Path::new(PATH);
    for dialect in [AvaDialect::Activitynet2019, AvaDialect::Activitynet2020] {
        let _ = parse_ava_csv(data, path, dialect);
        let _ = parse_ava_exclusions(data, path, dialect);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_label_map(text, path);
    }
}

/// PHALP tracklet files (a joblib of per-frame dicts).
pub fn phalp(data: &[u8]) {
    let _ = parse_phalp(data, Path::new(PATH));
}

/// A pipeline file: parsed, then checked against every stage kind of the
/// stages crate (params, graph, placeholders), as `run` and `status` do.
pub fn pipeline_toml(data: &[u8]) {
    // One fixed project folder for every process: a `TempDir` in a static
    // is never dropped, and left one cache tree in /tmp per test process.
    // `Engine::new` only creates the (empty) cache folders there.
    static PROJECT: OnceLock<std::path::PathBuf> = OnceLock::new();
    let Ok(text) = std::str::from_utf8(data) else { return };
    let root = PROJECT.get_or_init(|| std::env::temp_dir().join("actionbench-fuzz-project"));
    let path = root.join("pipelines/fuzz.toml");
    if let Ok(def) = actionbench_pipeline::PipelineDef::parse("fuzz", root, &path, "pipelines/fuzz.toml", text) {
        let _ = actionbench_pipeline::Engine::new(def, actionbench_stages::registry(), Some(root.join("cache")));
    }
}

/// The loader's SQL `WHERE` filter: parsed, then evaluated over a small
/// table with the column types skeleton tables have.
pub fn sql_filter(data: &[u8]) {
    use arrow::array::{ArrayRef, Float32Array, Int32Array, Int64Array, RecordBatch, StringArray};
    static BATCH: OnceLock<RecordBatch> = OnceLock::new();
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(filter) = actionbench_loader::RowFilter::parse(text) else { return };
    let _ = filter.columns();
    let batch = BATCH.get_or_init(|| {
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("sample_id", Arc::new(StringArray::from(vec![Some("S001C001P001R001A001"), None, Some("x")]))),
            ("xsub", Arc::new(StringArray::from(vec!["train", "val", "train"]))),
            ("num_frames", Arc::new(Int32Array::from(vec![Some(32), Some(300), None]))),
            ("label", Arc::new(Int64Array::from(vec![0, 59, -1]))),
            ("score", Arc::new(Float32Array::from(vec![0.5, f32::NAN, -0.0]))),
        ];
        RecordBatch::try_from_iter(columns).expect("a valid batch")
    });
    let _ = filter.evaluate(batch);
}
