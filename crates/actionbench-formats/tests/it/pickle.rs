//! The safe pickle reader on Python-written pickles (protocols 0–5), the
//! real mmaction2 fixtures, malicious pickles and truncated input.

use actionbench_core::Diagnose as _;
use std::path::Path;

use actionbench_formats::ava_proposals::read_ava_proposals;
use actionbench_formats::pickle::{PickleOptions, parse_pickle, read_pickle};
use actionbench_formats::value::PyValue;

use crate::support::{assert_json_close, crate_fixture, real_fixture};

fn expected(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(crate_fixture(name)).unwrap()).unwrap()
}

#[test]
fn every_protocol_decodes_to_the_same_tree() {
    let want = expected("pickle/mixed.expected.json");
    for protocol in 0..=5 {
        let path = crate_fixture(&format!("pickle/mixed_p{protocol}.pkl"));
        let value = read_pickle(&path, PickleOptions::default()).unwrap_or_else(|e| panic!("protocol {protocol}: {e}"));
        assert_json_close(&value.to_json(), &want, &format!("protocol {protocol}"));
        // Types the JSON does not show.
        assert!(matches!(value.get("tuple"), Some(PyValue::Tuple(_))), "protocol {protocol}");
        assert!(matches!(value.get("set"), Some(PyValue::Set(_))), "protocol {protocol}");
        assert_eq!(value.get("big"), Some(&PyValue::BigInt("1180591620717411303424".into())));
        let arrays = value.get("arrays").unwrap();
        assert_eq!(arrays.get("U").unwrap().as_array().unwrap().dtype.name(), "<U3");
        let f2 = arrays.get("f2").unwrap().as_array().unwrap();
        assert_eq!(f2.to_f32().unwrap(), vec![0.954_101_56, -1.5]);
        let scalars = value.get("scalars").unwrap().as_seq().unwrap();
        assert!(matches!(&scalars[0], PyValue::Scalar(a) if a.dtype.name() == "float32"));
        assert_eq!(scalars[1].as_i64(), Some(-4));
    }
}

#[test]
fn mmaction2_skeleton_pickles_of_both_generations() {
    for generation in ["mmaction2_main", "mmaction2_0.x"] {
        let path = real_fixture(&format!("skeleton_pkl/{generation}/sample.pkl"));
        let value = read_pickle(&path, PickleOptions::default()).unwrap();
        let list = match generation {
            "mmaction2_main" => value.get("annotations").unwrap().as_seq().unwrap(),
            _ => value.as_seq().unwrap(),
        };
        assert_eq!(list.len(), 100);
        let first = &list[0];
        assert_eq!(first.get("frame_dir").unwrap().as_str(), Some("jf7RDuUTrsQ"));
        assert_eq!(first.get("label").unwrap().as_i64(), Some(325));
        let inds = first.get("frame_inds").unwrap().as_array().unwrap();
        assert_eq!((inds.dtype.name().as_str(), inds.shape.as_slice()), ("int16", &[260][..]));
        assert_eq!(&inds.to_i64().unwrap()[..6], &[1, 1, 3, 3, 5, 5]);
        assert_eq!(*inds.to_i64().unwrap().last().unwrap(), 299);
        let score = first.get("box_score").unwrap().as_array().unwrap();
        assert_eq!(score.dtype.name(), "float16");
        assert!((score.to_f64().unwrap()[0] - 0.954).abs() < 1e-3);
    }
}

#[test]
fn ava_proposals_fixture() {
    let frames = read_ava_proposals(&real_fixture("ava/mmaction2_ava_dataset/ava_proposals_sample.pkl")).unwrap();
    let keys: Vec<String> = frames.iter().map(|f| format!("{},{}", f.video_id, f.timestamp)).collect();
    assert_eq!(keys, ["0f39OWEqJ24,0902", "0f39OWEqJ24,0903", "_-Z6wFjXtGQ,0902"]);
    assert_eq!(frames[2].proposals.len(), 3);
    assert_eq!(frames[0].proposals[0].bbox, [0.011, 0.157, 0.655, 0.983]);
    assert_eq!(frames[0].proposals[0].score, Some(0.998163));
}

/// Hand-built pickles that would run `touch MARKER` (or its like) under
/// Python's unpickler: `GLOBAL`/`STACK_GLOBAL` + `REDUCE`.
fn malicious(module: &str, name: &str, marker: &Path, protocol4: bool) -> Vec<u8> {
    let command = format!("touch {}", marker.display());
    let mut b = Vec::new();
    if protocol4 {
        b.extend(b"\x80\x04");
        for s in [module, name] {
            b.push(0x8c);
            b.push(s.len() as u8);
            b.extend(s.as_bytes());
        }
        b.push(0x93); // STACK_GLOBAL
    } else {
        b.extend(format!("c{module}\n{name}\n").as_bytes()); // GLOBAL
    }
    let arg = match (module, name) {
        ("builtins", "eval" | "exec") => format!("__import__('os').system('{command}')"),
        _ => command,
    };
    b.push(b'X');
    b.extend((arg.len() as u32).to_le_bytes());
    b.extend(arg.as_bytes());
    b.extend(b"\x85R."); // TUPLE1, REDUCE, STOP
    b
}

#[test]
fn malicious_pickles_are_rejected_and_run_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let targets = [
        ("os", "system"),
        ("posix", "system"),
        ("subprocess", "Popen"),
        ("subprocess", "check_output"),
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("__builtin__", "eval"),
    ];
    for (i, (module, name)) in targets.iter().enumerate() {
        for protocol4 in [false, true] {
            let marker = dir.path().join(format!("marker-{i}-{protocol4}"));
            let bytes = malicious(module, name, &marker, protocol4);
            let err = parse_pickle(&bytes, Path::new("evil.pkl"), PickleOptions::default()).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(&format!("`{module}.{name}`")), "{text}");
            assert!(text.contains("not on the allow-list") && text.starts_with("`evil.pkl` byte "), "{text}");
            assert!(err.hint().is_some());
            // Lenient mode records the call as data, and still runs nothing.
            let value = parse_pickle(&bytes, Path::new("evil.pkl"), PickleOptions::lenient()).unwrap();
            let PyValue::Opaque(o) = &value else { panic!("expected an opaque node, got {value:?}") };
            assert_eq!(o.callable, format!("{module}.{name}"));
            assert!(o.args.as_seq().unwrap()[0].as_str().unwrap().contains("touch"));
            assert!(!marker.exists(), "{module}.{name} ran");
        }
    }
    // Calls hidden behind allow-listed names are not evaluated either.
    let bytes = b"\x80\x04\x8c\x08builtins\x8c\x04list\x93\x8c\x02os\x8c\x06system\x93\x85R.";
    let err = parse_pickle(bytes, Path::new("evil.pkl"), PickleOptions::default()).unwrap_err();
    assert!(err.to_string().contains("`os.system`"), "{err}");
}

/// A tiny deterministic generator (no rand dependency).
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn truncated_and_corrupted_pickles_are_errors_not_panics() {
    let files = [
        real_fixture("skeleton_pkl/mmaction2_main/sample.pkl"),
        real_fixture("skeleton_pkl/mmaction2_0.x/sample.pkl"),
        real_fixture("ava/mmaction2_ava_dataset/ava_proposals_sample.pkl"),
        real_fixture("phalp/gt_tracks.pkl"),
        crate_fixture("pickle/mixed_p0.pkl"),
        crate_fixture("pickle/mixed_p2.pkl"),
        crate_fixture("pickle/mixed_p5.pkl"),
    ];
    let mut rng = Lcg(7);
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let mut cuts: Vec<usize> = (0..40).map(|_| rng.next() as usize % bytes.len()).collect();
        cuts.extend([0, 1, 2, bytes.len() - 1]);
        for cut in cuts {
            let err = parse_pickle(&bytes[..cut], path, PickleOptions::default())
                .expect_err(&format!("{} cut at {cut} decoded", path.display()));
            let text = err.to_string();
            assert!(text.contains(" byte "), "{text}");
        }
        for _ in 0..40 {
            let mut flipped = bytes.clone();
            let at = rng.next() as usize % flipped.len();
            flipped[at] ^= 1 << (rng.next() % 8);
            // Either outcome is fine; a panic is not.
            let _ = parse_pickle(&flipped, path, PickleOptions::lenient());
        }
    }
}

/// `(` × n then `l` × n: a list in a list in a list…, n deep.
fn nested_lists(n: usize) -> Vec<u8> {
    let mut bytes = b"\x80\x02".to_vec();
    bytes.extend(std::iter::repeat_n(b'(', n));
    bytes.extend(std::iter::repeat_n(b'l', n));
    bytes.push(b'.');
    bytes
}

/// Runs `f` on a thread with a quarter of a rayon worker's stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(512 << 10).spawn(f).unwrap().join().expect("the walk overflowed the stack")
}

#[test]
fn deeply_nested_pickles_are_an_error_not_a_stack_overflow() {
    use actionbench_formats::pickle::MAX_DEPTH;
    // The case that aborted `ingest.pyskl`: 100,000 nested lists.
    let err = on_small_stack(|| parse_pickle(&nested_lists(100_000), Path::new("deep.pkl"), PickleOptions::default()))
        .unwrap_err();
    assert!(err.to_string().contains(&format!("more than {MAX_DEPTH} deep")), "{err}");
    assert!(err.to_string().starts_with("`deep.pkl` byte "), "the error names the file and offset: {err}");
    // At the limit the value decodes, and every walk over it (JSON, repr,
    // depth, drop) fits on the small stack.
    let depth = on_small_stack(|| {
        let v = parse_pickle(&nested_lists(MAX_DEPTH), Path::new("ok.pkl"), PickleOptions::default()).unwrap();
        let json = v.to_json().to_string();
        assert_eq!(json.len(), 2 * MAX_DEPTH);
        assert!(v.repr().starts_with("[[[["));
        v.depth()
    });
    assert_eq!(depth, MAX_DEPTH - 1, "n lists nest n - 1 levels below the outer one");
    let err = parse_pickle(&nested_lists(MAX_DEPTH + 2), Path::new("over.pkl"), PickleOptions::default()).unwrap_err();
    assert!(err.to_string().contains("deep"), "{err}");
}
