//! A performance: one action by one or two subjects, as world-space joint
//! positions and rotations per frame (before any camera or sensor model).

use std::f64::consts::PI;

use rand::Rng;

use crate::body::{JOINTS, Subject, forward};
use crate::math::{M3, V3, add, scale};
use crate::motion::{CLASSES, MotionParams, angles, to_pose};
use crate::rng::rng_for;

/// One person through a performance.
#[derive(Debug, Clone)]
pub struct Track {
    /// The subject.
    pub subject: Subject,
    /// World joint positions per frame.
    pub joints: Vec<[V3; JOINTS]>,
    /// World joint rotations per frame.
    pub rots: Vec<[M3; JOINTS]>,
    /// Forward and sideways lean of the spine per frame (radians).
    pub lean: Vec<[f64; 2]>,
}

/// One performance.
#[derive(Debug, Clone)]
pub struct Performance {
    /// Class index.
    pub class: usize,
    /// The people (actor first).
    pub tracks: Vec<Track>,
    /// The actor's motion parameters.
    pub params: MotionParams,
}

impl Performance {
    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.tracks.first().map_or(0, |t| t.joints.len())
    }
}

/// The subject with id `id` (same proportions wherever it appears).
pub fn subject(seed: u64, id: u16) -> Subject {
    Subject::random(id, &mut rng_for(seed, "subject", &[id as u64]))
}

/// Performs `class` with `frames` frames: the actor stands near `center`
/// facing `yaw`; a partner (interactions) faces or follows the actor.
pub fn perform(
    class: usize,
    actor: &Subject,
    partner: Option<&Subject>,
    frames: usize,
    center: V3,
    yaw: f64,
    rng: &mut impl Rng,
) -> Performance {
    let params = MotionParams::random(rng);
    let ahead = [yaw.sin(), 0.0, yaw.cos()];
    let two = CLASSES[class].persons == 2;
    let mut people: Vec<(&Subject, V3, f64, MotionParams)> = Vec::new();
    if two {
        let partner = partner.unwrap_or(actor);
        let mut pp = params.clone();
        let other = MotionParams::random(rng);
        pp.posture = other.posture;
        pp.sway = other.sway;
        pp.side = 1;
        if class == 19 {
            // following: the partner walks behind the actor, same direction.
            let gap = rng.random_range(0.9..1.4);
            people.push((actor, add(center, scale(ahead, gap / 2.0)), yaw, params.clone()));
            people.push((partner, add(center, scale(ahead, -gap / 2.0)), yaw + rng.random_range(-0.1..0.1), pp));
        } else {
            let gap = rng.random_range(1.0..1.35);
            people.push((actor, add(center, scale(ahead, -gap / 2.0)), yaw, params.clone()));
            people.push((partner, add(center, scale(ahead, gap / 2.0)), yaw + PI + rng.random_range(-0.15..0.15), pp));
        }
    } else {
        people.push((actor, center, yaw, params.clone()));
    }
    let tracks = people
        .iter()
        .enumerate()
        .map(|(who, (subject, base, yaw, p))| {
            let mut track = Track {
                subject: (*subject).clone(),
                joints: Vec::with_capacity(frames),
                rots: Vec::with_capacity(frames),
                lean: Vec::with_capacity(frames),
            };
            for f in 0..frames {
                let u = if frames > 1 { f as f64 / (frames - 1) as f64 } else { 0.0 };
                let a = angles(class, who, u, p);
                let pose = to_pose(&a, subject, *base, *yaw);
                let (pos, rot) = forward(subject, &pose);
                track.joints.push(pos);
                track.rots.push(rot);
                track.lean.push([a.spine_flex, a.spine_side]);
            }
            track
        })
        .collect();
    Performance { class, tracks, params }
}
