//! The nearest-centroid baseline on raw coordinates learns something but
//! is far from solving the task (the classes are confusable by design).

use actionbench_formats::ntu::{NtuBenchmark, NtuSampleName, read_ntu_skeleton};
use actionbench_synth::CLASSES;
use actionbench_synth::baseline::{FeatureMode, NearestCentroid, features};

use crate::support::{files, tiny};

#[test]
fn nearest_centroid_is_above_chance_and_below_perfect() {
    let dir = tiny().join("ntu/nturgb+d_skeletons");
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for n in files(&dir) {
        let name = NtuSampleName::from_path(&n).unwrap();
        let sk = read_ntu_skeleton(&dir.join(&n)).unwrap();
        let x = features(&sk, 16, FeatureMode::BodyCentric);
        let sample = (x, name.label() as usize);
        if NtuBenchmark::Ntu60XView.split(&name) == "train" { train.push(sample) } else { test.push(sample) }
    }
    let model = NearestCentroid::fit(&train);
    let acc = model.accuracy(&test);
    let chance = 1.0 / CLASSES.len() as f64;
    assert!(acc > 2.0 * chance, "accuracy {acc} should beat chance {chance}");
    assert!(acc < 0.98, "accuracy {acc}: the task should not be trivial");
    let acc_train = model.accuracy(&train);
    assert!(acc_train >= acc, "train accuracy {acc_train} should be at least the test accuracy {acc}");
    // Generation is deterministic (preset + seed), so the numbers are too:
    // a change here means the generated data changed.
    assert_eq!(
        (format!("{:.4}", acc), format!("{:.4}", acc_train), train.len(), test.len()),
        ("0.9000".to_string(), "0.9250".to_string(), 160, 80),
        "tiny preset, seed {}: nearest-centroid test / train accuracy and split sizes",
        crate::support::SEED
    );
}

/// The time quoted in the README: generate all of `small`. Run in
/// release: `cargo nextest run --release -p actionbench-synth --run-ignored
/// only small_preset`.
#[test]
#[ignore = "times the whole small preset: cargo nextest run --release -p actionbench-synth --run-ignored only --no-capture small_preset_generation_time"]
fn small_preset_generation_time() {
    use actionbench_synth::{NoProgress, Preset, SynthConfig, generate};
    let dir = tempfile::tempdir().unwrap();
    let start = std::time::Instant::now();
    let summary = generate(&SynthConfig::new(Preset::Small, 0), &dir.path().join("small"), &NoProgress).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    println!("small preset (all formats): {seconds:.1} s on {} threads", rayon::current_num_threads());
    println!("{}", serde_json::to_string(&summary.outputs).unwrap());
    assert_eq!(summary.outputs["ntu"]["samples"], 40 * 20 * 3 * 2);
}

/// The accuracies quoted in the README: nearest centroid on the small
/// preset's NTU files, NTU60 cross-subject and cross-view.
#[test]
#[ignore = "a minute of generation: cargo nextest run -p actionbench-synth --run-ignored only --no-capture small_preset_baseline"]
fn small_preset_baseline() {
    use actionbench_synth::{Format, NoProgress, Preset, SynthConfig, generate};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("small");
    let mut config = SynthConfig::new(Preset::Small, 0);
    config.formats = [Format::Ntu].into_iter().collect();
    generate(&config, &out, &NoProgress).unwrap();
    let skel = out.join("ntu/nturgb+d_skeletons");
    let names = files(&skel);
    let samples: Vec<(NtuSampleName, actionbench_formats::ntu::NtuSkeleton)> = names
        .iter()
        .map(|n| (NtuSampleName::from_path(n).unwrap(), read_ntu_skeleton(&skel.join(n)).unwrap()))
        .collect();
    for bench in [NtuBenchmark::Ntu60XSub, NtuBenchmark::Ntu60XView] {
        for mode in [FeatureMode::Raw, FeatureMode::BodyCentric] {
            let (mut train, mut test) = (Vec::new(), Vec::new());
            for (name, sk) in &samples {
                let s = (features(sk, 16, mode), name.label() as usize);
                if bench.split(name) == "train" { train.push(s) } else { test.push(s) }
            }
            let acc = NearestCentroid::fit(&train).accuracy(&test);
            println!(
                "nearest centroid {bench:?} {mode:?}: {:.1}% ({} train / {} test)",
                acc * 100.0,
                train.len(),
                test.len()
            );
            assert!(acc > 2.0 / CLASSES.len() as f64 && acc < 0.95);
            // The values the docs quote (docs/stage-kinds.md, `synth`): the
            // generator is deterministic, so they are pinned.
            let quoted = match (bench, mode) {
                (NtuBenchmark::Ntu60XSub, FeatureMode::Raw) => "26.5",
                (NtuBenchmark::Ntu60XSub, FeatureMode::BodyCentric) => "82.8",
                (NtuBenchmark::Ntu60XView, FeatureMode::Raw) => "25.8",
                (NtuBenchmark::Ntu60XView, FeatureMode::BodyCentric) => "85.2",
                _ => unreachable!("only these are measured"),
            };
            assert_eq!(format!("{:.1}", acc * 100.0), quoted, "{bench:?} {mode:?}");
        }
    }
}
