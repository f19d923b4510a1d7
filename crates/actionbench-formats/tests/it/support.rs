//! Locating fixtures.

use std::path::PathBuf;

/// A file under the repository's `fixtures/real/` (provenance in its
/// `SOURCES.md`).
pub(crate) fn real_fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/real").join(relative)
}

/// A file under this crate's `tests/fixtures/`.
pub(crate) fn crate_fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative)
}

/// Asserts two JSON documents are equal, numbers within a relative
/// tolerance of 1e-6 (float32 values are written at float64 precision by
/// the Python fixture scripts).
pub(crate) fn assert_json_close(actual: &serde_json::Value, expected: &serde_json::Value, at: &str) {
    use serde_json::Value;
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
            assert!((a - e).abs() <= 1e-6 * e.abs().max(1.0), "{at}: {a} != {e}");
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "{at}: lengths differ:\n{actual}\n{expected}");
            for (i, (x, y)) in a.iter().zip(e).enumerate() {
                assert_json_close(x, y, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(a), Value::Object(e)) => {
            let ka: Vec<&String> = a.keys().collect();
            let ke: Vec<&String> = e.keys().collect();
            assert_eq!(ka, ke, "{at}: keys differ");
            for (k, y) in e {
                assert_json_close(&a[k], y, &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(actual, expected, "{at}"),
    }
}
