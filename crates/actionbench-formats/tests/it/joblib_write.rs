//! The joblib writer: byte-identical to `joblib.dump` on the real PHALP
//! fixture and on files joblib 1.6 + numpy 2 write here, loadable by
//! `joblib.load`, and readable by our own reader.

use std::path::Path;
use std::process::Command;

use actionbench_formats::joblib::{JoblibCompression, read_joblib, write_joblib};
use actionbench_formats::joblib_write::{JoblibWriteOptions, NumpyFlavor, encode_joblib, write_joblib_with};
use actionbench_formats::pickle::PickleOptions;
use actionbench_formats::value::{ArrayData, Dtype, NdArray, Opaque, PyValue};

use crate::support::real_fixture;

/// Runs `python3 -c script args…`; fails with its stderr.
fn python(script: &str, args: &[&Path]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 is needed by these tests (scripts/test installs it with numpy and joblib)");
    assert!(
        out.status.success(),
        "python3 failed (needs numpy and joblib: pip install -r scripts/requirements-test.txt):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn inflate(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

fn assert_same_bytes(ours: &[u8], theirs: &[u8], what: &str) {
    if ours != theirs {
        let at = ours.iter().zip(theirs).position(|(a, b)| a != b).unwrap_or(ours.len().min(theirs.len()));
        let window = |b: &[u8]| b[at.saturating_sub(24)..(at + 24).min(b.len())].escape_ascii().to_string();
        panic!(
            "{what}: bytes differ at offset {at} (ours {} bytes, theirs {}):\nours:   {}\ntheirs: {}",
            ours.len(),
            theirs.len(),
            window(ours),
            window(theirs)
        );
    }
}

#[test]
fn real_phalp_fixture_writes_back_byte_for_byte() {
    let path = real_fixture("phalp/gt_tracks.pkl");
    let original = std::fs::read(&path).unwrap();
    let value = read_joblib(&path, PickleOptions::default()).unwrap();
    let ours = encode_joblib(&value, JoblibWriteOptions::default()).unwrap();
    assert_same_bytes(&ours, &original, "gt_tracks.pkl");
}

#[test]
fn identical_to_joblib_dump_with_numpy2() {
    let dir = tempfile::tempdir().unwrap();
    python(include_str!("joblib_write_gen.py"), &[dir.path()]);
    let plain = std::fs::read(dir.path().join("py0.pkl")).unwrap();
    let zlib = std::fs::read(dir.path().join("py3.pkl")).unwrap();
    let value = read_joblib(&dir.path().join("py0.pkl"), PickleOptions::default()).unwrap();
    let options = JoblibWriteOptions { compression: JoblibCompression::None, numpy: NumpyFlavor::Numpy2 };
    assert_same_bytes(&encode_joblib(&value, options).unwrap(), &plain, "compress=0");
    // Compressed: the stream inside is identical too.
    let options = JoblibWriteOptions { compression: JoblibCompression::Zlib, numpy: NumpyFlavor::Numpy2 };
    let ours = encode_joblib(&value, options).unwrap();
    assert_same_bytes(&inflate(&ours), &inflate(&zlib), "compress=3 (decompressed)");
    // (The compressed bytes themselves differ: flate2's zlib-rs backend
    // compresses differently from C zlib at the same level.)
    // And reading our file gives the same tree.
    let out = dir.path().join("ours3.pkl");
    write_joblib_with(&out, &value, options).unwrap();
    assert_eq!(read_joblib(&out, PickleOptions::default()).unwrap(), value);
}

fn f32_array(shape: &[usize], values: impl IntoIterator<Item = f32>) -> PyValue {
    let raw: Vec<u8> = values.into_iter().flat_map(f32::to_le_bytes).collect();
    PyValue::Array(NdArray {
        dtype: Dtype::from_code("<f4").unwrap(),
        shape: shape.to_vec(),
        data: ArrayData::Raw(raw),
    })
}

fn scalar(code: &str, raw: Vec<u8>) -> PyValue {
    PyValue::Scalar(NdArray { dtype: Dtype::from_code(code).unwrap(), shape: vec![], data: ArrayData::Raw(raw) })
}

fn s(text: &str) -> PyValue {
    PyValue::Str(text.into())
}

/// A PHALP-like tree built in Rust (current generation keys).
fn phalp_like() -> PyValue {
    let frame = |k: usize| {
        let people = 2;
        PyValue::Dict(vec![
            (s("time"), PyValue::Int(k as i64)),
            (s("shot"), PyValue::Int(0)),
            (s("frame_path"), s(&format!("vid/img/{:06}.jpg", k + 1))),
            (s("tid"), PyValue::List((1..=people).map(PyValue::Int).collect())),
            (
                s("bbox"),
                PyValue::List(
                    (0..people).map(|p| f32_array(&[4], (0..4).map(|i| (k * 10 + p as usize + i) as f32))).collect(),
                ),
            ),
            (s("conf"), PyValue::List((0..people).map(|_| scalar("<f4", 0.75f32.to_le_bytes().to_vec())).collect())),
            (s("class_name"), PyValue::List((0..people).map(|_| scalar("<i8", 0i64.to_le_bytes().to_vec())).collect())),
            (
                s("3d_joints"),
                PyValue::List(
                    (0..people)
                        .map(|p| f32_array(&[45, 3], (0..135).map(|i| (i + p as usize) as f32 * 0.01)))
                        .collect(),
                ),
            ),
        ])
    };
    PyValue::Dict((0..3).map(|k| (s(&format!("vid/img/{:06}.jpg", k + 1)), frame(k))).collect())
}

#[test]
fn python_joblib_loads_what_we_write() {
    let dir = tempfile::tempdir().unwrap();
    let value = phalp_like();
    let mut files = Vec::new();
    for (name, compression) in [
        ("plain.pkl", JoblibCompression::None),
        ("z.pkl", JoblibCompression::Zlib),
        ("gz.pkl", JoblibCompression::Gzip),
    ] {
        let path = dir.path().join(name);
        write_joblib(&path, &value, compression).unwrap();
        // Our reader gives back the same tree.
        assert_eq!(read_joblib(&path, PickleOptions::default()).unwrap(), value, "{name}");
        files.push(path);
    }
    // Deterministic bytes.
    let again = dir.path().join("again.pkl");
    write_joblib(&again, &value, JoblibCompression::Zlib).unwrap();
    assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(&files[1]).unwrap());
    let script = r#"
import sys, json, joblib, numpy as np
out = []
for path in sys.argv[1:]:
    d = joblib.load(path)
    keys = list(d)
    f = d[keys[1]]
    assert isinstance(f["bbox"][1], np.ndarray) and f["bbox"][1].dtype == np.float32, type(f["bbox"][1])
    np.testing.assert_array_equal(f["bbox"][1], np.array([11, 12, 13, 14], dtype=np.float32))
    assert f["3d_joints"][0].shape == (45, 3)
    np.testing.assert_allclose(f["3d_joints"][1][2], np.array([7, 8, 9], dtype=np.float32) * np.float32(0.01))
    assert type(f["conf"][0]) is np.float32 and f["conf"][0] == 0.75
    assert type(f["class_name"][1]) is np.int64
    assert f["bbox"][0].ctypes.data % 16 == 0 or not path.endswith("plain.pkl")
    out.append([keys, f["time"], f["frame_path"], f["tid"]])
print(json.dumps(out))
"#;
    let args: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let printed: serde_json::Value = serde_json::from_str(&python(script, &args)).unwrap();
    let expected = serde_json::json!([
        ["vid/img/000001.jpg", "vid/img/000002.jpg", "vid/img/000003.jpg"],
        1,
        "vid/img/000002.jpg",
        [1, 2]
    ]);
    for (i, got) in printed.as_array().unwrap().iter().enumerate() {
        assert_eq!(got, &expected, "file {i}");
    }
}

#[test]
fn values_that_are_not_data_are_errors_naming_where() {
    let opaque = PyValue::Opaque(Box::new(Opaque {
        callable: "torch._utils._rebuild_tensor_v2".into(),
        args: PyValue::Tuple(vec![]),
        state: None,
        items: vec![],
        entries: vec![],
    }));
    let value = PyValue::Dict(vec![(s("frames"), PyValue::List(vec![PyValue::None, opaque]))]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.pkl");
    let err = write_joblib(&path, &value, JoblibCompression::None).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("bad.pkl"), "{text}");
    assert!(text.contains(r#"["frames"][1]"#) && text.contains("torch._utils._rebuild_tensor_v2"), "{text}");
    assert!(!path.exists());
    let bad_len = PyValue::Array(NdArray {
        dtype: Dtype::from_code("<f4").unwrap(),
        shape: vec![3],
        data: ArrayData::Raw(vec![0; 8]),
    });
    let err = encode_joblib(&bad_len, JoblibWriteOptions::default()).unwrap_err();
    assert!(err.contains("does not hold 3 elements"), "{err}");
}
