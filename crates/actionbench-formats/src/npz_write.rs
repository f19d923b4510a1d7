//! Writes `.npy` arrays and `.npz` archives as numpy does
//! (`np.save`, `np.savez`, `np.savez_compressed`), including **object
//! arrays**, whose payload is a pickle — the layout of VideoPose3D's
//! Human3.6M files (docs/formats.md §3), which `numpy.load(...,
//! allow_pickle=True)` and [`crate::npz::parse_npz`] read back.
//!
//! The pickle emitter is hand-written (about a hundred lines) because no
//! maintained Rust crate pickles numpy arrays the way numpy does. It covers
//! the plain values of [`PyValue`] — None, bools, ints, floats, strings,
//! bytes, lists, tuples, dicts, numpy arrays, scalars and dtypes — with
//! protocol-3 opcodes and numpy's own reduce
//! (`numpy.core.multiarray._reconstruct` + `__setstate__`), as numpy 1.x
//! wrote them. Sets, globals and opaque objects are refused.
//!
//! Output is deterministic: zip entries carry the 1980-01-01 DOS time
//! (no clock is read) and a fixed compression level.

use std::io::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::value::{ArrayData, Dtype, DtypeKind, NdArray, PyValue};

/// A value the emitter cannot pickle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpicklableValue(pub String);

/// numpy's type code with byte order: `<f4`, `|u1`, `|b1`, `|O`.
pub fn dtype_descr(d: &Dtype) -> String {
    match d.kind {
        DtypeKind::Bool => "|b1".into(),
        DtypeKind::Object => "|O".into(),
        DtypeKind::Bytes => format!("|S{}", d.itemsize),
        DtypeKind::Void => format!("|V{}", d.itemsize),
        DtypeKind::Unicode => format!("<U{}", d.itemsize / 4),
        DtypeKind::Int | DtypeKind::UInt | DtypeKind::Float | DtypeKind::Complex if d.itemsize == 1 => {
            format!("|{}1", kind_char(d.kind))
        }
        DtypeKind::Datetime => "<M8[ns]".into(),
        DtypeKind::Timedelta => "<m8[ns]".into(),
        _ => format!("<{}{}", kind_char(d.kind), d.itemsize),
    }
}

fn kind_char(k: DtypeKind) -> char {
    match k {
        DtypeKind::Bool => 'b',
        DtypeKind::Int => 'i',
        DtypeKind::UInt => 'u',
        DtypeKind::Float => 'f',
        DtypeKind::Complex => 'c',
        DtypeKind::Unicode => 'U',
        DtypeKind::Bytes => 'S',
        DtypeKind::Object => 'O',
        DtypeKind::Datetime => 'M',
        DtypeKind::Timedelta => 'm',
        DtypeKind::Void => 'V',
    }
}

/// Pickles a value (protocol 3), as numpy embeds it in object arrays.
pub fn pickle_value(value: &PyValue) -> std::result::Result<Vec<u8>, UnpicklableValue> {
    let mut out = vec![0x80, 3];
    emit(&mut out, value)?;
    out.push(b'.');
    Ok(out)
}

fn global(out: &mut Vec<u8>, module: &str, name: &str) {
    out.push(b'c');
    out.extend(module.as_bytes());
    out.push(b'\n');
    out.extend(name.as_bytes());
    out.push(b'\n');
}

fn text(out: &mut Vec<u8>, s: &str) {
    out.push(b'X');
    out.extend((s.len() as u32).to_le_bytes());
    out.extend(s.as_bytes());
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.push(b'B');
    out.extend((b.len() as u32).to_le_bytes());
    out.extend(b);
}

fn int(out: &mut Vec<u8>, i: i64) {
    if (0..256).contains(&i) {
        out.extend([b'K', i as u8]);
    } else if (0..65536).contains(&i) {
        out.push(b'M');
        out.extend((i as u16).to_le_bytes());
    } else if let Ok(v) = i32::try_from(i) {
        out.push(b'J');
        out.extend(v.to_le_bytes());
    } else {
        out.extend([0x8a, 8]);
        out.extend(i.to_le_bytes());
    }
}

fn dtype(out: &mut Vec<u8>, d: &Dtype) {
    global(out, "numpy", "dtype");
    let descr = dtype_descr(d);
    let code = descr.trim_start_matches(['<', '|', '>']);
    out.push(b'(');
    text(out, code);
    out.extend([0x89, 0x88, b't', b'R']);
    // State: (3, byteorder, None, None, None, elsize, alignment, flags).
    let order = if matches!(d.kind, DtypeKind::Bool | DtypeKind::Object | DtypeKind::Bytes | DtypeKind::Void)
        || d.itemsize == 1
    {
        "|"
    } else {
        "<"
    };
    out.push(b'(');
    int(out, 3);
    text(out, order);
    out.extend([b'N', b'N', b'N']);
    let sized = matches!(d.kind, DtypeKind::Unicode | DtypeKind::Bytes | DtypeKind::Void);
    int(out, if sized { d.itemsize as i64 } else { -1 });
    int(out, if sized { 1 } else { -1 });
    int(out, if d.kind == DtypeKind::Object { 63 } else { 0 });
    out.extend([b't', b'b']);
}

fn array(out: &mut Vec<u8>, a: &NdArray) -> std::result::Result<(), UnpicklableValue> {
    global(out, "numpy.core.multiarray", "_reconstruct");
    global(out, "numpy", "ndarray");
    out.extend([b'K', 0, 0x85]);
    bytes(out, b"b");
    out.extend([0x87, b'R']);
    out.push(b'(');
    int(out, 1);
    out.push(b'(');
    for &d in &a.shape {
        int(out, d as i64);
    }
    out.push(b't');
    dtype(out, &a.dtype);
    out.push(0x89);
    match &a.data {
        ArrayData::Raw(raw) => bytes(out, raw),
        ArrayData::Objects(items) => {
            out.extend([b']', b'(']);
            for item in items {
                emit(out, item)?;
            }
            out.push(b'e');
        }
    }
    out.extend([b't', b'b']);
    Ok(())
}

fn emit(out: &mut Vec<u8>, value: &PyValue) -> std::result::Result<(), UnpicklableValue> {
    match value {
        PyValue::None => out.push(b'N'),
        PyValue::Bool(true) => out.push(0x88),
        PyValue::Bool(false) => out.push(0x89),
        PyValue::Int(i) => int(out, *i),
        PyValue::BigInt(s) => {
            out.push(b'L');
            out.extend(s.as_bytes());
            out.extend(b"L\n");
        }
        PyValue::Float(f) => {
            out.push(b'G');
            out.extend(f.to_be_bytes());
        }
        PyValue::Str(s) => text(out, s),
        PyValue::Bytes(b) => bytes(out, b),
        PyValue::List(items) => {
            out.push(b']');
            if !items.is_empty() {
                out.push(b'(');
                for item in items {
                    emit(out, item)?;
                }
                out.push(b'e');
            }
        }
        PyValue::Tuple(items) => {
            if items.is_empty() {
                out.push(b')');
            } else {
                out.push(b'(');
                for item in items {
                    emit(out, item)?;
                }
                out.push(b't');
            }
        }
        PyValue::Dict(entries) => {
            out.push(b'}');
            if !entries.is_empty() {
                out.push(b'(');
                for (k, v) in entries {
                    emit(out, k)?;
                    emit(out, v)?;
                }
                out.push(b'u');
            }
        }
        PyValue::Array(a) => array(out, a)?,
        PyValue::Scalar(a) => {
            let ArrayData::Raw(raw) = &a.data else {
                return Err(UnpicklableValue("an object numpy scalar".into()));
            };
            global(out, "numpy.core.multiarray", "scalar");
            dtype(out, &a.dtype);
            bytes(out, raw);
            out.extend([0x86, b'R']);
        }
        PyValue::Dtype(d) => dtype(out, d),
        other => return Err(UnpicklableValue(format!("a {}", other.type_name()))),
    }
    Ok(())
}

/// The bytes of a version 1.0 `.npy` file holding `array` (C order; object
/// arrays as a pickle of the array).
pub fn npy_bytes(array: &NdArray) -> std::result::Result<Vec<u8>, UnpicklableValue> {
    let dims: Vec<String> = array.shape.iter().map(usize::to_string).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header =
        format!("{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}", dtype_descr(&array.dtype));
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    match &array.data {
        ArrayData::Raw(raw) => out.extend(raw),
        ArrayData::Objects(_) => out.extend(pickle_value(&PyValue::Array(array.clone()))?),
    }
    Ok(out)
}

/// A 0-d object array holding `value` (how `np.savez(f, positions_3d=dict)`
/// stores a dict).
pub fn object_scalar_array(value: PyValue) -> NdArray {
    NdArray {
        dtype: Dtype { kind: DtypeKind::Object, itemsize: 8, big_endian: false },
        shape: vec![],
        data: ArrayData::Objects(vec![value]),
    }
}

/// Writes an `.npz` archive of `members` (names without `.npy`), deflated
/// like `np.savez_compressed` when `compressed`, else stored like `np.savez`.
pub fn write_npz(path: &Path, members: &[(&str, &NdArray)], compressed: bool) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let method = if compressed { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(method)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o600)
        .large_file(false);
    for (name, array) in members {
        let data = npy_bytes(array).map_err(|e| {
            Error::file(path, format!("member `{name}` holds {}, which cannot be pickled into an .npz", e.0))
        })?;
        zip.start_file(format!("{name}.npy"), options)
            .map_err(|e| Error::file(path, format!("writing member `{name}`: {e}")))?;
        zip.write_all(&data).map_err(|e| Error::io(path, e))?;
    }
    let mut inner = zip.finish().map_err(|e| Error::file(path, format!("finishing the archive: {e}")))?;
    inner.flush().map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npz::parse_npz;
    use crate::pickle::{PickleOptions, parse_pickle};

    fn f32_array(shape: Vec<usize>, values: &[f32]) -> NdArray {
        NdArray {
            dtype: Dtype::from_code("<f4").unwrap(),
            shape,
            data: ArrayData::Raw(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        }
    }

    #[test]
    fn pickles_read_back() {
        let value = PyValue::Dict(vec![
            (PyValue::Str("a".into()), PyValue::Array(f32_array(vec![2, 2], &[1.0, 2.0, 3.0, 4.5]))),
            (
                PyValue::Str("b".into()),
                PyValue::List(vec![PyValue::Int(-3), PyValue::Int(70_000), PyValue::Int(1 << 40), PyValue::None]),
            ),
            (PyValue::Str("c".into()), PyValue::Tuple(vec![PyValue::Float(0.25), PyValue::Bool(true)])),
        ]);
        let bytes = pickle_value(&value).unwrap();
        assert_eq!(parse_pickle(&bytes, Path::new("x.pkl"), PickleOptions::default()).unwrap(), value);
        assert!(pickle_value(&PyValue::Set(vec![])).is_err());
    }

    #[test]
    fn npz_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.npz");
        let plain = f32_array(vec![3], &[1.0, 2.0, 3.0]);
        let inner = PyValue::Dict(vec![(PyValue::Str("S1".into()), PyValue::Array(plain.clone()))]);
        let obj = object_scalar_array(inner.clone());
        write_npz(&path, &[("plain", &plain), ("positions", &obj)], true).unwrap();
        let first = std::fs::read(&path).unwrap();
        let members = parse_npz(&first, &path, PickleOptions::default()).unwrap();
        assert_eq!(members[0].1, plain);
        assert_eq!(members[1].1.objects().unwrap()[0], inner);
        write_npz(&path, &[("plain", &plain), ("positions", &obj)], true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), first, "same arrays, same bytes");
    }
}
