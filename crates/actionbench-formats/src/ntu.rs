//! NTU RGB+D 60/120 skeletons (docs/formats.md §1): `.skeleton` text
//! files, sample names `SsssCcccPpppRrrrAaaa`, the lists of samples with
//! missing skeletons, and the official benchmark splits.
//!
//! Grammar (one record per line, fields separated by any whitespace, `\n`
//! or `\r\n` line ends, blank lines ignored):
//!
//! ```text
//! frameCount
//! per frame:  bodyCount                       (0 allowed)
//!   per body: 10 body fields                  (bodyID is a u64, kept exact)
//!             jointCount                      (25)
//!             jointCount × 12 joint fields
//! ```
//!
//! Every error names the file and the 1-based line, says which record was
//! expected and what was found. Nothing after the last frame is allowed.

use std::fmt;
use std::path::Path;

use crate::error::{Error, Result, read_bytes, read_text};
use crate::ntu_joint_line::JointLineSimd;

/// Joints per body in NTU RGB+D (Kinect v2).
pub const NTU_JOINTS: usize = 25;

/// Names of the 25 joints in file order (Kinect v2).
pub const NTU_JOINT_NAMES: [&str; NTU_JOINTS] = [
    "SpineBase",
    "SpineMid",
    "Neck",
    "Head",
    "ShoulderLeft",
    "ElbowLeft",
    "WristLeft",
    "HandLeft",
    "ShoulderRight",
    "ElbowRight",
    "WristRight",
    "HandRight",
    "HipLeft",
    "KneeLeft",
    "AnkleLeft",
    "FootLeft",
    "HipRight",
    "KneeRight",
    "AnkleRight",
    "FootRight",
    "SpineShoulder",
    "HandTipLeft",
    "ThumbLeft",
    "HandTipRight",
    "ThumbRight",
];

/// The fields of a sample name `SsssCcccPpppRrrrAaaa`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NtuSampleName {
    /// Setup number (`S`).
    pub setup: u16,
    /// Camera id 1–3 (`C`).
    pub camera: u16,
    /// Performer id (`P`).
    pub subject: u16,
    /// Replication 1–2 (`R`).
    pub replication: u16,
    /// Action class, 1-based (`A`).
    pub action: u16,
}

impl NtuSampleName {
    /// Parses a 20-character stem such as `S001C002P003R002A013`.
    pub fn parse(stem: &str) -> Option<Self> {
        let b = stem.as_bytes();
        if b.len() != 20 {
            return None;
        }
        let field = |at: usize, letter: u8| -> Option<u16> {
            if b[at] != letter || !b[at + 1..at + 4].iter().all(u8::is_ascii_digit) {
                return None;
            }
            stem[at + 1..at + 4].parse().ok()
        };
        Some(Self {
            setup: field(0, b'S')?,
            camera: field(4, b'C')?,
            subject: field(8, b'P')?,
            replication: field(12, b'R')?,
            action: field(16, b'A')?,
        })
    }

    /// Parses the stem of a file name (`…/S001C002P003R002A013.skeleton`).
    pub fn from_path(path: &Path) -> Option<Self> {
        Self::parse(path.file_stem()?.to_str()?)
    }

    /// The 0-based label all reference code uses (`action − 1`).
    pub fn label(&self) -> u16 {
        self.action.saturating_sub(1)
    }
}

impl fmt::Display for NtuSampleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "S{:03}C{:03}P{:03}R{:03}A{:03}",
            self.setup, self.camera, self.subject, self.replication, self.action
        )
    }
}

/// The two releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NtuDataset {
    /// NTU RGB+D 60: setups 1–17, actions 1–60, subjects 1–40.
    Ntu60,
    /// NTU RGB+D 120: setups 1–32, actions 1–120, subjects 1–106.
    Ntu120,
}

impl NtuDataset {
    /// `ntu60` / `ntu120`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ntu60 => "ntu60",
            Self::Ntu120 => "ntu120",
        }
    }

    /// Whether a sample name is within this release's ranges.
    pub fn contains(self, s: &NtuSampleName) -> bool {
        let (setups, actions, subjects) = match self {
            Self::Ntu60 => (17, 60, 40),
            Self::Ntu120 => (32, 120, 106),
        };
        (1..=setups).contains(&s.setup)
            && (1..=3).contains(&s.camera)
            && (1..=subjects).contains(&s.subject)
            && (1..=2).contains(&s.replication)
            && (1..=actions).contains(&s.action)
    }

    /// The two official benchmarks of the release.
    pub fn benchmarks(self) -> [NtuBenchmark; 2] {
        match self {
            Self::Ntu60 => [NtuBenchmark::Ntu60XSub, NtuBenchmark::Ntu60XView],
            Self::Ntu120 => [NtuBenchmark::Ntu120XSub, NtuBenchmark::Ntu120XSet],
        }
    }
}

/// Training subjects of NTU60 cross-subject (all others are test).
pub const NTU60_XSUB_TRAIN_SUBJECTS: [u16; 20] =
    [1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38];

/// Training subjects of NTU120 cross-subject: the NTU60 ones plus 33 more.
pub const NTU120_XSUB_TRAIN_SUBJECTS: [u16; 53] = [
    1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38, 45, 46, 47, 49, 50, 52, 53, 54, 55, 56,
    57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92, 93, 94, 95, 97, 98, 100, 103,
];

/// The official benchmarks (docs/formats.md §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NtuBenchmark {
    /// NTU60 cross-subject: 20 training subjects.
    Ntu60XSub,
    /// NTU60 cross-view: cameras 2 and 3 train, camera 1 test.
    Ntu60XView,
    /// NTU120 cross-subject: 53 training subjects.
    Ntu120XSub,
    /// NTU120 cross-setup: even setups train, odd setups test.
    Ntu120XSet,
}

impl NtuBenchmark {
    /// Column / split-name prefix: `xsub`, `xview`, `xset` (as in the
    /// pyskl split names `xsub_train`…).
    pub fn name(self) -> &'static str {
        match self {
            Self::Ntu60XSub | Self::Ntu120XSub => "xsub",
            Self::Ntu60XView => "xview",
            Self::Ntu120XSet => "xset",
        }
    }

    /// `"train"` or `"val"` for a sample.
    pub fn split(self, s: &NtuSampleName) -> &'static str {
        let train = match self {
            Self::Ntu60XSub => NTU60_XSUB_TRAIN_SUBJECTS.contains(&s.subject),
            Self::Ntu60XView => s.camera == 2 || s.camera == 3,
            Self::Ntu120XSub => NTU120_XSUB_TRAIN_SUBJECTS.contains(&s.subject),
            Self::Ntu120XSet => s.setup.is_multiple_of(2),
        };
        if train { "train" } else { "val" }
    }
}

/// NTU60 cross-subject split of a sample: `"train"` or `"val"`.
pub fn ntu60_xsub_split(s: &NtuSampleName) -> &'static str {
    NtuBenchmark::Ntu60XSub.split(s)
}

/// NTU60 cross-view split of a sample: `"train"` or `"val"`.
pub fn ntu60_xview_split(s: &NtuSampleName) -> &'static str {
    NtuBenchmark::Ntu60XView.split(s)
}

/// NTU120 cross-subject split of a sample: `"train"` or `"val"`.
pub fn ntu120_xsub_split(s: &NtuSampleName) -> &'static str {
    NtuBenchmark::Ntu120XSub.split(s)
}

/// NTU120 cross-setup split of a sample: `"train"` or `"val"`.
pub fn ntu120_xset_split(s: &NtuSampleName) -> &'static str {
    NtuBenchmark::Ntu120XSet.split(s)
}

/// One joint (12 fields).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NtuJoint {
    /// x, y, z in metres, Kinect camera space.
    pub position: [f32; 3],
    /// depthX, depthY: pixels in the 512×424 depth frame.
    pub depth: [f32; 2],
    /// colorX, colorY: pixels in the 1920×1080 colour frame.
    pub color: [f32; 2],
    /// Orientation quaternion W, X, Y, Z.
    pub orientation: [f32; 4],
    /// 0 not tracked, 1 inferred, 2 tracked.
    pub tracking_state: i32,
}

/// One body of a frame (10 fields and its joints).
#[derive(Debug, Clone, PartialEq)]
pub struct NtuBody {
    /// Kinect tracking id (exceeds f64 precision: kept as u64).
    pub body_id: u64,
    /// Clipped-edges bit mask.
    pub clipped_edges: i32,
    /// Left-hand confidence.
    pub hand_left_confidence: i32,
    /// Left-hand state.
    pub hand_left_state: i32,
    /// Right-hand confidence.
    pub hand_right_confidence: i32,
    /// Right-hand state.
    pub hand_right_state: i32,
    /// `isRestricted`.
    pub is_restricted: i32,
    /// leanX, leanY.
    pub lean: [f32; 2],
    /// Body tracking state.
    pub tracking_state: i32,
    /// The joints, in file order.
    pub joints: Vec<NtuJoint>,
}

/// One frame: its bodies in file order (possibly none).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NtuFrame {
    /// The bodies.
    pub bodies: Vec<NtuBody>,
}

/// A decoded `.skeleton` file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NtuSkeleton {
    /// The frames.
    pub frames: Vec<NtuFrame>,
}

impl NtuSkeleton {
    /// The largest number of bodies in one frame.
    pub fn max_bodies(&self) -> usize {
        self.frames.iter().map(|f| f.bodies.len()).max().unwrap_or(0)
    }
}

/// A file's values as flat row-major arrays over `[frame, body, ...]`,
/// bodies padded with zeros to [`bodies`](Self::bodies): the layout of the
/// ingest tables' tensor columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NtuArrays {
    /// Frames in the file.
    pub frames: usize,
    /// The body dimension: the most bodies in a frame, capped by the
    /// caller's `max_bodies`.
    pub bodies: usize,
    /// The most bodies in one frame of the file (before the cap).
    pub max_bodies_in_file: usize,
    /// Bodies of each frame, as in the file `[frame]`.
    pub frame_num_bodies: Vec<i32>,
    /// Tracking ids `[frame, body]`.
    pub body_ids: Vec<u64>,
    /// leanX, leanY `[frame, body, 2]`.
    pub body_lean: Vec<f32>,
    /// clippedEdges, hand confidences and states, isRestricted, trackingState `[frame, body, 7]`.
    pub body_state: Vec<i32>,
    /// x, y, z in metres `[frame, body, 25, 3]`.
    pub joints: Vec<f32>,
    /// depthX, depthY `[frame, body, 25, 2]`.
    pub depth: Vec<f32>,
    /// colorX, colorY `[frame, body, 25, 2]`.
    pub color: Vec<f32>,
    /// Orientation W, X, Y, Z `[frame, body, 25, 4]`.
    pub orientation: Vec<f32>,
    /// Joint tracking states, clamped to i8 `[frame, body, 25]`.
    pub joint_tracking: Vec<i8>,
}

impl NtuArrays {
    /// The arrays of a decoded file, keeping at most `max_bodies` bodies
    /// of each frame (its first ones).
    pub fn from_skeleton(skeleton: &NtuSkeleton, max_bodies: Option<usize>) -> Self {
        let mut sink = ArraySink::new(max_bodies);
        for frame in &skeleton.frames {
            sink.frame(frame.bodies.len());
            for b in &frame.bodies {
                let ints = [
                    b.clipped_edges,
                    b.hand_left_confidence,
                    b.hand_left_state,
                    b.hand_right_confidence,
                    b.hand_right_state,
                    b.is_restricted,
                ];
                let mut joints = [([0f32; 11], 0); NTU_JOINTS];
                for (line, j) in joints.iter_mut().zip(&b.joints) {
                    let [x, y, z] = j.position;
                    let [w, ox, oy, oz] = j.orientation;
                    *line =
                        ([x, y, z, j.depth[0], j.depth[1], j.color[0], j.color[1], w, ox, oy, oz], j.tracking_state);
                }
                let line = BodyLine { body_id: b.body_id, ints, lean: b.lean, tracking_state: b.tracking_state };
                sink.body(line, &joints);
            }
        }
        sink.finish()
    }
}

/// Builds [`NtuArrays`]: values are appended in file order (the layout
/// already, when every frame has the same number of bodies) and spread
/// into padded rows at the end otherwise.
struct ArraySink {
    limit: usize,
    /// Bodies kept so far in the current frame.
    kept: usize,
    arrays: NtuArrays,
}

impl Sink for ArraySink {
    fn frame(&mut self, bodies: usize) {
        let a = &mut self.arrays;
        a.frames += 1;
        a.frame_num_bodies.push(bodies as i32);
        a.max_bodies_in_file = a.max_bodies_in_file.max(bodies);
        self.kept = 0;
    }

    fn body(&mut self, b: BodyLine, joints: &[JointLine; NTU_JOINTS]) {
        self.kept += 1;
        if self.kept > self.limit {
            return;
        }
        let a = &mut self.arrays;
        a.body_ids.push(b.body_id);
        a.body_lean.extend_from_slice(&b.lean);
        a.body_state.extend_from_slice(&b.ints);
        a.body_state.push(b.tracking_state);
        a.joints.extend(joints.iter().flat_map(|(v, _)| [v[0], v[1], v[2]]));
        a.depth.extend(joints.iter().flat_map(|(v, _)| [v[3], v[4]]));
        a.color.extend(joints.iter().flat_map(|(v, _)| [v[5], v[6]]));
        a.orientation.extend(joints.iter().flat_map(|(v, _)| [v[7], v[8], v[9], v[10]]));
        let clamp = |state: i32| state.clamp(i8::MIN.into(), i8::MAX.into()) as i8;
        a.joint_tracking.extend(joints.iter().map(|&(_, state)| clamp(state)));
    }
}

impl ArraySink {
    fn new(max_bodies: Option<usize>) -> Self {
        Self { limit: max_bodies.unwrap_or(usize::MAX), kept: 0, arrays: NtuArrays::default() }
    }

    fn finish(self) -> NtuArrays {
        let mut a = self.arrays;
        a.bodies = a.max_bodies_in_file.min(self.limit);
        let kept = |n: &i32| (*n as usize).min(self.limit);
        if a.frame_num_bodies.iter().all(|n| kept(n) == a.bodies) {
            return a;
        }
        // Frames with fewer bodies: spread each frame's bodies into rows of
        // `bodies` slots.
        fn spread<T: Copy + Default>(packed: &[T], counts: &[usize], slots: usize, per_body: usize) -> Vec<T> {
            let mut out = vec![T::default(); counts.len() * slots * per_body];
            let mut at = 0;
            for (f, &n) in counts.iter().enumerate() {
                let len = n * per_body;
                out[f * slots * per_body..][..len].copy_from_slice(&packed[at..at + len]);
                at += len;
            }
            out
        }
        let counts: Vec<usize> = a.frame_num_bodies.iter().map(kept).collect();
        let b = a.bodies;
        a.body_ids = spread(&a.body_ids, &counts, b, 1);
        a.body_lean = spread(&a.body_lean, &counts, b, 2);
        a.body_state = spread(&a.body_state, &counts, b, 7);
        a.joints = spread(&a.joints, &counts, b, NTU_JOINTS * 3);
        a.depth = spread(&a.depth, &counts, b, NTU_JOINTS * 2);
        a.color = spread(&a.color, &counts, b, NTU_JOINTS * 2);
        a.orientation = spread(&a.orientation, &counts, b, NTU_JOINTS * 4);
        a.joint_tracking = spread(&a.joint_tracking, &counts, b, NTU_JOINTS);
        a
    }
}

const MAX_FIELDS: usize = 12;

/// Whitespace-tokenised records, one per non-blank line.
struct Records<'a> {
    rest: &'a [u8],
    line: u64,
    path: &'a Path,
    /// The whole-line joint parser, where the CPU has it.
    simd: Option<JointLineSimd>,
}

struct Record<'a> {
    line: u64,
    count: usize,
    fields: [&'a str; MAX_FIELDS],
}

/// Exact powers of ten in f32 (5^10 < 2^24).
const POW10_F32: [f32; 11] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

/// `[-]digits[.digits]` with at most 2^24 as the digits' integer and at
/// most 10 fraction digits: the Kinect's numbers (`0.2181352`, `1036.612`).
/// Both the integer and the power of ten are exact in f32, so one IEEE
/// division is the correctly rounded value — the same bits as `str::parse`
/// (Clinger's fast path). Written here because float parsing is most of NTU
/// ingest and lexical-core's general parser takes about three times as long
/// on these short fields; any other shape returns `None` for lexical-core.
fn short_decimal(bytes: &[u8]) -> Option<(f32, usize)> {
    let negative = bytes.first() == Some(&b'-');
    let start = usize::from(negative);
    let (mantissa, fraction, end) = short_decimal_parts(bytes, start)?;
    if mantissa > 1 << 24 || fraction >= POW10_F32.len() {
        return None;
    }
    let value = mantissa as f32 / POW10_F32[fraction];
    // The sign as a bit, not a branch: signs are random in joint data, so
    // a branch here mispredicts every other field.
    Some((f32::from_bits(value.to_bits() | (u32::from(negative) << 31)), end))
}

/// Mantissa, fraction digits and end of `digits[.digits]`. A byte at a
/// time: a SWAR version (eight digits per step) measured slower here, its
/// field ends being one long dependency chain that branch prediction hides.
fn short_decimal_parts(bytes: &[u8], start: usize) -> Option<(u64, usize, usize)> {
    let mut at = start;
    let (mut mantissa, mut digits, mut fraction, mut point) = (0u64, 0usize, 0usize, false);
    while let Some(&c) = bytes.get(at) {
        match c {
            b'0'..=b'9' if digits < 18 => {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                digits += 1;
                fraction += usize::from(point);
            }
            b'0'..=b'9' => return None,
            b'.' if !point => point = true,
            _ => break,
        }
        at += 1;
    }
    (digits > 0).then_some((mantissa, fraction, at))
}

impl<'a> Records<'a> {
    /// The next non-blank line (`None` at the end of the file).
    fn next(&mut self) -> Result<Option<Record<'a>>> {
        while !self.rest.is_empty() {
            let end = memchr::memchr(b'\n', self.rest).unwrap_or(self.rest.len());
            let raw = &self.rest[..end];
            self.rest = self.rest.get(end + 1..).unwrap_or_default();
            self.line += 1;
            let text = std::str::from_utf8(raw).map_err(|_| Error::line(self.path, self.line, "not ASCII text"))?;
            let mut record = Record { line: self.line, count: 0, fields: [""; MAX_FIELDS] };
            for tok in text.split_ascii_whitespace() {
                if record.count < MAX_FIELDS {
                    record.fields[record.count] = tok;
                }
                record.count += 1;
            }
            if record.count > 0 {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    /// Fast path for a joint line: 11 floats and an integer separated by
    /// blanks, parsed straight from the bytes (no UTF-8 pass, no token
    /// array). Anything else — another field count, a field lexical-core
    /// stops inside, a blank line first — returns `None` with nothing
    /// consumed, and the caller takes the general path, which accepts
    /// exactly what `str::parse` accepts and words the error.
    fn joint_line(&mut self) -> Option<([f32; 11], i32)> {
        if let Some((values, state, used)) = self.simd.and_then(|simd| simd.joint_line(self.rest)) {
            self.rest = &self.rest[used..];
            self.line += 1;
            return Some((values, state));
        }
        let bytes = self.rest;
        let blank = |c: u8| matches!(c, b' ' | b'\t' | b'\r' | b'\x0c');
        let mut at = 0;
        // Where the next field starts, which must be on this line.
        let field = |at: &mut usize| -> Option<usize> {
            while *at < bytes.len() && blank(bytes[*at]) {
                *at += 1;
            }
            (*at < bytes.len() && bytes[*at] != b'\n').then_some(*at)
        };
        // A field ends at a blank, the end of the line or the end of the file.
        let ends_field = |i: usize| bytes.get(i).is_none_or(|&c| blank(c) || c == b'\n');
        let mut values = [0f32; 11];
        for v in &mut values {
            let start = field(&mut at)?;
            // The short form when it spans the whole field (`1e-7` stops it
            // at `e`), else lexical-core.
            let (value, used) = short_decimal(&bytes[start..])
                .filter(|&(_, used)| ends_field(start + used))
                .or_else(|| lexical_core::parse_partial::<f32>(&bytes[start..]).ok())?;
            at = start + used;
            if used == 0 || !ends_field(at) {
                return None;
            }
            *v = value;
        }
        let start = field(&mut at)?;
        let digits = bytes[start..].iter().take_while(|c| c.is_ascii_digit()).count();
        // A bare small decimal (the tracking state 0, 1 or 2); a sign or
        // anything longer takes the general path.
        if digits == 0 || digits > 9 {
            return None;
        }
        let state = bytes[start..start + digits].iter().fold(0i32, |n, &c| n * 10 + i32::from(c - b'0'));
        at = start + digits;
        while at < bytes.len() && blank(bytes[at]) {
            at += 1;
        }
        match bytes.get(at) {
            None => self.rest = &[],
            Some(b'\n') => self.rest = &bytes[at + 1..],
            Some(_) => return None,
        }
        self.line += 1;
        Some((values, state))
    }

    /// The next record, which must exist and have `n` fields. `what` names
    /// it in errors; it is a closure so the hot path formats nothing.
    fn expect(&mut self, n: usize, what: impl FnOnce() -> String) -> Result<Record<'a>> {
        match self.next()? {
            Some(r) if r.count == n => Ok(r),
            Some(r) => Err(Error::line(
                self.path,
                r.line,
                format!("expected {} ({n} field{}), found {} fields", what(), if n == 1 { "" } else { "s" }, r.count),
            )),
            None => Err(Error::line(
                self.path,
                self.line + 1,
                format!("unexpected end of file: expected {} (the file is truncated)", what()),
            )
            .with_hint("Re-extract the file from the NTU RGB+D archive")),
        }
    }
}

impl Record<'_> {
    fn parse<T: std::str::FromStr>(&self, i: usize, name: &str, kind: &str, path: &Path) -> Result<T> {
        let tok = self.fields[i];
        tok.parse()
            .map_err(|_| Error::line(path, self.line, format!("field {} ({name}): `{tok}` is not {kind}", i + 1)))
    }

    /// A float field: lexical-core on the hot path (several times faster
    /// than `str::parse`, same correctly rounded value); whatever it refuses
    /// goes through `str::parse`, so the accepted syntax is std's.
    fn f32(&self, i: usize, name: &str, path: &Path) -> Result<f32> {
        match lexical_core::parse::<f32>(self.fields[i].as_bytes()) {
            Ok(v) => Ok(v),
            Err(_) => self.parse(i, name, "a number", path),
        }
    }

    fn int(&self, i: usize, name: &str, path: &Path) -> Result<i32> {
        self.parse(i, name, "an integer", path)
    }

    fn count(&self, name: &str, path: &Path) -> Result<usize> {
        self.parse(0, name, "a non-negative integer", path)
    }
}

const BODY_FIELDS: [&str; 10] = [
    "bodyID",
    "clippedEdges",
    "handLeftConfidence",
    "handLeftState",
    "handRightConfidence",
    "handRightState",
    "isRestricted",
    "leanX",
    "leanY",
    "trackingState",
];

const JOINT_FIELDS: [&str; 12] = [
    "x",
    "y",
    "z",
    "depthX",
    "depthY",
    "colorX",
    "colorY",
    "orientationW",
    "orientationX",
    "orientationY",
    "orientationZ",
    "trackingState",
];

/// Parses the bytes of a `.skeleton` file; `path` is used in errors.
pub fn parse_ntu_skeleton(bytes: &[u8], path: &Path) -> Result<NtuSkeleton> {
    let mut skeleton = NtuSkeleton::default();
    parse_into(bytes, path, &mut skeleton)?;
    Ok(skeleton)
}

/// Parses the bytes of a `.skeleton` file straight into [`NtuArrays`]
/// (the same values as [`NtuArrays::from_skeleton`] of
/// [`parse_ntu_skeleton`], without building the per-joint structs).
pub fn parse_ntu_arrays(bytes: &[u8], path: &Path, max_bodies: Option<usize>) -> Result<NtuArrays> {
    let mut sink = ArraySink::new(max_bodies);
    // Room for the joint lines the file can hold (a Kinect joint line is
    // 80–115 bytes), so the arrays are not copied as they grow.
    let lines = bytes.len() / 64;
    let a = &mut sink.arrays;
    a.joints.reserve(lines * 3);
    a.depth.reserve(lines * 2);
    a.color.reserve(lines * 2);
    a.orientation.reserve(lines * 4);
    a.joint_tracking.reserve(lines);
    parse_into(bytes, path, &mut sink)?;
    Ok(sink.finish())
}

/// The fields of a body line.
struct BodyLine {
    body_id: u64,
    ints: [i32; 6],
    lean: [f32; 2],
    tracking_state: i32,
}

/// A joint line: the eleven floats and the tracking state.
type JointLine = ([f32; 11], i32);

/// Where the parser puts what it reads, in file order: a body comes with
/// all its joints, so a sink copies them in one go.
trait Sink {
    fn frame(&mut self, bodies: usize);
    fn body(&mut self, body: BodyLine, joints: &[JointLine; NTU_JOINTS]);
}

impl Sink for NtuSkeleton {
    fn frame(&mut self, bodies: usize) {
        self.frames.push(NtuFrame { bodies: Vec::with_capacity(bodies.min(8)) });
    }

    fn body(&mut self, b: BodyLine, joints: &[JointLine; NTU_JOINTS]) {
        let joints = joints.iter().map(|&(v, tracking_state)| NtuJoint {
            position: [v[0], v[1], v[2]],
            depth: [v[3], v[4]],
            color: [v[5], v[6]],
            orientation: [v[7], v[8], v[9], v[10]],
            tracking_state,
        });
        let frame = self.frames.last_mut().expect("a body follows its frame line");
        frame.bodies.push(NtuBody {
            body_id: b.body_id,
            clipped_edges: b.ints[0],
            hand_left_confidence: b.ints[1],
            hand_left_state: b.ints[2],
            hand_right_confidence: b.ints[3],
            hand_right_state: b.ints[4],
            is_restricted: b.ints[5],
            lean: b.lean,
            tracking_state: b.tracking_state,
            joints: joints.collect(),
        });
    }
}

/// The parser: checks the whole file and hands its values to `sink`.
fn parse_into(bytes: &[u8], path: &Path, sink: &mut impl Sink) -> Result<()> {
    let mut r = Records { rest: bytes, line: 0, path, simd: JointLineSimd::detect() };
    let header = match r.next()? {
        Some(h) => h,
        None => {
            return Err(Error::line(path, 1, "the file is empty: expected the frame count"));
        }
    };
    if header.count != 1 {
        return Err(Error::line(
            path,
            header.line,
            format!("expected the frame count (1 field), found {} fields", header.count),
        ));
    }
    let frame_count = header.count("frameCount", path)?;
    for f in 0..frame_count {
        let what = || format!("the body count of frame {} of {frame_count}", f + 1);
        let body_count = r.expect(1, what)?.count("bodyCount", path)?;
        sink.frame(body_count);
        for b in 0..body_count {
            let info = r.expect(10, || format!("body {} of frame {}: the body line", b + 1, f + 1))?;
            let body_id: u64 = info.parse(0, BODY_FIELDS[0], "an unsigned 64-bit integer", path)?;
            let ints: [i32; 6] = [
                info.int(1, BODY_FIELDS[1], path)?,
                info.int(2, BODY_FIELDS[2], path)?,
                info.int(3, BODY_FIELDS[3], path)?,
                info.int(4, BODY_FIELDS[4], path)?,
                info.int(5, BODY_FIELDS[5], path)?,
                info.int(6, BODY_FIELDS[6], path)?,
            ];
            let lean = [info.f32(7, BODY_FIELDS[7], path)?, info.f32(8, BODY_FIELDS[8], path)?];
            let tracking_state = info.int(9, BODY_FIELDS[9], path)?;
            let jc = r.expect(1, || format!("body {} of frame {}: the joint count", b + 1, f + 1))?;
            let joint_count = jc.count("jointCount", path)?;
            if joint_count != NTU_JOINTS {
                return Err(Error::line(
                    path,
                    jc.line,
                    format!("expected {NTU_JOINTS} joints (Kinect v2), found a joint count of {joint_count}"),
                ));
            }
            let mut joints = [([0f32; 11], 0); NTU_JOINTS];
            for (j, joint) in joints.iter_mut().enumerate() {
                *joint = match r.joint_line() {
                    Some(parsed) => parsed,
                    None => {
                        let line = r.expect(12, || {
                            format!("joint {} of body {} in frame {}: the joint line", j + 1, b + 1, f + 1)
                        })?;
                        let mut v = [0f32; 11];
                        for (i, slot) in v.iter_mut().enumerate() {
                            *slot = line.f32(i, JOINT_FIELDS[i], path)?;
                        }
                        (v, line.int(11, JOINT_FIELDS[11], path)?)
                    }
                };
            }
            sink.body(BodyLine { body_id, ints, lean, tracking_state }, &joints);
        }
    }
    if let Some(extra) = r.next()? {
        return Err(Error::line(
            path,
            extra.line,
            format!("unexpected content after the last of {frame_count} frames"),
        )
        .with_hint("The frame count on line 1 may be wrong"));
    }
    Ok(())
}

/// Reads a `.skeleton` file.
pub fn read_ntu_skeleton(path: &Path) -> Result<NtuSkeleton> {
    parse_ntu_skeleton(&read_bytes(path)?, path)
}

/// The sample names of a missing-skeleton list: lines that are a 20-char
/// sample name (surrounding whitespace ignored); other lines — the prose
/// header of the official NTURGB-D copies, blank lines — are skipped.
pub fn parse_ntu_missing_list(text: &str) -> Vec<NtuSampleName> {
    text.lines().filter_map(|l| NtuSampleName::parse(l.trim())).collect()
}

/// Reads a missing-skeleton list (bare, or with the official prose header).
pub fn read_ntu_missing_list(path: &Path) -> Result<Vec<NtuSampleName>> {
    Ok(parse_ntu_missing_list(&read_text(path)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_fields_parse_exactly_as_std_does() {
        let path = Path::new("x.skeleton");
        let tokens = [
            "0.2181352",
            "-0.2559622",
            "3.652",
            "1e-7",
            "-1.5E3",
            "+4.25",
            ".5",
            "5.",
            "0",
            "-0",
            "340.1234",
            "1.17549435e-38",
            "3.4028235e38",
            "1e39",
            "NaN",
            "inf",
            "-infinity",
            "0x10",
            "1,5",
            "",
            "abc",
            "1e",
            "--1",
            "0.30000001192092896",
            "123456789012345678901234567890",
        ];
        for tok in tokens {
            let mut fields = [""; MAX_FIELDS];
            fields[0] = tok;
            let record = Record { line: 1, count: 1, fields };
            let ours = record.f32(0, "x", path).ok();
            let std = tok.parse::<f32>().ok();
            assert_eq!(ours.map(f32::to_bits), std.map(f32::to_bits), "token `{tok}`");
        }
    }

    /// The short-decimal path gives `str::parse`'s bits on every input it
    /// takes, and takes the Kinect's fields.
    #[test]
    fn short_decimals_round_exactly_as_std_does() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut taken = 0;
        for i in 0..200_000u64 {
            let r = next();
            let int = r % [1, 10, 1000, 100_000, 20_000_000][(i % 5) as usize];
            let frac_digits = (r >> 40) as usize % 12;
            let frac = (next() % 10u64.pow(frac_digits as u32)).to_string();
            let mut text = format!("{}{int}", if r >> 63 == 1 { "-" } else { "" });
            if frac_digits > 0 || r & (1 << 20) != 0 {
                text = format!("{text}.{frac:0>frac_digits$}");
            }
            // Alone, and followed by the rest of a line.
            let padded = format!("{text} 0.25 1.5 2\r\n");
            for input in [text.as_str(), padded.as_str()] {
                if let Some((v, used)) = short_decimal(input.as_bytes()) {
                    taken += 1;
                    assert_eq!(used, text.len(), "{input:?}");
                    assert_eq!(v.to_bits(), text.parse::<f32>().unwrap().to_bits(), "{input:?}");
                }
            }
        }
        assert!(taken > 100_000, "only {taken} took the short path");
        for text in ["0.2181352", "-0.2559622", "3.785156", "277.4132", "1036.612", "-0", "5.", ".5", "16777216"] {
            for input in [text.to_string(), format!("{text}\t-0.5 1 2 3 4")] {
                let (v, used) = short_decimal(input.as_bytes()).unwrap();
                assert_eq!((v.to_bits(), used), (text.parse::<f32>().unwrap().to_bits(), text.len()), "{input:?}");
            }
        }
        for text in ["", "-", ".", "+1", "16777217", "0.00000000001", "1e5", "99999999999"] {
            let whole = short_decimal(text.as_bytes()).is_some_and(|(_, used)| used == text.len());
            assert!(!whole || text == "1e5", "{text} must not be taken whole");
        }
    }

    /// A joint line through the general path (float bits and state).
    fn general(line: &str) -> Option<([u32; 11], i32)> {
        let path = Path::new("x.skeleton");
        let mut r = Records { rest: line.as_bytes(), line: 0, path, simd: None };
        let rec = r.expect(12, String::new).ok()?;
        let mut v = [0u32; 11];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = rec.f32(i, "x", path).ok()?.to_bits();
        }
        Some((v, rec.int(11, "s", path).ok()?))
    }

    /// The joint-line fast path gives the general path's values bit for
    /// bit, or declines without consuming anything.
    #[test]
    fn joint_fast_path_matches_the_general_path_or_declines() {
        let path = Path::new("x.skeleton");
        let ok = "0.2181352 0.1725862 3.785 277.4 191.8 1036.6 541.5 -0.2 0.03 0.97 -0.1 2";
        let lines = [
            format!("{ok}\r\nnext"),
            format!("{ok}\n"),
            ok.to_string(),
            format!(" \t{ok} \r\n"),
            "1e-7 -1.5E3 +4.25 .5 5. 0 -0 1.17549435e-38 3.4028235e38 0.30000001192092896 7 0".into(),
            // Declined: the general path decides (and words any error).
            "1e39 NaN inf -infinity 1 2 3 4 5 6 7 1".into(),
            format!("{ok} 9"),
            ok.rsplit_once(' ').unwrap().0.to_string(),
            format!("\n{ok}"),
            ok.replace("3.785", "3,785"),
            ok.replace("3.785", "1e"),
            format!("{} +2", ok.rsplit_once(' ').unwrap().0),
            format!("{} -1", ok.rsplit_once(' ').unwrap().0),
            format!("{} 2x", ok.rsplit_once(' ').unwrap().0),
            "".into(),
        ];
        for line in &lines {
            let mut r = Records { rest: line.as_bytes(), line: 0, path, simd: None };
            match r.joint_line() {
                Some((v, state)) => {
                    assert_eq!(Some((v.map(f32::to_bits), state)), general(line), "{line:?}");
                    assert_eq!(r.line, 1);
                    assert_eq!(r.rest, line.split_once('\n').map_or("", |(_, rest)| rest).as_bytes(), "{line:?}");
                }
                None => {
                    assert_eq!((r.line, r.rest), (0, line.as_bytes()), "{line:?} consumed");
                }
            }
        }
        // The ordinary lines take the fast path.
        for line in &lines[..5] {
            assert!(Records { rest: line.as_bytes(), line: 0, path, simd: None }.joint_line().is_some(), "{line:?}");
        }
    }

    /// The AVX2 whole-line path gives the general path's values bit for
    /// bit or declines: on random Kinect lines, and with each field or
    /// blank replaced by an odd shape.
    #[test]
    fn joint_simd_path_matches_the_general_path_or_declines() {
        let Some(simd) = JointLineSimd::detect() else {
            // Only CPUs without AVX2 (or not x86-64) take the scalar path,
            // which the test above covers.
            #[cfg(target_arch = "x86_64")]
            assert!(!std::arch::is_x86_feature_detected!("avx2"), "AVX2 present but not detected");
            return;
        };
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let kinect = |next: &mut dyn FnMut() -> u64| -> Vec<String> {
            let mut f = |scale: f64, digits: usize| {
                let x = (next() % 2_000_001) as f64 / 1e6 - 1.0;
                format!("{:.*}", digits, x * scale)
            };
            let mut fields: Vec<String> = vec![f(1.0, 7), f(1.0, 7), f(4.0, 6), f(512.0, 4), f(424.0, 4)];
            fields.extend([f(1920.0, 3), f(1080.0, 3), f(1.0, 7), f(0.1, 8), f(1.0, 7), f(0.1, 8)]);
            fields.push((next() % 3).to_string());
            fields
        };
        let filler = "0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0 1.1 2\r\n".repeat(8);
        let check = |line: &str, must_take: bool| {
            let buffer = format!("{line}\n{filler}");
            match simd.joint_line(buffer.as_bytes()) {
                Some((v, state, used)) => {
                    assert_eq!(used, line.len() + 1, "{line:?}");
                    assert_eq!(Some((v.map(f32::to_bits), state)), general(line), "{line:?}");
                }
                None => assert!(!must_take, "{line:?} declined"),
            }
        };
        let odd: Vec<&str> = "1e-7 -1.5E3 +4.25 .5 5. -.5 -5. - . -. -0 0 00000000000000.5 1..2 1.2.3 --1 1-2 1.-2 \
            12345678901234567 1234567890123456 0.000000000001 0.0000000001 99999999 16777216 16777217 \
            0.16777217 1677721.6 NaN inf 0x10 a 1,5 \u{e9} 1\x0b2 9.9999999"
            .split_ascii_whitespace()
            .collect();
        for _ in 0..3000 {
            let fields = kinect(&mut next);
            check(&fields.join(" "), true);
            check(&format!("{}\r", fields.join(" ")), true);
            let spaced = format!(" \t{}\x0c \r", fields.join("  "));
            check(&spaced, spaced.len() < 128);
            // One field replaced, one blank changed, a field too many or
            // too few, a line too long.
            let mut changed = fields.clone();
            changed[(next() % 12) as usize] = odd[(next() % odd.len() as u64) as usize].to_string();
            check(&changed.join(" "), false);
            let mut joined = fields.join(" ");
            let blank = joined.match_indices(' ').nth((next() % 11) as usize).unwrap().0;
            joined.replace_range(blank..blank + 1, ["\t", "\r", "\x0c", "   ", "\x0b", ""][(next() % 6) as usize]);
            check(&joined, false);
            check(&fields[..11].join(" "), false);
            check(&format!("{} 1", fields.join(" ")), false);
            check(&format!("{} {}", fields.join(" "), " ".repeat(60)), false);
        }
        // A state the general path refuses, and the ends of the window.
        for state in ["-1", "2.", "+2", "1e1", "2147483648", "00000000002"] {
            check(&format!("{} {state}", kinect(&mut next)[..11].join(" ")), false);
        }
        let line = kinect(&mut next).join(" ");
        let buffer = format!("{line}\n{filler}");
        assert!(simd.joint_line(&buffer.as_bytes()[..crate::ntu_joint_line::WINDOW - 1]).is_none());
        assert!(simd.joint_line(&buffer.as_bytes()[..line.len()]).is_none());
        assert!(simd.joint_line(format!("{line}{filler}").replace(['\r', '\n'], " ").as_bytes()).is_none());
    }

    /// Straight-to-arrays parsing gives the layout of the decoded file:
    /// frames of 0 to 3 bodies, padded to the most bodies or cut to
    /// `max_bodies`, values in their slots (an oracle that indexes the
    /// decoded structs directly).
    #[test]
    fn arrays_match_the_decoded_file() {
        let joint = |f: usize, b: usize, j: usize| NtuJoint {
            position: [f as f32, b as f32 + 0.5, j as f32 * 0.25],
            depth: [j as f32, 1.5],
            color: [f as f32 * 2.0, 3.25],
            orientation: [0.5, -0.5, b as f32, 0.125],
            tracking_state: (j % 3) as i32 + 200 * i32::from(j == 24),
        };
        let body = |f: usize, b: usize| NtuBody {
            body_id: 72_057_594_037_931_101 + b as u64,
            clipped_edges: f as i32,
            hand_left_confidence: 1,
            hand_left_state: 2,
            hand_right_confidence: b as i32,
            hand_right_state: 4,
            is_restricted: 0,
            lean: [0.25, -0.75],
            tracking_state: 2,
            joints: (0..NTU_JOINTS).map(|j| joint(f, b, j)).collect(),
        };
        for counts in [vec![1, 1, 1], vec![2, 2], vec![0, 1, 3, 2, 0], vec![0, 0], vec![]] {
            let frames =
                counts.iter().enumerate().map(|(f, &n)| NtuFrame { bodies: (0..n).map(|b| body(f, b)).collect() });
            let skeleton = NtuSkeleton { frames: frames.collect() };
            let text = crate::ntu_write::format_ntu_skeleton(&skeleton);
            // Long enough that joint lines take the whole-line parser too.
            assert!(text.len() > 1000 || counts.iter().sum::<usize>() < 2);
            for max in [None, Some(1), Some(2), Some(5)] {
                let arrays = parse_ntu_arrays(text.as_bytes(), Path::new("x.skeleton"), max).unwrap();
                assert_eq!(arrays, NtuArrays::from_skeleton(&skeleton, max), "{counts:?} {max:?}");
                let in_file = counts.iter().copied().max().unwrap_or(0);
                let slots = in_file.min(max.unwrap_or(usize::MAX));
                assert_eq!((arrays.frames, arrays.bodies, arrays.max_bodies_in_file), (counts.len(), slots, in_file));
                assert_eq!(arrays.frame_num_bodies, counts.iter().map(|&n| n as i32).collect::<Vec<_>>());
                assert_eq!(arrays.joints.len(), counts.len() * slots * NTU_JOINTS * 3);
                for (f, frame) in skeleton.frames.iter().enumerate() {
                    for b in 0..slots {
                        let at = f * slots + b;
                        let (k, j) = (at * NTU_JOINTS + 24, frame.bodies.get(b).map(|body| &body.joints[24]));
                        assert_eq!(arrays.body_ids[at], frame.bodies.get(b).map_or(0, |body| body.body_id));
                        assert_eq!(arrays.body_state[at * 7], frame.bodies.get(b).map_or(0, |body| body.clipped_edges));
                        assert_eq!(arrays.body_lean[at * 2 + 1], frame.bodies.get(b).map_or(0.0, |body| body.lean[1]));
                        assert_eq!(arrays.joints[k * 3 + 1], j.map_or(0.0, |j| j.position[1]));
                        assert_eq!(arrays.depth[k * 2], j.map_or(0.0, |j| j.depth[0]));
                        assert_eq!(arrays.color[k * 2], j.map_or(0.0, |j| j.color[0]));
                        assert_eq!(arrays.orientation[k * 4 + 2], j.map_or(0.0, |j| j.orientation[2]));
                        assert_eq!(arrays.joint_tracking[k], if j.is_some() { 127 } else { 0 });
                    }
                }
            }
        }
    }

    #[test]
    fn names_round_trip() {
        let n = NtuSampleName::parse("S001C002P003R002A013").unwrap();
        assert_eq!((n.setup, n.camera, n.subject, n.replication, n.action), (1, 2, 3, 2, 13));
        assert_eq!(n.label(), 12);
        assert_eq!(n.to_string(), "S001C002P003R002A013");
        for bad in [
            "S001C002P003R002A01",
            "S001C002P003R002A0134",
            "X001C002P003R002A013",
            "S001C00xP003R002A013",
            "S001C002P003R002A+13",
        ] {
            assert!(NtuSampleName::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(NtuSampleName::from_path(Path::new("a/S017C003P020R002A060.skeleton")).unwrap().action, 60);
    }
}
