//! NTU RGB+D-style skeleton samples: one performance seen by one of three
//! Kinect cameras, with the sensor's faults (noise, inferred joints,
//! occlusion, frames without a body), written as `.skeleton` files named
//! `SsssCcccPpppRrrrAaaa`.

use std::f64::consts::FRAC_PI_4;

use actionbench_formats::ntu::{NtuBody, NtuFrame, NtuJoint, NtuSampleName, NtuSkeleton};
use rand::Rng;
use rand_distr::{Distribution, Normal};

use crate::body::{JOINTS, j};
use crate::camera::{Camera, ntu_pixels};
use crate::math::{add, quat};
use crate::motion::CLASSES;
use crate::perform::{Performance, perform, subject};
use crate::rng::rng_for;

/// Joints whose Kinect orientation is reported as all zeros (leaves).
const LEAVES: [usize; 7] = [j::HEAD, j::FOOT_L, j::FOOT_R, j::HAND_TIP_L, j::THUMB_L, j::HAND_TIP_R, j::THUMB_R];

/// The sample names of a preset, sorted.
pub(crate) fn plan(subjects: u16, setup_passes: u16, replications: u16, classes: &[usize]) -> Vec<NtuSampleName> {
    let max_setup = if subjects <= 40 { 17 } else { 32 };
    let mut names = Vec::new();
    for subject in 1..=subjects {
        for pass in 0..setup_passes {
            let setup = 1 + ((subject - 1) + pass * 7) % max_setup;
            for replication in 1..=replications {
                for &class in classes {
                    for camera in 1..=3 {
                        names.push(NtuSampleName { setup, camera, subject, replication, action: class as u16 + 1 });
                    }
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The partner of `subject` in interactions (another performer of the pool).
pub(crate) fn partner_of(subject: u16, action: u16, pool: u16) -> u16 {
    let pool = pool.max(2);
    ((subject - 1 + 1 + action % (pool - 1).max(1)) % pool) + 1
}

/// The performance recorded by the three cameras of a sample (the camera
/// is not part of the key, so the three views agree).
pub(crate) fn ntu_performance(seed: u64, name: &NtuSampleName, frame_scale: f64, pool: u16) -> Performance {
    let key = [name.setup as u64, name.subject as u64, name.replication as u64, name.action as u64];
    let mut rng = rng_for(seed, "ntu-performance", &key);
    let class = name.action as usize - 1;
    let actor = subject(seed, name.subject);
    let partner = (CLASSES[class].persons == 2).then(|| subject(seed, partner_of(name.subject, name.action, pool)));
    let speed: f64 = rng.random_range(0.75..1.35);
    let frames = ((CLASSES[class].base_frames * frame_scale * speed).round() as usize).max(8);
    // R001 faces the left camera, R002 the right one (as in NTU).
    let face = if name.replication % 2 == 1 { -FRAC_PI_4 } else { FRAC_PI_4 };
    let yaw = std::f64::consts::PI - face + rng.random_range(-0.3..0.3);
    let center = [rng.random_range(-0.3..0.3), 0.0, rng.random_range(-0.3..0.3)];
    perform(class, &actor, partner.as_ref(), frames, center, yaw, &mut rng)
}

/// One `.skeleton` sample.
pub(crate) fn ntu_sample(seed: u64, name: &NtuSampleName, frame_scale: f64, pool: u16) -> NtuSkeleton {
    let perf = ntu_performance(seed, name, frame_scale, pool);
    let camera = Camera::ntu(name.setup, name.camera);
    let mut rng = rng_for(
        seed,
        "ntu-sensor",
        &[name.setup as u64, name.camera as u64, name.subject as u64, name.replication as u64, name.action as u64],
    );
    sense(&perf, &camera, &mut rng)
}

/// The Kinect sensor model: camera-space joints with noise, inferred
/// (dropped) joints, an occluded limb for a while, frames without bodies.
pub(crate) fn sense(perf: &Performance, camera: &Camera, rng: &mut impl Rng) -> NtuSkeleton {
    let frames = perf.frames();
    let sigma = rng.random_range(0.002..0.010);
    let noise = Normal::new(0.0, 1.0).expect("unit normal");
    let drop_p = rng.random_range(0.0..0.01);
    // Occluded limb: which joints, in which frames.
    let occluded: Option<(Vec<usize>, usize, usize)> = rng.random_bool(0.35).then(|| {
        let limbs: [&[usize]; 4] = [&[5, 6, 7, 21, 22], &[9, 10, 11, 23, 24], &[13, 14, 15], &[17, 18, 19]];
        let limb = limbs[rng.random_range(0..4)].to_vec();
        let len = (frames as f64 * rng.random_range(0.1..0.35)) as usize;
        let start = rng.random_range(0..frames.saturating_sub(len).max(1));
        (limb, start, start + len)
    });
    // Frames where the sensor lost everybody.
    let mut empty = vec![false; frames];
    if rng.random_bool(0.3) && frames > 4 {
        let len = rng.random_range(1..4usize);
        let start = if rng.random_bool(0.5) { 0 } else { rng.random_range(0..frames - len) };
        for e in empty.iter_mut().skip(start).take(len) {
            *e = true;
        }
    }
    let body_ids: Vec<u64> =
        perf.tracks.iter().map(|_| 72_057_594_037_927_936 + rng.random_range(0..20_000u64)).collect();
    let mut out = NtuSkeleton { frames: Vec::with_capacity(frames) };
    for (f, &lost) in empty.iter().enumerate() {
        if lost {
            out.frames.push(NtuFrame::default());
            continue;
        }
        let mut bodies = Vec::with_capacity(perf.tracks.len());
        for (t, track) in perf.tracks.iter().enumerate() {
            let mut joints = Vec::with_capacity(JOINTS);
            let mut clipped = 0;
            for k in 0..JOINTS {
                let mut p = camera.to_cam(track.joints[f][k]);
                let mut state = 2;
                let s = sigma * (p[2] / 3.0).max(0.5);
                let mut jitter = [noise.sample(rng) * s, noise.sample(rng) * s, noise.sample(rng) * s * 1.5];
                let hidden =
                    occluded.as_ref().is_some_and(|(limb, a, b)| t == 0 && (*a..*b).contains(&f) && limb.contains(&k));
                if hidden || rng.random_bool(drop_p) {
                    state = 1;
                    for v in &mut jitter {
                        *v += noise.sample(rng) * 0.03;
                    }
                }
                p = add(p, jitter);
                let (depth, color) = ntu_pixels(p);
                if depth[0] < 0.0 {
                    clipped |= 2;
                }
                if depth[0] >= 512.0 {
                    clipped |= 1;
                }
                if depth[1] < 0.0 {
                    clipped |= 4;
                }
                if depth[1] >= 424.0 {
                    clipped |= 8;
                }
                let orientation = if LEAVES.contains(&k) {
                    [0.0; 4]
                } else {
                    let q = quat(&camera.rot_to_cam(&track.rots[f][k]));
                    [q[0] as f32, q[1] as f32, q[2] as f32, q[3] as f32]
                };
                joints.push(NtuJoint {
                    position: [p[0] as f32, p[1] as f32, p[2] as f32],
                    depth: [depth[0] as f32, depth[1] as f32],
                    color: [color[0] as f32, color[1] as f32],
                    orientation,
                    tracking_state: state,
                });
            }
            let hand_state = |wrist: usize| -> (i32, i32) {
                if joints[wrist].tracking_state == 2 {
                    (1, if track.joints[f][wrist][1] > track.joints[f][j::SPINE_MID][1] { 2 } else { 1 })
                } else {
                    (0, 0)
                }
            };
            let (lc, ls) = hand_state(j::WRIST_L);
            let (rc, rs) = hand_state(j::WRIST_R);
            let lean = track.lean[f];
            bodies.push(NtuBody {
                body_id: body_ids[t],
                clipped_edges: clipped,
                hand_left_confidence: lc,
                hand_left_state: ls,
                hand_right_confidence: rc,
                hand_right_state: rs,
                is_restricted: 0,
                lean: [(lean[1] * 1.5).clamp(-1.0, 1.0) as f32, (lean[0] * 1.2).clamp(-1.0, 1.0) as f32],
                tracking_state: 2,
                joints,
            });
        }
        out.frames.push(NtuFrame { bodies });
    }
    out
}

/// Folder of the `.skeleton` files below the `ntu` output folder (the name
/// of the released archive's folder).
pub const SKELETON_DIR: &str = "nturgb+d_skeletons";

/// Writes every sample of the preset into `dir/nturgb+d_skeletons/`.
pub(crate) fn write_all(
    seed: u64,
    spec: &crate::PresetSpec,
    classes: &[usize],
    dir: &std::path::Path,
    progress: &dyn crate::Progress,
) -> Result<serde_json::Value, crate::SynthError> {
    let names = plan(spec.ntu_subjects, spec.ntu_setup_passes, spec.ntu_replications, classes);
    let skel_dir = dir.join(SKELETON_DIR);
    crate::create_dir(&skel_dir)?;
    progress.start("ntu", names.len() as u64);
    crate::for_each_batched(&names, progress, |name| {
        let sk = ntu_sample(seed, name, spec.ntu_frame_scale, spec.ntu_subjects);
        let path = skel_dir.join(format!("{name}.skeleton"));
        actionbench_formats::ntu_write::write_ntu_skeleton(&path, &sk)?;
        Ok(())
    })?;
    progress.finish("ntu");
    let dataset = if spec.ntu_subjects <= 40 { "ntu60" } else { "ntu120" };
    Ok(serde_json::json!({"samples": names.len(), "dir": format!("ntu/{SKELETON_DIR}"), "dataset": dataset}))
}
