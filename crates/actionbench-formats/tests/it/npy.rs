//! `.npy` files written by numpy itself (tests/fixtures/npy/make_fixtures.py).

use actionbench_core::Diagnose as _;
use actionbench_formats::npy::{NpyDtype, read_npy};

use crate::support::crate_fixture;

/// `np.arange(2 * 17 * 3).reshape(2, 17, 3) / 8`, in C order.
fn expected() -> Vec<f64> {
    (0..102).map(|i| i as f64 / 8.0).collect()
}

#[test]
fn float32_c_order() {
    let a = read_npy(&crate_fixture("npy/pose_f4.npy")).unwrap();
    assert_eq!(a.shape, vec![2, 17, 3]);
    assert_eq!(a.dtype, NpyDtype::Float32);
    assert_eq!(a.data, expected());
}

#[test]
fn float64_fortran_order_is_returned_in_c_order() {
    let a = read_npy(&crate_fixture("npy/pose_f8_fortran.npy")).unwrap();
    assert_eq!(a.shape, vec![2, 17, 3]);
    assert_eq!(a.data, expected());
    // numpy: a[1, 16, 2] == 12.625
    assert_eq!(a.data[(17 + 16) * 3 + 2], 12.625);
}

#[test]
fn version_2_header() {
    let a = read_npy(&crate_fixture("npy/pose_v2.npy")).unwrap();
    assert_eq!(a.shape, vec![1, 17, 3]);
    assert_eq!(a.data, expected()[..51]);
}

#[test]
fn unsupported_dtypes_are_clear_errors() {
    let err = read_npy(&crate_fixture("npy/pose_big_endian.npy")).unwrap_err();
    assert!(err.to_string().contains("byte 10: big-endian dtype `>f8`"), "{err}");
    assert!(err.hint().is_some());
    let err = read_npy(&crate_fixture("npy/labels_i8.npy")).unwrap_err();
    assert!(err.to_string().contains("dtype `<i8` is not supported"), "{err}");
}
