//! joblib files: the real PHALP GT-track file and self-made PHALP-like
//! files (plain, zlib, gzip).

use actionbench_core::Diagnose as _;
use actionbench_formats::joblib::{JoblibCompression, detect_compression, parse_joblib, read_joblib};
use actionbench_formats::pickle::PickleOptions;
use actionbench_formats::value::PyValue;

use crate::support::{assert_json_close, crate_fixture, real_fixture};

#[test]
fn phalp_gt_tracks_with_aligned_arrays() {
    let value = read_joblib(&real_fixture("phalp/gt_tracks.pkl"), PickleOptions::default()).unwrap();
    let frames = value.as_dict().unwrap();
    assert_eq!(frames.len(), 263);
    assert_eq!(frames[0].0.as_str(), Some("000001.jpg"));
    let first = &frames[0].1;
    let bbox = first.get("gt_bbox").unwrap().as_array().unwrap();
    assert_eq!((bbox.dtype.name().as_str(), bbox.shape.as_slice()), ("float32", &[5, 4][..]));
    let data = bbox.to_f32().unwrap();
    assert_eq!(&data[..4], &[587.504_94, 240.772_02, 115.638_98, 323.097_6]);
    let extra = first.get("extra_data").unwrap();
    assert_eq!(extra.get("gt_class"), Some(&PyValue::List(vec![])));
    let ids = extra.get("gt_track_id").unwrap().as_array().unwrap();
    assert_eq!(ids.to_i64().unwrap(), vec![1, 2, 3, 4, 5]);
    assert_eq!(ids.dtype.name(), "int64");
}

#[test]
fn compressed_and_plain_files_agree() {
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(crate_fixture("pickle/phalp_like.expected.json")).unwrap())
            .unwrap();
    for (name, compression) in [
        ("phalp_like_plain.joblib", JoblibCompression::None),
        ("phalp_like_z3.joblib", JoblibCompression::Zlib),
        ("phalp_like_gzip.joblib", JoblibCompression::Gzip),
    ] {
        let path = crate_fixture(&format!("pickle/{name}"));
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(detect_compression(&bytes, &path).unwrap(), compression);
        let value = parse_joblib(&bytes, &path, PickleOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_json_close(&value.to_json(), &want, name);
        let frame = value.get("img/000001.jpg").unwrap();
        let conf = &frame.get("conf").unwrap().as_seq().unwrap()[0];
        assert_eq!(conf.as_f64(), Some(0.875));
        let objects = frame.get("objects").unwrap().as_array().unwrap();
        assert_eq!(objects.objects().unwrap()[1], PyValue::None);
    }
}

#[test]
fn unsupported_compressors_and_corrupt_streams_are_named() {
    let path = crate_fixture("pickle/small_bz2.joblib");
    let err = read_joblib(&path, PickleOptions::default()).unwrap_err();
    assert!(err.to_string().contains("bz2"), "{err}");
    assert!(err.hint().unwrap().contains("compress=3"));

    let path = crate_fixture("pickle/phalp_like_z3.joblib");
    let bytes = std::fs::read(&path).unwrap();
    let err = parse_joblib(&bytes[..bytes.len() / 2], &path, PickleOptions::default()).unwrap_err();
    assert!(err.to_string().contains("zlib stream is corrupt or truncated"), "{err}");
    // A complete zlib stream of a truncated pickle: the offset is in the
    // decompressed stream, and the message says so.
    let plain = std::fs::read(crate_fixture("pickle/phalp_like_plain.joblib")).unwrap();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(3));
    std::io::Write::write_all(&mut z, &plain[..1000]).unwrap();
    let err = parse_joblib(&z.finish().unwrap(), &path, PickleOptions::default()).unwrap_err();
    assert!(err.to_string().contains("decompressed stream"), "{err}");

    let real = std::fs::read(real_fixture("phalp/gt_tracks.pkl")).unwrap();
    let mut rng = crate::pickle::Lcg(3);
    for _ in 0..60 {
        let cut = rng.next() as usize % real.len();
        let err = parse_joblib(&real[..cut], &path, PickleOptions::default()).unwrap_err();
        assert!(err.to_string().contains(" byte "), "{err}");
    }
}
