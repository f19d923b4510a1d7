//! UPS through the stages on generated data: `synth` (NTU, Kinetics-skeleton,
//! Human3.6M with CPN-like detections and cameras) → ingest → `train`
//! (joint with fine-tuning, and separate) → `predict` for every task →
//! `eval.classify` / `eval.pose`; and the lifting geometry against the
//! generator's own projection.

use actionbench_formats::h36m::{parse_h36m_2d, parse_h36m_3d};
use actionbench_train::lifting::{H36M17_FROM_32, read_cameras};

use crate::harness::Project;

const TASKS: &str = r#"tasks = [
  { task = "pose", from = "@h36m-cpn", targets = "@h36m-3d", cameras = "@h36m/h36m/cameras.json", filter = "split = 'train'", stride = 4 },
  { task = "action2d", from = "@kinetics", filter = "source_file LIKE '%/kinetics_train/%'" },
  { task = "early", from = "@ntu" },
  { task = "action3d", from = "@ntu" },
]"#;

fn pipeline(regime: &str) -> String {
    let finetune = if regime == "joint" { "finetune = { epochs = 1, lr = 1e-3 }\n" } else { "" };
    format!(
        r#"
[stages.data]
uses = "synth"
params = {{ preset = "tiny", seed = 0, formats = ["ntu"] }}

[stages.kin]
uses = "synth"
params = {{ preset = "tiny", seed = 0, formats = ["kinetics"] }}

[stages.h36m]
uses = "synth"
params = {{ preset = "tiny", seed = 0, formats = ["h36m"] }}

[stages.ntu]
uses = "ingest.ntu"
inputs = ["@data"]
params = {{ dataset = "ntu60", max-bodies = 2 }}

[stages.kinetics]
uses = "ingest.kinetics-skeleton"
inputs = ["@kin"]
params = {{ on-error = "skip" }}

[stages.h36m-3d]
uses = "ingest.h36m"
inputs = ["@h36m"]
params = {{ file = "data_3d_h36m.npz" }}

[stages.h36m-cpn]
uses = "ingest.h36m"
inputs = ["@h36m"]
params = {{ file = "data_2d_h36m_cpn_ft_h36m_dbb.npz" }}

[stages.train]
uses = "train"
inputs = ["@ntu", "@kinetics", "@h36m-cpn", "@h36m-3d", "@h36m"]
[stages.train.params]
model = {{ kind = "ups", num-classes = 20, size = "tiny", frames = 8, bins = 32 }}
train = {{ optimizer = {{ kind = "adamw", beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weight-decay = 0.0 }}, lr = 1e-3, epochs = 1, seed = 0 }}
[stages.train.params.data]
batch-size = 4
[stages.train.params.data.ups]
regime = "{regime}"
iterations = 4
{finetune}{TASKS}

[stages.predict-pose]
uses = "predict"
inputs = ["@train", "@h36m-cpn", "@h36m-3d", "@h36m"]
params = {{ model = "@train", batch-size = 16, ups = {{ task = "pose", from = "@h36m-cpn", targets = "@h36m-3d", cameras = "@h36m/h36m/cameras.json", filter = "subject = 'S9'", stride = 16 }} }}

[stages.predict-early]
uses = "predict"
inputs = ["@train", "@ntu"]
params = {{ model = "@train", batch-size = 16, ups = {{ task = "early", from = "@ntu", skeleton = {{ observe = [0.4] }} }} }}

[stages.predict-action2d]
uses = "predict"
inputs = ["@train", "@kinetics"]
params = {{ model = "@train", batch-size = 16, ups = {{ task = "action2d", from = "@kinetics" }} }}

[stages.eval-pose]
uses = "eval.pose"
inputs = ["@predict-pose"]
params = {{ pred = "@predict-pose/pred.npy", gt = "@predict-pose/gt.npy", actions = "@predict-pose/actions.txt" }}

[stages.eval-early]
uses = "eval.classify"
inputs = ["@predict-early"]
params = {{ pred = "@predict-early", topk = [1, 5] }}
"#
    )
}

fn sql(p: &Project, query: &str) -> Vec<serde_json::Value> {
    let r = p.ok(&["sql", query, "--format", "json"]);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", r.stdout))
}

fn stage_dir(p: &Project, pipeline: &str, stage: &str) -> std::path::PathBuf {
    let rows =
        sql(p, &format!("SELECT key FROM actionbench.stages WHERE pipeline = '{pipeline}' AND stage = '{stage}'"));
    let key = rows[0]["key"].as_str().unwrap_or_else(|| panic!("no key for {stage}: {rows:?}"));
    p.path(&format!(".actionbench/v1/stages/{key}"))
}

#[test]
fn ups_trains_jointly_and_separately_and_answers_every_task() {
    let p = Project::new();
    p.write("pipelines/ups.toml", &pipeline("joint"));
    let run = p.ok(&["run", "ups", "-j", "1", "--format", "json"]);
    assert!(run.statuses().iter().all(|(_, s)| s == "ran"), "{}", run.stdout);

    // Joint training, then one fine-tuned model per task.
    let train = stage_dir(&p, "ups", "train");
    for file in ["model.mpk", "model-pose.mpk", "model-action2d.mpk", "model-early.mpk", "model-action3d.mpk"] {
        assert!(train.join(file).is_file(), "{file}");
    }
    let runs = sql(&p, "SELECT model, steps FROM ups.train_runs");
    assert_eq!(runs[0]["model"], "ups");
    assert_eq!(runs[0]["steps"], 4 + 4 * 4, "4 joint steps, then 4 per task");
    let splits = sql(&p, "SELECT DISTINCT split FROM ups.train_metrics ORDER BY split");
    let splits: Vec<&str> = splits.iter().map(|r| r["split"].as_str().unwrap()).collect();
    assert!(splits.contains(&"train") && splits.contains(&"train:finetune-pose"), "{splits:?}");

    // The pose task: millimetres, one action per frame, the quantisation floor.
    let pose = stage_dir(&p, "ups", "predict-pose");
    let decode: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pose.join("decode.json")).unwrap()).unwrap();
    let frames = decode["samples"].as_u64().unwrap();
    assert!(frames > 0, "{decode}");
    assert_eq!(decode["weights"], "model-pose.mpk");
    assert_eq!(decode["route"].as_array().unwrap().len(), 2, "one block per encoder layer");
    let half_bin = decode["dequantisation"]["half_bin_mm"].as_f64().unwrap();
    assert!((half_bin - 2200.0 / 32.0 / 2.0).abs() < 1e-3, "{decode}");
    let floor = decode["dequantisation"]["mpjpe_mm"].as_f64().unwrap();
    assert!(floor > 0.0 && floor <= 3f64.sqrt() * half_bin, "{decode}");
    assert!(decode["dequantisation"]["max_axis_error_mm"].as_f64().unwrap() <= half_bin + 1e-3, "{decode}");
    let actions = std::fs::read_to_string(pose.join("actions.txt")).unwrap();
    assert_eq!(actions.lines().count() as u64, frames);
    let mpjpe = sql(&p, "SELECT value FROM actionbench.metrics WHERE stage = 'eval-pose' AND metric = 'mpjpe'");
    let mpjpe = mpjpe[0]["value"].as_f64().unwrap();
    assert!(mpjpe.is_finite() && mpjpe > 0.0, "MPJPE {mpjpe}");
    let per_action = sql(&p, "SELECT count(*) AS n FROM \"ups\".\"eval-pose_per_action\"");
    assert!(per_action[0]["n"].as_i64().unwrap() > 1);

    // Early prediction and 2D recognition score every sample of their table.
    let early = sql(&p, "SELECT value FROM actionbench.metrics WHERE stage = 'eval-early' AND metric = 'top1'");
    assert!((0.0..=1.0).contains(&early[0]["value"].as_f64().unwrap()));
    let scored = sql(&p, "SELECT count(*) AS n FROM \"ups\".\"predict-action2d\"");
    let videos = sql(&p, "SELECT count(*) AS n FROM ups.kinetics");
    assert_eq!(scored[0]["n"], videos[0]["n"]);

    // Separate training: one model per task, no joint one.
    p.write("pipelines/ups.toml", &pipeline("separate"));
    p.ok(&["run", "ups", "train", "predict-early", "-j", "1"]);
    let alone = stage_dir(&p, "ups", "train");
    assert!(!alone.join("model.mpk").exists());
    assert!(alone.join("model-early.mpk").is_file());
    let decode = stage_dir(&p, "ups", "predict-early").join("decode.json");
    let decode: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(decode).unwrap()).unwrap();
    assert_eq!(decode["weights"], "model-early.mpk", "{decode}");

    // Precomputed text features of the vocabulary's prompts (20 classes,
    // 3 x 32 bins, 3 end tokens): loaded, kept next to the weights, reused
    // by predict.
    let rows = 20 + 3 * 32 + 3;
    let values: Vec<f64> = (0..rows * 6).map(|i| ((i * 37) % 11) as f64 / 11.0 - 0.5).collect();
    let npy =
        actionbench_formats::npy::write_npy_bytes(&[rows, 6], &values, actionbench_formats::npy::NpyDtype::Float32);
    std::fs::write(p.path("vocab.npy"), npy).unwrap();
    let text = pipeline("separate").replace("bins = 32 }", "bins = 32, text-features = \"vocab.npy\" }").replace(
        "\"@h36m-3d\", \"@h36m\"]\n[stages.train.params]",
        "\"@h36m-3d\", \"@h36m\", \"vocab.npy\"]\n[stages.train.params]",
    );
    assert!(text.contains("\"vocab.npy\"]"), "{text}");
    p.write("pipelines/ups.toml", &text);
    p.ok(&["run", "ups", "train", "predict-early", "-j", "1"]);
    assert!(stage_dir(&p, "ups", "train").join("text-features.npy").is_file());
    std::fs::write(
        p.path("vocab.npy"),
        actionbench_formats::npy::write_npy_bytes(
            &[rows - 1, 6],
            &values[..(rows - 1) * 6],
            actionbench_formats::npy::NpyDtype::Float32,
        ),
    )
    .unwrap();
    let bad = p.run(&["run", "ups", "train"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("the vocabulary has 119 tokens"), "{}", bad.stderr);

    // Mistakes are named, with a hint.
    p.write("pipelines/ups.toml", &pipeline("joint").replace("regime = \"joint\"", "regime = \"jiont\""));
    let bad = p.run(&["status", "ups"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("ups.toml") && bad.stderr.contains("jiont"), "{}", bad.stderr);
    p.write(
        "pipelines/ups.toml",
        &pipeline("joint").replace(
            ", cameras = \"@h36m/h36m/cameras.json\", filter = \"split = 'train'\"",
            ", filter = \"split = 'train'\"",
        ),
    );
    let bad = p.run(&["status", "ups"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("task `pose` needs `targets`") && bad.stderr.contains("`cameras`"), "{}", bad.stderr);
}

/// The camera file and the 3D world poses project onto the generator's 2D
/// keypoints: the lifting targets are in the frame of the camera that saw
/// the keypoints.
#[test]
fn lifting_targets_are_in_the_frame_of_the_camera_that_saw_the_keypoints() {
    let p = Project::new();
    p.ok(&["synth", "tiny", "--seed", "3", "--formats", "h36m", "--out", "data"]);
    let dir = p.path("data/h36m");
    let d3 = parse_h36m_3d(&std::fs::read(dir.join("data_3d_h36m.npz")).unwrap(), &dir).unwrap();
    let d2 = parse_h36m_2d(&std::fs::read(dir.join("data_2d_h36m_gt.npz")).unwrap(), &dir).unwrap();
    let cpn = parse_h36m_2d(&std::fs::read(dir.join("data_2d_h36m_cpn_ft_h36m_dbb.npz")).unwrap(), &dir).unwrap();
    let cameras = read_cameras(&dir.join("cameras.json")).unwrap();
    let ids = ["54138969", "55011271", "58860488", "60457274"];
    let (mut worst, mut noise, mut n) = (0f64, 0f64, 0usize);
    for (s3, s2) in d3.iter().zip(&d2.sequences) {
        assert_eq!((&s3.subject, &s3.action), (&s2.subject, &s2.action));
        let c2 = cpn.sequences.iter().find(|s| s.subject == s2.subject && s.action == s2.action).unwrap();
        for (c, id) in ids.iter().enumerate() {
            let cam = &cameras[&s3.subject][*id];
            let k = [1145.0, 1144.0, cam.res_w / 2.0, cam.res_h / 2.0];
            for f in 0..s3.positions.shape[0] {
                for (j, &m) in H36M17_FROM_32.iter().enumerate() {
                    let o = (f * 32 + m) * 3;
                    let world = [0, 1, 2].map(|a| f64::from(s3.positions.data[o + a]));
                    let x = cam.world_to_camera(world);
                    assert!(x[2] > 0.5, "the performer is in front of camera {id}: {x:?}");
                    let px = [k[2] + k[0] * x[0] / x[2], k[3] + k[1] * x[1] / x[2]];
                    let q = (f * 17 + j) * 2;
                    let want = [f64::from(s2.cameras[c].data[q]), f64::from(s2.cameras[c].data[q + 1])];
                    worst = worst.max((px[0] - want[0]).abs()).max((px[1] - want[1]).abs());
                    let det = [f64::from(c2.cameras[c].data[q]), f64::from(c2.cameras[c].data[q + 1])];
                    noise += ((det[0] - want[0]).powi(2) + (det[1] - want[1]).powi(2)).sqrt();
                    n += 1;
                }
            }
        }
    }
    assert!(n > 1000, "{n} joints");
    assert!(worst < 0.05, "projection differs from the generator's 2D keypoints by {worst} px");
    // CPN-like detections: a few pixels off on average, not exact, not wild.
    let mean = noise / n as f64;
    assert!((3.0..10.0).contains(&mean), "mean CPN-like error {mean} px");
}
