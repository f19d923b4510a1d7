//! The value tree that pickles, joblib files and `.npy`/`.npz` object arrays
//! decode into: plain data (numbers, strings, containers) and numpy arrays,
//! never live Python objects.

use std::fmt::Write as _;

/// A Python value as a pickle describes it.
///
/// Dicts keep their insertion order (Python ≥ 3.7 semantics); tuples and
/// lists stay distinct so readers can tell `img_shape` tuples from lists.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// An integer outside `i64`, as its decimal text (e.g. `"-123456789012345678901234"`).
    BigInt(String),
    /// A float.
    Float(f64),
    /// A text string.
    Str(String),
    /// `bytes` or `bytearray` (and Python 2 `str` that is not ASCII).
    Bytes(Vec<u8>),
    /// A list.
    List(Vec<PyValue>),
    /// A tuple.
    Tuple(Vec<PyValue>),
    /// A dict (also `collections.OrderedDict` and `defaultdict`), in insertion order.
    Dict(Vec<(PyValue, PyValue)>),
    /// A set or frozenset, in pickle order.
    Set(Vec<PyValue>),
    /// A numpy array.
    Array(NdArray),
    /// A numpy scalar (`np.float32(0.5)`): a 0-d array.
    Scalar(NdArray),
    /// A numpy dtype object.
    Dtype(Dtype),
    /// A reference to an allow-listed class or function kept as data
    /// (e.g. the `default_factory` of a `defaultdict`), as `module.name`.
    Global(String),
    /// Something the reader does not decode (only in lenient mode): what
    /// the pickle would have called, and with what. Never executed.
    Opaque(Box<Opaque>),
}

/// An object built by a callable that is not on the allow-list (lenient
/// mode only). Recorded, never called.
#[derive(Debug, Clone, PartialEq)]
pub struct Opaque {
    /// `module.name` of the callable or class.
    pub callable: String,
    /// The arguments it would have been called with.
    pub args: PyValue,
    /// The state a `BUILD` would have set.
    pub state: Option<PyValue>,
    /// Items appended to it (`APPEND(S)`).
    pub items: Vec<PyValue>,
    /// Entries set on it (`SETITEM(S)`).
    pub entries: Vec<(PyValue, PyValue)>,
}

impl PyValue {
    /// How deeply containers nest in the value (0 for a scalar), found
    /// without recursion so that it is safe on any value.
    pub fn depth(&self) -> usize {
        let mut deepest = 0;
        let mut todo = vec![(self, 0usize)];
        while let Some((v, d)) = todo.pop() {
            deepest = deepest.max(d);
            let mut push = |child| todo.push((child, d + 1));
            match v {
                PyValue::List(xs) | PyValue::Tuple(xs) | PyValue::Set(xs) => xs.iter().for_each(&mut push),
                PyValue::Dict(kv) => kv.iter().for_each(|(k, v)| {
                    push(k);
                    push(v)
                }),
                PyValue::Array(a) | PyValue::Scalar(a) => a.objects().unwrap_or(&[]).iter().for_each(&mut push),
                PyValue::Opaque(o) => {
                    push(&o.args);
                    o.state.iter().for_each(&mut push);
                    o.items.iter().for_each(&mut push);
                    o.entries.iter().for_each(|(k, v)| {
                        push(k);
                        push(v)
                    });
                }
                _ => {}
            }
        }
        deepest
    }

    /// A short type name for messages: `int`, `str`, `ndarray`…
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Bool(_) => "bool",
            Self::Int(_) | Self::BigInt(_) => "int",
            Self::Float(_) => "float",
            Self::Str(_) => "str",
            Self::Bytes(_) => "bytes",
            Self::List(_) => "list",
            Self::Tuple(_) => "tuple",
            Self::Dict(_) => "dict",
            Self::Set(_) => "set",
            Self::Array(_) => "ndarray",
            Self::Scalar(_) => "numpy scalar",
            Self::Dtype(_) => "dtype",
            Self::Global(_) => "global",
            Self::Opaque(_) => "opaque object",
        }
    }

    /// The text of a `str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An integer: `int`, `bool`, or an integer numpy scalar.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            Self::Bool(b) => Some(*b as i64),
            Self::Scalar(a) if a.dtype.is_integer() => a.to_i64().and_then(|v| v.first().copied()),
            _ => None,
        }
    }

    /// A number as f64: `float`, `int`, `bool` or a numeric numpy scalar.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Float(f) => Some(*f),
            Self::Int(i) => Some(*i as f64),
            Self::Bool(b) => Some(*b as u8 as f64),
            Self::Scalar(a) => a.to_f64().and_then(|v| v.first().copied()),
            _ => None,
        }
    }

    /// The elements of a list or tuple.
    pub fn as_seq(&self) -> Option<&[PyValue]> {
        match self {
            Self::List(v) | Self::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// The entries of a dict.
    pub fn as_dict(&self) -> Option<&[(PyValue, PyValue)]> {
        match self {
            Self::Dict(v) => Some(v),
            _ => None,
        }
    }

    /// The value of a `str` key in a dict.
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        self.as_dict()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }

    /// The array of an `ndarray` (or of a numpy scalar).
    pub fn as_array(&self) -> Option<&NdArray> {
        match self {
            Self::Array(a) | Self::Scalar(a) => Some(a),
            _ => None,
        }
    }

    /// The value as JSON: numpy arrays become
    /// `{"dtype": "float32", "shape": [..], "data": [..]}` (data flattened in
    /// C order), numpy scalars their plain value, dict keys text (non-string
    /// keys are written as Python would print them), big integers and
    /// non-finite floats strings, bytes `{"bytes": "<hex>"}`, opaque objects
    /// `{"opaque": "module.name", "args": …}`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Value, json};
        match self {
            Self::None => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Int(i) => json!(i),
            Self::BigInt(s) => Value::String(s.clone()),
            Self::Float(f) => float_json(*f),
            Self::Str(s) => Value::String(s.clone()),
            Self::Bytes(b) => json!({ "bytes": hex(b) }),
            Self::List(v) | Self::Tuple(v) | Self::Set(v) => Value::Array(v.iter().map(Self::to_json).collect()),
            Self::Dict(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    map.insert(k.key_text(), v.to_json());
                }
                Value::Object(map)
            }
            Self::Array(a) => a.to_json(),
            Self::Scalar(a) => match a.json_data().into_iter().next() {
                Some(v) => v,
                None => Value::Null,
            },
            Self::Dtype(d) => json!({ "dtype": d.name() }),
            Self::Global(name) => json!({ "global": name }),
            Self::Opaque(o) => {
                let mut map = serde_json::Map::new();
                map.insert("opaque".into(), Value::String(o.callable.clone()));
                map.insert("args".into(), o.args.to_json());
                if let Some(state) = &o.state {
                    map.insert("state".into(), state.to_json());
                }
                if !o.items.is_empty() {
                    map.insert("items".into(), Value::Array(o.items.iter().map(Self::to_json).collect()));
                }
                if !o.entries.is_empty() {
                    let entries = o.entries.iter().map(|(k, v)| json!([k.to_json(), v.to_json()])).collect();
                    map.insert("entries".into(), Value::Array(entries));
                }
                Value::Object(map)
            }
        }
    }

    /// The value as JSON text with dict keys in the pickle's order (Python
    /// dicts keep insertion order; `serde_json::Value` sorts its keys, and
    /// its `preserve_order` feature would change every map in the
    /// workspace, fingerprints included).
    pub fn to_json_string_pretty(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(&InOrder(self))
    }

    /// The text of a dict key in JSON: strings as they are, other keys as
    /// Python's `repr` would print them (`0.5`, `1`, `None`, `(1, 2)`).
    pub fn key_text(&self) -> String {
        match self {
            Self::Str(s) => s.clone(),
            other => other.repr(),
        }
    }

    /// A short Python-like rendering of scalars (containers abbreviated).
    pub fn repr(&self) -> String {
        match self {
            Self::None => "None".into(),
            Self::Bool(true) => "True".into(),
            Self::Bool(false) => "False".into(),
            Self::Int(i) => i.to_string(),
            Self::BigInt(s) => s.clone(),
            Self::Float(f) => py_float(*f),
            Self::Str(s) => format!("{s:?}"),
            Self::Bytes(b) => format!("b'{}'", b.escape_ascii()),
            Self::Tuple(v) => {
                let inner: Vec<String> = v.iter().map(Self::repr).collect();
                if inner.len() == 1 { format!("({},)", inner[0]) } else { format!("({})", inner.join(", ")) }
            }
            Self::List(v) => format!("[{}]", v.iter().map(Self::repr).collect::<Vec<_>>().join(", ")),
            Self::Set(v) => format!("{{{}}}", v.iter().map(Self::repr).collect::<Vec<_>>().join(", ")),
            Self::Dict(v) => format!("{{… {} entries}}", v.len()),
            Self::Array(a) => format!("ndarray({}, shape={:?})", a.dtype.name(), a.shape),
            Self::Scalar(a) => match a.json_data().into_iter().next() {
                Some(v) => v.to_string(),
                None => "?".into(),
            },
            Self::Dtype(d) => format!("dtype('{}')", d.name()),
            Self::Global(g) => g.clone(),
            Self::Opaque(o) => format!("<{}>", o.callable),
        }
    }
}

fn py_float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf".into() } else { "-inf".into() }
    } else if f == f.trunc() && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

fn float_json(f: f64) -> serde_json::Value {
    match serde_json::Number::from_f64(f) {
        Some(n) => serde_json::Value::Number(n),
        None => serde_json::Value::String(py_float(f)),
    }
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The element kind of a numpy dtype (numpy's `dtype.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtypeKind {
    /// `b`: bool (1 byte).
    Bool,
    /// `i`: signed integer.
    Int,
    /// `u`: unsigned integer.
    UInt,
    /// `f`: IEEE float (2, 4 or 8 bytes).
    Float,
    /// `c`: complex (two floats).
    Complex,
    /// `U`: fixed-width UTF-32 text.
    Unicode,
    /// `S`: fixed-width bytes.
    Bytes,
    /// `O`: Python objects (kept as [`PyValue`]s).
    Object,
    /// `M`: datetime64 (raw int64 ticks).
    Datetime,
    /// `m`: timedelta64 (raw int64 ticks).
    Timedelta,
    /// `V`: raw records (structured dtypes; fields are not decoded).
    Void,
}

/// A numpy dtype. Array data is always stored little-endian, so the byte
/// order of the file is not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dtype {
    /// Element kind.
    pub kind: DtypeKind,
    /// Bytes per element.
    pub itemsize: usize,
    /// Whether the source data was big-endian (already swapped on read).
    pub big_endian: bool,
}

impl Dtype {
    /// Parses a type code as numpy writes it in `.npy` headers and dtype
    /// pickles: `f4`, `<i8`, `|b1`, `>f8`, `O8`, `<U5`, `|S3`, `<M8[ns]`.
    pub fn from_code(code: &str) -> Option<Self> {
        let (big_endian, rest) = match code.as_bytes().first()? {
            b'<' | b'=' | b'|' => (false, &code[1..]),
            b'>' | b'!' => (true, &code[1..]),
            _ => (false, code),
        };
        let rest = rest.split('[').next().unwrap_or(rest);
        let mut chars = rest.chars();
        let k = chars.next()?;
        let digits = chars.as_str();
        let size: Option<usize> = if digits.is_empty() { None } else { Some(digits.parse().ok()?) };
        let (kind, itemsize) = match k {
            'b' | '?' => (DtypeKind::Bool, size.unwrap_or(1)),
            'i' => (DtypeKind::Int, size?),
            'u' => (DtypeKind::UInt, size?),
            'f' => (DtypeKind::Float, size?),
            'c' => (DtypeKind::Complex, size?),
            'U' => (DtypeKind::Unicode, size.unwrap_or(0) * 4),
            'S' | 'a' => (DtypeKind::Bytes, size.unwrap_or(0)),
            'O' => (DtypeKind::Object, size.unwrap_or(8)),
            'M' => (DtypeKind::Datetime, size.unwrap_or(8)),
            'm' => (DtypeKind::Timedelta, size.unwrap_or(8)),
            'V' => (DtypeKind::Void, size.unwrap_or(0)),
            _ => return None,
        };
        let valid = match kind {
            DtypeKind::Bool => itemsize == 1,
            DtypeKind::Int | DtypeKind::UInt => matches!(itemsize, 1 | 2 | 4 | 8),
            DtypeKind::Float => matches!(itemsize, 2 | 4 | 8),
            DtypeKind::Complex => matches!(itemsize, 8 | 16),
            DtypeKind::Datetime | DtypeKind::Timedelta => itemsize == 8,
            _ => true,
        };
        valid.then_some(Self { kind, itemsize, big_endian: big_endian && itemsize > 1 })
    }

    /// numpy's name for it: `float32`, `int16`, `bool`, `object`, `<U5`, `|S3`.
    pub fn name(&self) -> String {
        let bits = self.itemsize * 8;
        match self.kind {
            DtypeKind::Bool => "bool".into(),
            DtypeKind::Int => format!("int{bits}"),
            DtypeKind::UInt => format!("uint{bits}"),
            DtypeKind::Float => format!("float{bits}"),
            DtypeKind::Complex => format!("complex{bits}"),
            DtypeKind::Unicode => format!("<U{}", self.itemsize / 4),
            DtypeKind::Bytes => format!("|S{}", self.itemsize),
            DtypeKind::Object => "object".into(),
            DtypeKind::Datetime => "datetime64".into(),
            DtypeKind::Timedelta => "timedelta64".into(),
            DtypeKind::Void => format!("|V{}", self.itemsize),
        }
    }

    /// Whether elements are integers (or bools).
    pub fn is_integer(&self) -> bool {
        matches!(self.kind, DtypeKind::Int | DtypeKind::UInt | DtypeKind::Bool)
    }

    /// The size of the byte-swapping unit (complex numbers swap each half).
    pub(crate) fn swap_unit(&self) -> usize {
        match self.kind {
            DtypeKind::Complex => self.itemsize / 2,
            DtypeKind::Unicode => 4,
            DtypeKind::Bytes | DtypeKind::Void | DtypeKind::Bool | DtypeKind::Object => 1,
            _ => self.itemsize,
        }
    }
}

/// The elements of an array.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayData {
    /// Element bytes in C order, little-endian.
    Raw(Vec<u8>),
    /// Elements of an object array, in C order.
    Objects(Vec<PyValue>),
}

/// A numpy array: dtype, shape and elements in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray {
    /// Element type.
    pub dtype: Dtype,
    /// Dimensions (empty for a 0-d array or a scalar).
    pub shape: Vec<usize>,
    /// The elements.
    pub data: ArrayData,
}

/// IEEE half → single precision.
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: normalise.
            let mut e = 127 - 15 + 1;
            let mut f = frac;
            while f & 0x400 == 0 {
                f <<= 1;
                e -= 1;
            }
            sign | (e << 23) | ((f & 0x3ff) << 13)
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, _) => sign | 0x7fc0_0000 | (frac << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (frac << 13),
    };
    f32::from_bits(bits)
}

impl NdArray {
    /// Number of elements (product of the shape; 1 for 0-d).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the array has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn raw(&self) -> Option<&[u8]> {
        match &self.data {
            ArrayData::Raw(r) => Some(r),
            ArrayData::Objects(_) => None,
        }
    }

    /// Elements as f64 (bool, integer and float dtypes; `None` otherwise).
    pub fn to_f64(&self) -> Option<Vec<f64>> {
        let raw = self.raw()?;
        let n = self.dtype.itemsize;
        let out = match (self.dtype.kind, n) {
            (DtypeKind::Float, 2) => {
                raw.chunks_exact(2).map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])) as f64).collect()
            }
            (DtypeKind::Float, 4) => {
                raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64).collect()
            }
            (DtypeKind::Float, 8) => raw.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect(),
            (DtypeKind::Int | DtypeKind::UInt | DtypeKind::Bool, _) => {
                let ints = self.ints()?;
                ints.into_iter().map(|v| v as f64).collect()
            }
            _ => return None,
        };
        Some(out)
    }

    /// Elements as f32 (float dtypes are converted exactly where possible).
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        let raw = self.raw()?;
        match (self.dtype.kind, self.dtype.itemsize) {
            (DtypeKind::Float, 2) => {
                Some(raw.chunks_exact(2).map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]]))).collect())
            }
            (DtypeKind::Float, 4) => {
                Some(raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect())
            }
            _ => Some(self.to_f64()?.into_iter().map(|v| v as f32).collect()),
        }
    }

    /// Integer elements widened to i128 (bool, signed and unsigned).
    fn ints(&self) -> Option<Vec<i128>> {
        let raw = self.raw()?;
        let n = self.dtype.itemsize;
        let signed = self.dtype.kind == DtypeKind::Int;
        if !self.dtype.is_integer() {
            return None;
        }
        Some(
            raw.chunks_exact(n)
                .map(|c| {
                    let mut buf = [0u8; 8];
                    buf[..n].copy_from_slice(c);
                    if signed && c[n - 1] & 0x80 != 0 {
                        for b in &mut buf[n..] {
                            *b = 0xff;
                        }
                        i64::from_le_bytes(buf) as i128
                    } else {
                        u64::from_le_bytes(buf) as i128
                    }
                })
                .collect(),
        )
    }

    /// Integer elements as i64 (`None` for non-integer dtypes or a uint64
    /// value above `i64::MAX`).
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        self.ints()?.into_iter().map(|v| i64::try_from(v).ok()).collect()
    }

    /// Text elements of a `U` (UTF-32) or `S` (bytes, read as Latin-1) array,
    /// trailing NULs removed.
    pub fn to_strings(&self) -> Option<Vec<String>> {
        let raw = self.raw()?;
        let n = self.dtype.itemsize.max(1);
        match self.dtype.kind {
            DtypeKind::Unicode => Some(
                raw.chunks_exact(n)
                    .map(|c| {
                        c.chunks_exact(4)
                            .map(|u| u32::from_le_bytes(u.try_into().unwrap()))
                            .take_while(|&u| u != 0)
                            .map(|u| char::from_u32(u).unwrap_or('\u{fffd}'))
                            .collect()
                    })
                    .collect(),
            ),
            DtypeKind::Bytes => Some(
                raw.chunks_exact(n)
                    .map(|c| {
                        let end = c.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                        c[..end].iter().map(|&b| b as char).collect()
                    })
                    .collect(),
            ),
            _ => None,
        }
    }

    /// The elements of an object array.
    pub fn objects(&self) -> Option<&[PyValue]> {
        match &self.data {
            ArrayData::Objects(v) => Some(v),
            ArrayData::Raw(_) => None,
        }
    }

    /// Elements as JSON values, in C order.
    pub fn json_data(&self) -> Vec<serde_json::Value> {
        use serde_json::Value;
        if let Some(objects) = self.objects() {
            return objects.iter().map(PyValue::to_json).collect();
        }
        let raw = self.raw().unwrap_or_default();
        match self.dtype.kind {
            DtypeKind::Bool => raw.iter().map(|&b| Value::Bool(b != 0)).collect(),
            DtypeKind::Int | DtypeKind::UInt | DtypeKind::Datetime | DtypeKind::Timedelta => {
                let as_int = Self { dtype: Dtype { kind: DtypeKind::Int, ..self.dtype.clone() }, ..self.clone() };
                let ints = if self.dtype.kind == DtypeKind::UInt { self.ints() } else { as_int.ints() };
                ints.unwrap_or_default()
                    .into_iter()
                    .map(|v| match (i64::try_from(v), u64::try_from(v)) {
                        (Ok(i), _) => Value::from(i),
                        (_, Ok(u)) => Value::from(u),
                        _ => Value::Null,
                    })
                    .collect()
            }
            // Printed at the element's own precision (0.1f32 prints as 0.1).
            DtypeKind::Float if self.dtype.itemsize <= 4 => {
                self.to_f32().unwrap_or_default().into_iter().map(|v| float_json(shortest_f32(v))).collect()
            }
            DtypeKind::Float => self.to_f64().unwrap_or_default().into_iter().map(float_json).collect(),
            DtypeKind::Complex => {
                let half = self.dtype.itemsize / 2;
                raw.chunks_exact(self.dtype.itemsize.max(1))
                    .map(|c| {
                        let part = |b: &[u8]| -> serde_json::Value {
                            if half == 4 {
                                float_json(shortest_f32(f32::from_le_bytes(b.try_into().unwrap())))
                            } else {
                                float_json(f64::from_le_bytes(b.try_into().unwrap()))
                            }
                        };
                        Value::Array(vec![part(&c[..half]), part(&c[half..])])
                    })
                    .collect()
            }
            DtypeKind::Unicode | DtypeKind::Bytes => {
                self.to_strings().unwrap_or_default().into_iter().map(Value::String).collect()
            }
            DtypeKind::Object | DtypeKind::Void => {
                raw.chunks_exact(self.dtype.itemsize.max(1)).map(|c| Value::String(hex(c))).collect()
            }
        }
    }

    /// `{"dtype": …, "shape": […], "data": […]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "dtype": self.dtype.name(), "shape": self.shape, "data": self.json_data() })
    }
}

/// The f64 whose shortest decimal form is that of the f32 (so 0.1f32 is
/// 0.1, not 0.10000000149011612).
fn shortest_f32(v: f32) -> f64 {
    if v.is_finite() { v.to_string().parse().unwrap_or(v as f64) } else { v as f64 }
}

/// For each element in row-major (C) order, its position in column-major
/// (Fortran) storage of `shape`: the one reordering every reader shares.
pub(crate) fn fortran_offsets(shape: &[usize]) -> impl Iterator<Item = usize> + '_ {
    let count: usize = shape.iter().product();
    let mut index = vec![0usize; shape.len()];
    (0..count).map(move |_| {
        let mut offset = 0;
        for d in (0..shape.len()).rev() {
            offset = offset * shape[d] + index[d];
        }
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
        offset
    })
}

/// Reorders column-major elements of `shape` (each `unit` bytes) into
/// row-major order.
pub(crate) fn fortran_to_c_bytes(raw: &[u8], shape: &[usize], unit: usize) -> Vec<u8> {
    let count: usize = shape.iter().product();
    if shape.len() < 2 || count == 0 {
        return raw.to_vec();
    }
    let mut out = Vec::with_capacity(raw.len());
    for offset in fortran_offsets(shape) {
        out.extend_from_slice(&raw[offset * unit..(offset + 1) * unit]);
    }
    out
}

/// The same reordering for object elements.
pub(crate) fn fortran_to_c_objects(values: Vec<PyValue>, shape: &[usize]) -> Vec<PyValue> {
    let count: usize = shape.iter().product();
    if shape.len() < 2 || count == 0 || values.len() != count {
        return values;
    }
    let mut slots: Vec<Option<PyValue>> = values.into_iter().map(Some).collect();
    fortran_offsets(shape).map(|offset| slots[offset].take().unwrap_or(PyValue::None)).collect()
}

/// Swaps each `unit`-byte group of big-endian data to little-endian.
pub(crate) fn swap_to_little(raw: &mut [u8], unit: usize) {
    if unit > 1 {
        for c in raw.chunks_exact_mut(unit) {
            c.reverse();
        }
    }
}

/// Serializes a [`PyValue`] as [`PyValue::to_json`] does, keeping dict,
/// array (`dtype`, `shape`, `data`) and opaque-object keys in order.
struct InOrder<'a>(&'a PyValue);

impl serde::Serialize for InOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            PyValue::List(v) | PyValue::Tuple(v) | PyValue::Set(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for item in v {
                    seq.serialize_element(&InOrder(item))?;
                }
                seq.end()
            }
            PyValue::Dict(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(&k.key_text(), &InOrder(v))?;
                }
                map.end()
            }
            PyValue::Array(a) => {
                let mut map = s.serialize_map(Some(3))?;
                map.serialize_entry("dtype", &a.dtype.name())?;
                map.serialize_entry("shape", &a.shape)?;
                map.serialize_entry("data", &a.json_data())?;
                map.end()
            }
            PyValue::Opaque(o) => {
                let mut map = s.serialize_map(None)?;
                map.serialize_entry("opaque", &o.callable)?;
                map.serialize_entry("args", &InOrder(&o.args))?;
                if let Some(state) = &o.state {
                    map.serialize_entry("state", &InOrder(state))?;
                }
                if !o.items.is_empty() {
                    let items: Vec<InOrder<'_>> = o.items.iter().map(InOrder).collect();
                    map.serialize_entry("items", &items)?;
                }
                if !o.entries.is_empty() {
                    let entries: Vec<(InOrder<'_>, InOrder<'_>)> =
                        o.entries.iter().map(|(k, v)| (InOrder(k), InOrder(v))).collect();
                    map.serialize_entry("entries", &entries)?;
                }
                map.end()
            }
            other => other.to_json().serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_floats() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f16_to_f32(0x3ba2), 0.954_101_56);
    }

    #[test]
    fn dtype_codes() {
        assert_eq!(Dtype::from_code("<f4").unwrap().name(), "float32");
        assert_eq!(Dtype::from_code("f2").unwrap().name(), "float16");
        assert_eq!(Dtype::from_code("|b1").unwrap().name(), "bool");
        assert_eq!(Dtype::from_code("O8").unwrap().name(), "object");
        assert_eq!(Dtype::from_code("<U5").unwrap().itemsize, 20);
        assert!(Dtype::from_code(">i8").unwrap().big_endian);
        assert!(Dtype::from_code("f3").is_none());
        assert!(Dtype::from_code("").is_none());
    }

    #[test]
    fn json_of_arrays() {
        let a = NdArray {
            dtype: Dtype::from_code("<f4").unwrap(),
            shape: vec![2],
            data: ArrayData::Raw([0.1f32.to_le_bytes(), 2.5f32.to_le_bytes()].concat()),
        };
        assert_eq!(a.to_json().to_string(), r#"{"data":[0.1,2.5],"dtype":"float32","shape":[2]}"#);
        let i = NdArray {
            dtype: Dtype::from_code("<i2").unwrap(),
            shape: vec![2],
            data: ArrayData::Raw(vec![0xff, 0xff, 3, 0]),
        };
        assert_eq!(i.to_i64().unwrap(), vec![-1, 3]);
        assert_eq!(i.json_data(), vec![serde_json::json!(-1), serde_json::json!(3)]);
    }
}
