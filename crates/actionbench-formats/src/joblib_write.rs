//! Writing joblib files from a [`PyValue`] tree, the way `joblib.dump`
//! writes them (docs/formats.md §5.3): pickle protocol 4 with `FRAME`s,
//! numpy arrays as joblib's `NumpyArrayWrapper` followed by the raw data
//! (16-byte aligned, outside any frame), numpy scalars through numpy's own
//! reduce, optionally one zlib (level 3) or gzip stream around it all.
//!
//! Why hand-written: no Rust crate writes joblib's non-standard stream
//! (array bytes spliced between pickle frames), and the pickle crates
//! serialise Rust types, not numpy objects. The writer mirrors CPython's
//! pure-Python `pickle._Pickler` (which joblib subclasses) opcode for opcode,
//! framing and memo included, so a tree read from a joblib file writes back
//! to the same bytes (tested on the real PHALP fixture and on files written
//! by joblib 1.6 with numpy 2). Python's memo is keyed by object identity,
//! which a value tree does not have; the writer follows what CPython does
//! for the objects joblib files contain:
//!
//! * strings are shared by value (CPython interns identifier-like strings
//!   and dict keys written as literals, and caches 1-character strings);
//! * numpy dtypes of fixed size are shared (numpy's builtin dtypes are
//!   singletons); the type codes inside their reduce, `U`/`S` dtypes,
//!   bytes longer than one byte, tuples, lists, dicts and sets never are.
//!
//! The output is deterministic: the same tree gives the same bytes. With
//! compression, the decompressed stream is identical to joblib's, the
//! compressed bytes are not: flate2's zlib-rs backend makes different (valid)
//! deflate choices from C zlib at the same level.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::joblib::JoblibCompression;
use crate::value::{ArrayData, Dtype, DtypeKind, NdArray, PyValue};

/// Which numpy's pickles to imitate where numpy 1 and 2 differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumpyFlavor {
    /// numpy 1.x: scalars through `numpy.core.multiarray.scalar`, which both
    /// numpy 1.x and 2.x can load (numpy 2 keeps `numpy.core` for pickles).
    #[default]
    Numpy1,
    /// numpy 2.x: `numpy._core.multiarray.scalar` (numpy < 2 cannot load
    /// files with numpy scalars written this way).
    Numpy2,
}

/// Options of [`write_joblib_with`]; the default is an uncompressed file
/// in the numpy 1 flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoblibWriteOptions {
    /// Compressor around the pickle stream (zlib is level 3, as
    /// `joblib.dump(..., compress=3)` and PHALP).
    pub compression: JoblibCompression,
    /// Which numpy to imitate.
    pub numpy: NumpyFlavor,
}

impl Default for JoblibWriteOptions {
    fn default() -> Self {
        Self { compression: JoblibCompression::None, numpy: NumpyFlavor::Numpy1 }
    }
}

/// Writes `value` to `path` as `joblib.dump(value, path, compress=…)` would
/// (zlib level 3 for [`JoblibCompression::Zlib`]), loadable by
/// `joblib.load` and by [`crate::joblib::read_joblib`].
pub fn write_joblib(path: &Path, value: &PyValue, compression: JoblibCompression) -> Result<()> {
    write_joblib_with(path, value, JoblibWriteOptions { compression, ..JoblibWriteOptions::default() })
}

/// [`write_joblib`] with every option.
pub fn write_joblib_with(path: &Path, value: &PyValue, options: JoblibWriteOptions) -> Result<()> {
    let bytes = encode_joblib(value, options).map_err(|message| {
        Error::file(path, message).with_hint(
            "Only plain data, numpy arrays of numeric/bool/text/object dtype and numpy scalars can be written",
        )
    })?;
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// The bytes [`write_joblib_with`] writes. Errors name where in the tree
/// the value that cannot be written is.
pub fn encode_joblib(value: &PyValue, options: JoblibWriteOptions) -> std::result::Result<Vec<u8>, String> {
    let mut pickler = Pickler::new(4, options.numpy);
    pickler.dump(value)?;
    let stream = pickler.out;
    // BinaryZlibFile/BinaryGzipFile: one stream, default memLevel and wbits.
    let level = flate2::Compression::new(3);
    let io = |e: std::io::Error| format!("compression failed: {e}");
    match options.compression {
        JoblibCompression::None => Ok(stream),
        JoblibCompression::Zlib => {
            let mut enc = flate2::write::ZlibEncoder::new(Vec::with_capacity(stream.len() / 2), level);
            enc.write_all(&stream).map_err(io)?;
            enc.finish().map_err(io)
        }
        JoblibCompression::Gzip => {
            // mtime 0 keeps the bytes deterministic.
            let mut enc = flate2::GzBuilder::new().mtime(0).write(Vec::with_capacity(stream.len() / 2), level);
            enc.write_all(&stream).map_err(io)?;
            enc.finish().map_err(io)
        }
    }
}

/// Pickle opcodes used here.
mod op {
    pub(super) const MARK: u8 = b'(';
    pub(super) const STOP: u8 = b'.';
    pub(super) const BININT: u8 = b'J';
    pub(super) const BININT1: u8 = b'K';
    pub(super) const BININT2: u8 = b'M';
    pub(super) const NONE: u8 = b'N';
    pub(super) const REDUCE: u8 = b'R';
    pub(super) const BINUNICODE: u8 = b'X';
    pub(super) const APPEND: u8 = b'a';
    pub(super) const BUILD: u8 = b'b';
    pub(super) const EMPTY_DICT: u8 = b'}';
    pub(super) const APPENDS: u8 = b'e';
    pub(super) const BINGET: u8 = b'h';
    pub(super) const LONG_BINGET: u8 = b'j';
    pub(super) const EMPTY_LIST: u8 = b']';
    pub(super) const SETITEM: u8 = b's';
    pub(super) const TUPLE: u8 = b't';
    pub(super) const SETITEMS: u8 = b'u';
    pub(super) const BINFLOAT: u8 = b'G';
    pub(super) const EMPTY_TUPLE: u8 = b')';
    pub(super) const PROTO: u8 = 0x80;
    pub(super) const NEWOBJ: u8 = 0x81;
    pub(super) const TUPLE1: u8 = 0x85;
    pub(super) const TUPLE2: u8 = 0x86;
    pub(super) const TUPLE3: u8 = 0x87;
    pub(super) const NEWTRUE: u8 = 0x88;
    pub(super) const NEWFALSE: u8 = 0x89;
    pub(super) const LONG1: u8 = 0x8a;
    pub(super) const LONG4: u8 = 0x8b;
    pub(super) const BINBYTES: u8 = b'B';
    pub(super) const SHORT_BINBYTES: u8 = b'C';
    pub(super) const SHORT_BINUNICODE: u8 = 0x8c;
    pub(super) const BINUNICODE8: u8 = 0x8d;
    pub(super) const BINBYTES8: u8 = 0x8e;
    pub(super) const EMPTY_SET: u8 = 0x8f;
    pub(super) const ADDITEMS: u8 = 0x90;
    pub(super) const STACK_GLOBAL: u8 = 0x93;
    pub(super) const MEMOIZE: u8 = 0x94;
    pub(super) const FRAME: u8 = 0x95;
}

/// `pickle._Framer._FRAME_SIZE_TARGET`.
const FRAME_SIZE_TARGET: usize = 64 * 1024;
/// `pickle._Framer._FRAME_SIZE_MIN`: shorter frames get no `FRAME` opcode.
const FRAME_SIZE_MIN: usize = 4;
/// `pickle._Pickler._BATCHSIZE`.
const BATCH: usize = 1000;
/// joblib's `NUMPY_ARRAY_ALIGNMENT_BYTES`.
const ALIGNMENT: usize = 16;

/// CPython's pure-Python pickler with joblib's `NumpyPickler.save`.
struct Pickler {
    proto: u8,
    numpy: NumpyFlavor,
    /// Everything committed so far (the position joblib's `tell()` sees).
    out: Vec<u8>,
    /// The current frame, once framing started.
    frame: Option<Vec<u8>>,
    memo_len: u32,
    strings: HashMap<String, u32>,
    small_bytes: HashMap<Vec<u8>, u32>,
    globals: HashMap<(String, String), u32>,
    dtypes: HashMap<String, u32>,
    /// Where in the tree the writer is, for errors.
    path: Vec<String>,
}

impl Pickler {
    fn new(proto: u8, numpy: NumpyFlavor) -> Self {
        Self {
            proto,
            numpy,
            out: Vec::new(),
            frame: None,
            memo_len: 0,
            strings: HashMap::new(),
            small_bytes: HashMap::new(),
            globals: HashMap::new(),
            dtypes: HashMap::new(),
            path: Vec::new(),
        }
    }

    fn dump(&mut self, value: &PyValue) -> std::result::Result<(), String> {
        self.out.extend_from_slice(&[op::PROTO, self.proto]);
        self.frame = Some(Vec::new());
        self.save(value)?;
        self.write(&[op::STOP]);
        self.commit_frame(true);
        self.frame = None;
        Ok(())
    }

    fn error(&self, message: impl std::fmt::Display) -> String {
        if self.path.is_empty() { message.to_string() } else { format!("at `{}`: {message}", self.path.concat()) }
    }

    // ----- framer -----

    fn write(&mut self, bytes: &[u8]) {
        match &mut self.frame {
            Some(frame) => frame.extend_from_slice(bytes),
            None => self.out.extend_from_slice(bytes),
        }
    }

    fn commit_frame(&mut self, force: bool) {
        let Some(frame) = &mut self.frame else { return };
        if frame.len() >= FRAME_SIZE_TARGET || force {
            if frame.len() >= FRAME_SIZE_MIN {
                self.out.push(op::FRAME);
                self.out.extend_from_slice(&(frame.len() as u64).to_le_bytes());
            }
            self.out.append(frame);
        }
    }

    /// `_Framer.write_large_bytes`: ends the frame, writes outside frames.
    fn write_large(&mut self, header: &[u8], payload: &[u8]) {
        self.commit_frame(true);
        self.out.extend_from_slice(header);
        self.out.extend_from_slice(payload);
    }

    // ----- memo -----

    fn memoize(&mut self) -> u32 {
        self.write(&[op::MEMOIZE]);
        self.memo_len += 1;
        self.memo_len - 1
    }

    fn get(&mut self, index: u32) {
        match u8::try_from(index) {
            Ok(i) => self.write(&[op::BINGET, i]),
            Err(_) => {
                self.write(&[op::LONG_BINGET]);
                self.write(&index.to_le_bytes());
            }
        }
    }

    // ----- save -----

    /// `Pickler.save`: every call first commits a full frame.
    fn save(&mut self, value: &PyValue) -> std::result::Result<(), String> {
        self.commit_frame(false);
        match value {
            PyValue::None => self.write(&[op::NONE]),
            PyValue::Bool(true) => self.write(&[op::NEWTRUE]),
            PyValue::Bool(false) => self.write(&[op::NEWFALSE]),
            PyValue::Int(i) => self.save_int(*i as i128),
            PyValue::BigInt(text) => {
                let (negative, magnitude) =
                    parse_decimal(text).ok_or_else(|| self.error(format!("`{text}` is not a decimal integer")))?;
                self.save_long_bytes(&encode_long(negative, &magnitude));
            }
            PyValue::Float(f) => {
                self.write(&[op::BINFLOAT]);
                self.write(&f.to_be_bytes());
            }
            PyValue::Str(s) => self.save_str(s, true),
            PyValue::Bytes(b) => self.save_bytes(b),
            PyValue::List(items) => {
                self.write(&[op::EMPTY_LIST]);
                self.memoize();
                self.batch(items, op::APPEND, op::APPENDS, |p, i, v| p.at(format!("[{i}]"), |p| p.save(v)))?;
            }
            PyValue::Tuple(items) => self.save_tuple(items)?,
            PyValue::Dict(entries) => {
                self.write(&[op::EMPTY_DICT]);
                self.memoize();
                self.batch(entries, op::SETITEM, op::SETITEMS, |p, _, (k, v)| {
                    p.save(k)?;
                    p.at(format!("[{}]", k.repr()), |p| p.save(v))
                })?;
            }
            PyValue::Set(items) => {
                self.write(&[op::EMPTY_SET]);
                self.memoize();
                for chunk in items.chunks(BATCH) {
                    self.write(&[op::MARK]);
                    for v in chunk {
                        self.save(v)?;
                    }
                    self.write(&[op::ADDITEMS]);
                }
            }
            PyValue::Array(a) => self.save_array(a)?,
            PyValue::Scalar(a) => self.save_scalar(a)?,
            PyValue::Dtype(d) => self.save_dtype(d)?,
            PyValue::Global(name) => {
                let (module, name) =
                    name.rsplit_once('.').ok_or_else(|| self.error(format!("global `{name}` has no module part")))?;
                self.save_global(module, name, false);
            }
            PyValue::Opaque(o) => {
                return Err(self.error(format!(
                    "cannot write an opaque `{}` object (it was read in lenient mode and is not data)",
                    o.callable
                )));
            }
        }
        Ok(())
    }

    fn at<T>(
        &mut self,
        segment: String,
        f: impl FnOnce(&mut Self) -> std::result::Result<T, String>,
    ) -> std::result::Result<T, String> {
        self.path.push(segment);
        let out = f(self);
        if out.is_ok() {
            self.path.pop();
        }
        out
    }

    /// `_batch_appends` / `_batch_setitems`: one item → single opcode,
    /// more → `MARK … APPENDS/SETITEMS`, in batches of 1000.
    fn batch<T>(
        &mut self,
        items: &[T],
        one: u8,
        many: u8,
        mut save: impl FnMut(&mut Self, usize, &T) -> std::result::Result<(), String>,
    ) -> std::result::Result<(), String> {
        for (c, chunk) in items.chunks(BATCH).enumerate() {
            if chunk.len() > 1 {
                self.write(&[op::MARK]);
            }
            for (i, item) in chunk.iter().enumerate() {
                save(self, c * BATCH + i, item)?;
            }
            self.write(&[if chunk.len() > 1 { many } else { one }]);
        }
        Ok(())
    }

    fn save_int(&mut self, v: i128) {
        if (0..=0xff).contains(&v) {
            self.write(&[op::BININT1, v as u8]);
        } else if (0..=0xffff).contains(&v) {
            self.write(&[op::BININT2]);
            self.write(&(v as u16).to_le_bytes());
        } else if (i32::MIN as i128..=i32::MAX as i128).contains(&v) {
            self.write(&[op::BININT]);
            self.write(&(v as i32).to_le_bytes());
        } else {
            let magnitude = v.unsigned_abs().to_le_bytes();
            self.save_long_bytes(&encode_long(v < 0, &magnitude));
        }
    }

    fn save_long_bytes(&mut self, encoded: &[u8]) {
        if encoded.len() < 256 {
            self.write(&[op::LONG1, encoded.len() as u8]);
        } else {
            self.write(&[op::LONG4]);
            self.write(&(encoded.len() as u32).to_le_bytes());
        }
        self.write(encoded);
    }

    /// `save_str`; `shared` strings are looked up in and added to the memo
    /// by value, others only take a memo slot.
    fn save_str(&mut self, s: &str, shared: bool) {
        if shared && let Some(&i) = self.strings.get(s) {
            self.get(i);
            return;
        }
        let n = s.len();
        if n <= 0xff {
            self.write(&[op::SHORT_BINUNICODE, n as u8]);
            self.write(s.as_bytes());
        } else if n > 0xffff_ffff {
            let mut header = vec![op::BINUNICODE8];
            header.extend_from_slice(&(n as u64).to_le_bytes());
            self.write_large(&header, s.as_bytes());
        } else {
            let mut header = vec![op::BINUNICODE];
            header.extend_from_slice(&(n as u32).to_le_bytes());
            if n >= FRAME_SIZE_TARGET {
                self.write_large(&header, s.as_bytes());
            } else {
                self.write(&header);
                self.write(s.as_bytes());
            }
        }
        let i = self.memoize();
        if shared {
            self.strings.insert(s.to_string(), i);
        }
    }

    /// A string as its own `save` call (module and attribute names).
    fn save_str_call(&mut self, s: &str, shared: bool) {
        self.commit_frame(false);
        self.save_str(s, shared);
    }

    /// `save_bytes`: CPython caches `b""` and 1-byte objects, so only those
    /// are shared.
    fn save_bytes(&mut self, b: &[u8]) {
        let shared = b.len() <= 1;
        if shared && let Some(&i) = self.small_bytes.get(b) {
            self.get(i);
            return;
        }
        let n = b.len();
        if n <= 0xff {
            self.write(&[op::SHORT_BINBYTES, n as u8]);
            self.write(b);
        } else if n > 0xffff_ffff {
            let mut header = vec![op::BINBYTES8];
            header.extend_from_slice(&(n as u64).to_le_bytes());
            self.write_large(&header, b);
        } else {
            let mut header = vec![op::BINBYTES];
            header.extend_from_slice(&(n as u32).to_le_bytes());
            if n >= FRAME_SIZE_TARGET {
                self.write_large(&header, b);
            } else {
                self.write(&header);
                self.write(b);
            }
        }
        let i = self.memoize();
        if shared {
            self.small_bytes.insert(b.to_vec(), i);
        }
    }

    fn save_tuple(&mut self, items: &[PyValue]) -> std::result::Result<(), String> {
        if items.is_empty() {
            self.write(&[op::EMPTY_TUPLE]);
            return Ok(());
        }
        let small = items.len() <= 3;
        if !small {
            self.write(&[op::MARK]);
        }
        for (i, v) in items.iter().enumerate() {
            self.at(format!("[{i}]"), |p| p.save(v))?;
        }
        self.write(&[match items.len() {
            1 => op::TUPLE1,
            2 => op::TUPLE2,
            3 => op::TUPLE3,
            _ => op::TUPLE,
        }]);
        self.memoize();
        Ok(())
    }

    /// `save_global` (protocol 4: module and name strings, `STACK_GLOBAL`),
    /// memoized per `(module, name)`. `fresh_name`: the name string is a
    /// new object (not shared with equal strings).
    fn save_global(&mut self, module: &str, name: &str, fresh_name: bool) {
        let key = (module.to_string(), name.to_string());
        if let Some(&i) = self.globals.get(&key) {
            self.get(i);
            return;
        }
        self.save_str_call(module, true);
        self.save_str_call(name, !fresh_name);
        self.write(&[op::STACK_GLOBAL]);
        let i = self.memoize();
        self.globals.insert(key, i);
    }

    /// A global as its own `save` call.
    fn save_global_call(&mut self, module: &str, name: &str, fresh_name: bool) {
        self.commit_frame(false);
        self.save_global(module, name, fresh_name);
    }

    fn save_small_int_call(&mut self, v: i64) {
        self.commit_frame(false);
        self.save_int(v as i128);
    }

    fn save_const_call(&mut self, opcode: u8) {
        self.commit_frame(false);
        self.write(&[opcode]);
    }

    /// A numpy dtype: `REDUCE(numpy.dtype, (code, False, True))` then
    /// `BUILD` with numpy's 8-tuple state. Fixed-size dtypes are singletons
    /// in numpy, so they are written once and fetched from the memo after.
    fn save_dtype(&mut self, dtype: &Dtype) -> std::result::Result<(), String> {
        let spec = dtype_spec(dtype).ok_or_else(|| self.error(format!("cannot write a {} dtype", dtype.name())))?;
        if spec.singleton
            && let Some(&i) = self.dtypes.get(&spec.code)
        {
            self.get(i);
            return Ok(());
        }
        // numpy 1.x's `numpy.dtype.__qualname__` is the interned "dtype",
        // numpy 2.x's a fresh string.
        self.save_global_call("numpy", "dtype", self.numpy == NumpyFlavor::Numpy2);
        self.commit_frame(false);
        self.save_str_call(&spec.code, false);
        self.save_const_call(op::NEWFALSE);
        self.save_const_call(op::NEWTRUE);
        self.write(&[op::TUPLE3]);
        self.memoize();
        self.write(&[op::REDUCE]);
        let i = self.memoize();
        if spec.singleton {
            self.dtypes.insert(spec.code.clone(), i);
        }
        self.commit_frame(false);
        self.write(&[op::MARK]);
        self.save_small_int_call(3);
        self.save_str_call(spec.byteorder, true);
        for _ in 0..3 {
            self.save_const_call(op::NONE);
        }
        self.save_small_int_call(spec.elsize);
        self.save_small_int_call(spec.alignment);
        self.save_small_int_call(spec.flags);
        self.write(&[op::TUPLE]);
        self.memoize();
        self.write(&[op::BUILD]);
        Ok(())
    }

    /// A numpy scalar: `REDUCE(numpy…multiarray.scalar, (dtype, raw))`.
    fn save_scalar(&mut self, a: &NdArray) -> std::result::Result<(), String> {
        let ArrayData::Raw(raw) = &a.data else {
            return Err(self.error("cannot write a numpy scalar of object dtype"));
        };
        if raw.len() != a.dtype.itemsize {
            return Err(self.error(format!(
                "numpy scalar of dtype {} has {} bytes, expected {}",
                a.dtype.name(),
                raw.len(),
                a.dtype.itemsize
            )));
        }
        let module = match self.numpy {
            NumpyFlavor::Numpy1 => "numpy.core.multiarray",
            NumpyFlavor::Numpy2 => "numpy._core.multiarray",
        };
        self.save_global_call(module, "scalar", false);
        self.commit_frame(false);
        self.save_dtype(&a.dtype)?;
        self.commit_frame(false);
        self.save_bytes(raw);
        self.write(&[op::TUPLE2]);
        self.memoize();
        self.write(&[op::REDUCE]);
        self.memoize();
        Ok(())
    }

    /// joblib's `NumpyPickler.save` for an ndarray: a `NumpyArrayWrapper`
    /// object, a forced frame commit, then the data outside any frame.
    fn save_array(&mut self, a: &NdArray) -> std::result::Result<(), String> {
        let expected = a.len();
        let object = a.dtype.kind == DtypeKind::Object;
        match &a.data {
            ArrayData::Raw(raw) if !object && raw.len() == expected * a.dtype.itemsize => {}
            ArrayData::Objects(items) if object && items.len() == expected => {}
            _ => {
                return Err(self.error(format!(
                    "array of dtype {} and shape {:?} does not hold {expected} elements",
                    a.dtype.name(),
                    a.shape
                )));
            }
        }
        // Checked before anything is written so errors leave no partial state.
        dtype_spec(&a.dtype).ok_or_else(|| self.error(format!("cannot write a {} array", a.dtype.name())))?;
        self.save_global_call("joblib.numpy_pickle", "NumpyArrayWrapper", false);
        self.commit_frame(false);
        self.write(&[op::EMPTY_TUPLE]);
        self.write(&[op::NEWOBJ]);
        self.memoize();
        // The wrapper's __dict__.
        self.commit_frame(false);
        self.write(&[op::EMPTY_DICT]);
        self.memoize();
        self.write(&[op::MARK]);
        self.save_str_call("subclass", true);
        self.save_global_call("numpy", "ndarray", false);
        self.save_str_call("shape", true);
        self.commit_frame(false);
        let shape: Vec<PyValue> = a.shape.iter().map(|&d| PyValue::Int(d as i64)).collect();
        self.save_tuple(&shape)?;
        self.save_str_call("order", true);
        self.save_str_call("C", true);
        self.save_str_call("dtype", true);
        self.commit_frame(false);
        self.save_dtype(&a.dtype)?;
        self.save_str_call("allow_mmap", true);
        // joblib writes compressed files through a buffered writer, not its
        // `BinaryZlibFile`, so `allow_mmap` is true for them as well.
        self.save_const_call(if object { op::NEWFALSE } else { op::NEWTRUE });
        self.save_str_call("numpy_array_alignment_bytes", true);
        self.save_small_int_call(ALIGNMENT as i64);
        self.write(&[op::SETITEMS]);
        self.write(&[op::BUILD]);
        self.commit_frame(true);
        match &a.data {
            ArrayData::Raw(raw) => {
                let pos = self.out.len() + 1;
                let pad = ALIGNMENT - pos % ALIGNMENT;
                self.out.push(pad as u8);
                self.out.extend(std::iter::repeat_n(0xffu8, pad));
                self.out.extend_from_slice(raw);
            }
            ArrayData::Objects(items) => {
                // `pickle.dump(array, protocol=5)`: numpy's ndarray reduce.
                let mut nested = Pickler::new(5, self.numpy);
                nested.path = self.path.clone();
                nested.out.extend_from_slice(&[op::PROTO, 5]);
                nested.frame = Some(Vec::new());
                nested.save_object_array(a, items)?;
                nested.write(&[op::STOP]);
                nested.commit_frame(true);
                self.out.extend_from_slice(&nested.out);
            }
        }
        Ok(())
    }

    /// `ndarray.__reduce__` of an object array:
    /// `_reconstruct(ndarray, (0,), b"b")` then `BUILD (1, shape, dtype,
    /// False, [items])`.
    fn save_object_array(&mut self, a: &NdArray, items: &[PyValue]) -> std::result::Result<(), String> {
        let module = match self.numpy {
            NumpyFlavor::Numpy1 => "numpy.core.multiarray",
            NumpyFlavor::Numpy2 => "numpy._core.multiarray",
        };
        self.save_global_call(module, "_reconstruct", false);
        self.commit_frame(false);
        self.save_global_call("numpy", "ndarray", false);
        self.commit_frame(false);
        self.save_tuple(&[PyValue::Int(0)])?;
        self.commit_frame(false);
        self.save_bytes(b"b");
        self.write(&[op::TUPLE3]);
        self.memoize();
        self.write(&[op::REDUCE]);
        self.memoize();
        self.commit_frame(false);
        self.write(&[op::MARK]);
        self.save_small_int_call(1);
        self.commit_frame(false);
        let shape: Vec<PyValue> = a.shape.iter().map(|&d| PyValue::Int(d as i64)).collect();
        self.save_tuple(&shape)?;
        self.commit_frame(false);
        self.save_dtype(&a.dtype)?;
        self.save_const_call(op::NEWFALSE);
        self.save(&PyValue::List(items.to_vec()))?;
        self.write(&[op::TUPLE]);
        self.memoize();
        self.write(&[op::BUILD]);
        Ok(())
    }
}

/// How numpy reduces a dtype.
struct DtypeSpec {
    code: String,
    byteorder: &'static str,
    elsize: i64,
    alignment: i64,
    flags: i64,
    /// numpy keeps one object per builtin fixed-size dtype.
    singleton: bool,
}

fn dtype_spec(d: &Dtype) -> Option<DtypeSpec> {
    let n = d.itemsize;
    let plain = |prefix: &str| {
        let byteorder = if n == 1 { "|" } else { "<" };
        DtypeSpec { code: format!("{prefix}{n}"), byteorder, elsize: -1, alignment: -1, flags: 0, singleton: true }
    };
    Some(match d.kind {
        DtypeKind::Bool => plain("b"),
        DtypeKind::Int => plain("i"),
        DtypeKind::UInt => plain("u"),
        DtypeKind::Float => plain("f"),
        DtypeKind::Complex => plain("c"),
        DtypeKind::Object => {
            DtypeSpec { code: "O8".into(), byteorder: "|", elsize: -1, alignment: -1, flags: 63, singleton: true }
        }
        DtypeKind::Unicode => DtypeSpec {
            code: format!("U{}", n / 4),
            byteorder: "<",
            elsize: n as i64,
            alignment: 4,
            flags: 8,
            singleton: false,
        },
        DtypeKind::Bytes => DtypeSpec {
            code: format!("S{n}"),
            byteorder: "|",
            elsize: n as i64,
            alignment: 1,
            flags: 0,
            singleton: false,
        },
        // The unit of datetimes and the fields of records are not kept in
        // `Dtype`, so these cannot be written faithfully.
        DtypeKind::Datetime | DtypeKind::Timedelta | DtypeKind::Void => return None,
    })
}

/// `pickle.encode_long`: minimal little-endian two's complement.
fn encode_long(negative: bool, magnitude_le: &[u8]) -> Vec<u8> {
    let mut mag: Vec<u8> = magnitude_le.to_vec();
    while mag.last() == Some(&0) {
        mag.pop();
    }
    if mag.is_empty() {
        return Vec::new();
    }
    let top = *mag.last().unwrap_or(&0);
    let bit_length = (mag.len() - 1) * 8 + (8 - top.leading_zeros() as usize);
    let nbytes = (bit_length >> 3) + 1;
    mag.resize(nbytes, 0);
    if negative {
        // Two's complement: invert and add one.
        let mut carry = true;
        for b in &mut mag {
            let (v, c) = (!*b).overflowing_add(carry as u8);
            *b = v;
            carry = c;
        }
        if nbytes > 1 && mag[nbytes - 1] == 0xff && mag[nbytes - 2] & 0x80 != 0 {
            mag.pop();
        }
    }
    mag
}

/// Decimal text → (negative, magnitude little-endian bytes).
fn parse_decimal(text: &str) -> Option<(bool, Vec<u8>)> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut mag: Vec<u8> = Vec::new();
    for c in digits.bytes() {
        let mut carry = u32::from(c - b'0');
        for b in &mut mag {
            let v = u32::from(*b) * 10 + carry;
            *b = v as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            mag.push(carry as u8);
            carry >>= 8;
        }
    }
    Some((negative, mag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_encoding_matches_python() {
        // Values from `pickle.encode_long`.
        let enc = |v: i128| encode_long(v < 0, &v.unsigned_abs().to_le_bytes());
        assert_eq!(enc(0), b"");
        assert_eq!(enc(255), b"\xff\x00");
        assert_eq!(enc(-128), b"\x80");
        assert_eq!(enc(-256), b"\x00\xff");
        assert_eq!(enc(1 << 40), b"\x00\x00\x00\x00\x00\x01");
        assert_eq!(enc(-(1 << 31) - 1), b"\xff\xff\xff\x7f\xff");
        let (neg, mag) = parse_decimal("-1180591620717411303424").unwrap(); // -2**70
        assert_eq!(encode_long(neg, &mag), b"\x00\x00\x00\x00\x00\x00\x00\x00\xc0");
        assert!(parse_decimal("12a").is_none());
    }
}
