//! numpy `.npy` arrays: [`parse_npy`] reads float32/float64 into f64 values
//! (what the evaluators take); [`parse_npy_array`] reads any plain dtype
//! and object arrays (pickled payload, decoded by the safe pickle reader)
//! into an [`NdArray`].
//!
//! Layout (numpy `format.py`): the magic `\x93NUMPY`, a major and minor
//! version byte, the header length (u16 for version 1.0, u32 for 2.0 and
//! 3.0, little-endian), then an ASCII/UTF-8 Python dict literal
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (N, J, 3), }` padded
//! with spaces and a newline, then the raw data. Fortran-ordered arrays are
//! transposed to C order on read. Bytes after the data are ignored, as
//! `np.load` ignores them.

use std::path::Path;

use crate::error::{Error, Result, read_bytes};
use crate::pickle::{PickleOptions, parse_pickle_at};
use crate::value::{ArrayData, Dtype, DtypeKind, NdArray, PyValue, fortran_to_c_bytes, swap_to_little};

/// Element type of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyDtype {
    /// `<f4`.
    Float32,
    /// `<f8`.
    Float64,
}

impl NpyDtype {
    fn size(self) -> usize {
        match self {
            Self::Float32 => 4,
            Self::Float64 => 8,
        }
    }
}

/// A numeric array read from a `.npy` file, values widened to f64.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Dimensions (empty for a 0-d array).
    pub shape: Vec<usize>,
    /// Element type in the file.
    pub dtype: NpyDtype,
    /// Values in C (row-major) order.
    pub data: Vec<f64>,
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Header fields of interest.
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// A tiny reader for the header's Python literal.
struct Literal<'a> {
    text: &'a [u8],
    pos: usize,
    base: u64,
    path: &'a Path,
}

impl Literal<'_> {
    fn err(&self, message: impl Into<String>) -> Error {
        Error::bytes(self.path, self.base + self.pos as u64, message)
    }

    fn skip_ws(&mut self) {
        while self.pos < self.text.len() && self.text[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.text.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(format!("expected `{}` in the .npy header", c as char)))
        }
    }

    fn string(&mut self) -> Result<String> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(self.err("expected a quoted string in the .npy header")),
        };
        self.pos += 1;
        let start = self.pos;
        while self.pos < self.text.len() && self.text[self.pos] != quote {
            self.pos += 1;
        }
        if self.pos >= self.text.len() {
            return Err(self.err("unterminated string in the .npy header"));
        }
        let s = String::from_utf8_lossy(&self.text[start..self.pos]).into_owned();
        self.pos += 1;
        Ok(s)
    }

    fn word(&mut self) -> String {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.text.len() && (self.text[self.pos].is_ascii_alphanumeric() || self.text[self.pos] == b'_')
        {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.text[start..self.pos]).into_owned()
    }

    fn shape(&mut self) -> Result<Vec<usize>> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            if self.peek() == Some(b')') {
                self.pos += 1;
                return Ok(dims);
            }
            let at = self.pos;
            let w = self.word();
            let w = w.strip_suffix('L').unwrap_or(&w);
            let d = w.parse::<usize>().map_err(|_| {
                self.pos = at;
                self.err("expected a non-negative integer dimension in `shape`")
            })?;
            dims.push(d);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b')') => {}
                _ => return Err(self.err("expected `,` or `)` in `shape`")),
            }
        }
    }

    fn header(&mut self) -> Result<Header> {
        self.expect(b'{')?;
        let (mut descr, mut fortran, mut shape) = (None, None, None);
        loop {
            if self.peek() == Some(b'}') {
                self.pos += 1;
                break;
            }
            let key = self.string()?;
            self.expect(b':')?;
            match key.as_str() {
                "descr" => descr = Some(self.string()?),
                "fortran_order" => {
                    let at = self.pos;
                    fortran = Some(match self.word().as_str() {
                        "True" => true,
                        "False" => false,
                        _ => {
                            self.pos = at;
                            return Err(self.err("expected True or False for `fortran_order`"));
                        }
                    });
                }
                "shape" => shape = Some(self.shape()?),
                other => return Err(self.err(format!("unexpected key `{other}` in the .npy header"))),
            }
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => return Err(self.err("expected `,` or `}` in the .npy header")),
            }
        }
        match (descr, fortran, shape) {
            (Some(descr), Some(fortran_order), Some(shape)) => Ok(Header { descr, fortran_order, shape }),
            _ => Err(self.err("the .npy header lacks `descr`, `fortran_order` or `shape`")),
        }
    }
}

fn dtype(descr: &str, path: &Path, offset: u64) -> Result<NpyDtype> {
    match descr {
        "<f4" => Ok(NpyDtype::Float32),
        "<f8" => Ok(NpyDtype::Float64),
        ">f4" | ">f8" => Err(Error::bytes(
            path,
            offset,
            format!("big-endian dtype `{descr}` is not supported; expected `<f4` or `<f8`"),
        )
        .with_hint("Convert with `np.save(path, a.astype('<f8'))`")),
        "|O" => {
            Err(Error::bytes(path, offset, "object arrays (pickled data) are not supported; expected `<f4` or `<f8`"))
        }
        other => Err(Error::bytes(
            path,
            offset,
            format!("dtype `{other}` is not supported; expected `<f4` (float32) or `<f8` (float64)"),
        )
        .with_hint("Convert with `np.save(path, a.astype('<f4'))`")),
    }
}

/// Reads the magic, version and header dict: the header, the offset of the
/// header text and the offset of the data.
fn read_header(bytes: &[u8], path: &Path) -> Result<(Header, usize, usize)> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(Error::bytes(path, 0, "not a .npy file (missing the `\\x93NUMPY` magic)"));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, header_start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(Error::bytes(path, 8, "truncated .npy header length"));
            }
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        _ => {
            return Err(Error::bytes(
                path,
                6,
                format!("unsupported .npy format version {major}.{minor} (expected 1.0, 2.0 or 3.0)"),
            ));
        }
    };
    let data_start = header_start + header_len;
    if bytes.len() < data_start {
        return Err(Error::bytes(
            path,
            header_start as u64,
            format!("truncated .npy header: {header_len} bytes announced, {} present", bytes.len() - header_start),
        ));
    }
    let header =
        Literal { text: &bytes[header_start..data_start], pos: 0, base: header_start as u64, path }.header()?;
    Ok((header, header_start, data_start))
}

/// Parses a `.npy` file of any plain dtype (bool, integers, floats incl.
/// float16, complex, fixed-width text and bytes, datetimes) or of dtype
/// object (`|O`: the elements are a pickle after the header, decoded by
/// the safe pickle reader with `options`). Big-endian data is swapped and
/// Fortran order transposed, so the result is C-ordered little-endian.
pub fn parse_npy_array(bytes: &[u8], path: &Path, options: PickleOptions) -> Result<NdArray> {
    let (header, header_start, data_start) = read_header(bytes, path)?;
    let dtype = Dtype::from_code(&header.descr)
        .ok_or_else(|| Error::bytes(path, header_start as u64, format!("dtype `{}` is not supported", header.descr)))?;
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::bytes(path, header_start as u64, "the array shape is too large"))?;
    if dtype.kind == DtypeKind::Object {
        let (value, _) = parse_pickle_at(bytes, data_start, path, options)?;
        let array = match value {
            PyValue::Array(a) => a,
            other => {
                return Err(Error::bytes(
                    path,
                    data_start as u64,
                    format!("the pickled payload of an object array is a {}, not an array", other.type_name()),
                ));
            }
        };
        if array.shape != header.shape {
            return Err(Error::bytes(
                path,
                data_start as u64,
                format!("the pickled array has shape {:?}, the header says {:?}", array.shape, header.shape),
            ));
        }
        return Ok(array);
    }
    let needed = count
        .checked_mul(dtype.itemsize)
        .ok_or_else(|| Error::bytes(path, header_start as u64, "the array shape is too large"))?;
    let available = bytes.len() - data_start;
    if available < needed {
        return Err(Error::bytes(
            path,
            data_start as u64,
            format!("expected {needed} bytes of array data for shape {:?}, found {available}", header.shape),
        ));
    }
    let mut raw = bytes[data_start..data_start + needed].to_vec();
    if dtype.big_endian {
        swap_to_little(&mut raw, dtype.swap_unit());
    }
    let raw = if header.fortran_order { fortran_to_c_bytes(&raw, &header.shape, dtype.itemsize) } else { raw };
    Ok(NdArray { dtype: Dtype { big_endian: false, ..dtype }, shape: header.shape, data: ArrayData::Raw(raw) })
}

/// Reads a `.npy` file of any supported dtype (see [`parse_npy_array`]).
pub fn read_npy_array(path: &Path, options: PickleOptions) -> Result<NdArray> {
    parse_npy_array(&read_bytes(path)?, path, options)
}

/// Parses `.npy` bytes of float32/float64 into f64 values; `path` is only
/// used in error messages.
pub fn parse_npy(bytes: &[u8], path: &Path) -> Result<NpyArray> {
    let (header, header_start, data_start) = read_header(bytes, path)?;
    let dtype = dtype(&header.descr, path, header_start as u64)?;
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|c| c.checked_mul(dtype.size()).is_some())
        .ok_or_else(|| Error::bytes(path, header_start as u64, "the array shape is too large"))?;
    let needed = count * dtype.size();
    let available = bytes.len() - data_start;
    if available < needed {
        return Err(Error::bytes(
            path,
            data_start as u64,
            format!("expected {needed} bytes of array data for shape {:?}, found {available}", header.shape),
        ));
    }
    let raw = &bytes[data_start..data_start + needed];
    let values: Vec<f64> = match dtype {
        NpyDtype::Float32 => raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64).collect(),
        NpyDtype::Float64 => {
            raw.chunks_exact(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()
        }
    };
    let data =
        if header.fortran_order && header.shape.len() > 1 { fortran_to_c(&values, &header.shape) } else { values };
    Ok(NpyArray { shape: header.shape, dtype, data })
}

/// Reorders column-major values of `shape` into row-major order.
fn fortran_to_c(values: &[f64], shape: &[usize]) -> Vec<f64> {
    crate::value::fortran_offsets(shape).map(|offset| values[offset]).collect()
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<NpyArray> {
    parse_npy(&read_bytes(path)?, path)
}

/// Builds the bytes of a version 1.0 `.npy` file (C order, `<f8` or `<f4`).
///
/// Used by tests and by tools that hand arrays to Python.
pub fn write_npy_bytes(shape: &[usize], data: &[f64], dtype: NpyDtype) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let descr = match dtype {
        NpyDtype::Float32 => "<f4",
        NpyDtype::Float64 => "<f8",
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = MAGIC.to_vec();
    out.extend([1, 0]);
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    for &v in data {
        match dtype {
            NpyDtype::Float32 => out.extend((v as f32).to_le_bytes()),
            NpyDtype::Float64 => out.extend(v.to_le_bytes()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("a.npy")
    }

    #[test]
    fn round_trips_float64_and_float32() {
        let data: Vec<f64> = (0..12).map(|i| i as f64 * 0.5).collect();
        for dtype in [NpyDtype::Float64, NpyDtype::Float32] {
            let bytes = write_npy_bytes(&[2, 2, 3], &data, dtype);
            // numpy pads the header so that the data starts on 64 bytes.
            assert_eq!((bytes.len() - 12 * dtype.size()) % 64, 0);
            let a = parse_npy(&bytes, p()).unwrap();
            assert_eq!(a.shape, vec![2, 2, 3]);
            assert_eq!(a.dtype, dtype);
            assert_eq!(a.data, data);
        }
    }

    #[test]
    fn fortran_order_is_transposed() {
        // np.asfortranarray(np.arange(6.).reshape(2, 3)) stores 0 3 1 4 2 5.
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let header = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }\n";
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        for v in [0.0f64, 3.0, 1.0, 4.0, 2.0, 5.0] {
            bytes.extend(v.to_le_bytes());
        }
        let a = parse_npy(&bytes, p()).unwrap();
        assert_eq!(a.data, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn version_two_headers() {
        let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n";
        bytes.extend((header.len() as u32).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes.extend(1.5f32.to_le_bytes());
        assert_eq!(parse_npy(&bytes, p()).unwrap().data, vec![1.5]);
    }

    #[test]
    fn bad_files_name_the_byte_offset() {
        let err = parse_npy(b"PK\x03\x04 not npy", p()).unwrap_err();
        assert!(err.to_string().starts_with("`a.npy` byte 0:"), "{err}");
        let good = write_npy_bytes(&[4], &[1.0, 2.0, 3.0, 4.0], NpyDtype::Float64);
        let err = parse_npy(&good[..good.len() - 3], p()).unwrap_err();
        assert!(err.to_string().contains("byte 128: expected 32 bytes"), "{err}");
        let mut ints = good.clone();
        let at = ints.windows(3).position(|w| w == b"<f8").unwrap();
        ints[at + 1] = b'i';
        let err = parse_npy(&ints, p()).unwrap_err();
        assert!(err.to_string().contains("`<i8` is not supported"), "{err}");
        let mut v9 = good.clone();
        v9[6] = 9;
        assert!(parse_npy(&v9, p()).is_err());
    }
}
