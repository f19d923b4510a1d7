//! A safe pickle reader: a stack machine that builds a [`PyValue`] tree and
//! never executes anything.
//!
//! Why hand-written: Python's unpickler *calls* whatever `GLOBAL` +
//! `REDUCE` name (`os.system`, `subprocess.Popen`, `builtins.eval`…), and
//! the Rust crates that read pickles either aim at serde round-trips of
//! Rust data (no numpy, no joblib) or resolve globals through callbacks that
//! make code execution a configuration mistake away. This reader treats
//! `GLOBAL`/`STACK_GLOBAL`, `REDUCE`, `NEWOBJ` and `BUILD` as *data*: a short
//! allow-list of numpy/joblib/builtin constructors is evaluated by
//! re-implementing what they would build (an array, a dtype, a set…), and
//! any other global is an error naming it — or, when the caller asks for
//! leniency, an [`Opaque`] node recording the name and arguments.
//!
//! Supported: protocols 0–5 (all opcodes except out-of-band buffers,
//! persistent ids and the extension registry), numpy arrays
//! (`_reconstruct` + `BUILD`, `_frombuffer`, scalars, dtypes, Python-3
//! `_codecs.encode(text, "latin1")` payloads of protocol-2 files), joblib's
//! `NumpyArrayWrapper` with the raw array bytes after its `BUILD` (16-byte
//! alignment padding or none, object arrays as a nested pickle), sets,
//! `collections.OrderedDict` and `defaultdict` (as dicts).
//!
//! Every error names the byte offset of the opcode that failed; truncated
//! or garbage input is an error, never a panic. Shared references (memo
//! `GET`s) are copied into the tree; a pickle whose tree would be
//! disproportionately larger than the file, or that refers to itself, is
//! an error.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result, read_bytes};
use crate::value::{
    ArrayData, Dtype, DtypeKind, NdArray, Opaque, PyValue, fortran_to_c_bytes, fortran_to_c_objects, swap_to_little,
};

/// How strict the reader is.
#[derive(Debug, Clone, Copy, Default)]
pub struct PickleOptions {
    /// Turn globals outside the allow-list into [`Opaque`] nodes instead of
    /// failing. Nothing is executed either way.
    pub lenient: bool,
    /// `torch.save` archives (`data.pkl`): persistent ids become
    /// `persistent_load` [`Opaque`] nodes holding the id, `torch.*` globals
    /// (`_rebuild_tensor_v2`, `FloatStorage`, …) are kept as opaque data,
    /// and the `_metadata` a `BUILD` sets on a state dict is dropped.
    /// [`crate::torch`] turns the result into tensors.
    pub torch: bool,
}

impl PickleOptions {
    /// Options that keep unknown globals as opaque nodes.
    pub fn lenient() -> Self {
        Self { lenient: true, torch: false }
    }

    /// Options for the `data.pkl` of a `torch.save` archive.
    pub fn torch() -> Self {
        Self { lenient: false, torch: true }
    }
}

/// Decodes one pickle from `bytes`; `path` is only used in error messages.
pub fn parse_pickle(bytes: &[u8], path: &Path, options: PickleOptions) -> Result<PyValue> {
    let (value, _end) = parse_pickle_at(bytes, 0, path, options)?;
    Ok(value)
}

/// Reads and decodes a pickle file (a plain pickle; for joblib files, use
/// [`crate::joblib::read_joblib`], which also handles compression).
pub fn read_pickle(path: &Path, options: PickleOptions) -> Result<PyValue> {
    parse_pickle(&read_bytes(path)?, path, options)
}

/// Decodes the pickle that starts at `start` in `bytes` (error offsets are
/// positions in `bytes`); returns the value and the offset after `STOP`.
pub(crate) fn parse_pickle_at(
    bytes: &[u8],
    start: usize,
    path: &Path,
    options: PickleOptions,
) -> Result<(PyValue, usize)> {
    parse_nested(bytes, start, path, options, 0)
}

fn parse_nested(
    bytes: &[u8],
    start: usize,
    path: &Path,
    options: PickleOptions,
    depth: u32,
) -> Result<(PyValue, usize)> {
    let mut vm = Vm::new(bytes, start, path, options, depth);
    let root = vm.run()?;
    let end = vm.pos;
    let value = vm.materialize(root)?;
    Ok((value, end))
}

/// Index of a node in the VM's arena.
type Id = usize;

/// The callables and classes the reader knows how to evaluate as data.
#[derive(Debug, Clone, PartialEq)]
enum Callable {
    /// `numpy.core.multiarray._reconstruct`.
    Reconstruct,
    /// `numpy.ndarray`, `numpy.matrix`, `numpy.memmap`: only as arguments.
    ArrayClass,
    /// `numpy.dtype`.
    Dtype,
    /// `numpy.core.multiarray.scalar`.
    Scalar,
    /// `numpy.core.numeric._frombuffer`.
    FromBuffer,
    /// `_codecs.encode`.
    CodecsEncode,
    /// `joblib.numpy_pickle.NumpyArrayWrapper`.
    JoblibWrapper,
    /// `builtins.set`.
    Set,
    /// `builtins.frozenset`.
    FrozenSet,
    /// `builtins.list`.
    List,
    /// `builtins.tuple`.
    Tuple,
    /// `builtins.dict`, `collections.OrderedDict`.
    Dict,
    /// `collections.defaultdict` (the factory is dropped).
    DefaultDict,
    /// `builtins.bytearray` / `builtins.bytes`.
    ByteArray,
    /// `builtins.int`, `float`, `str`, `bool`, `object`, `complex`, `slice`,
    /// `range`: harmless as data (a defaultdict factory), not called.
    TypeRef,
    /// Not on the allow-list (lenient mode only).
    Unknown,
}

fn resolve_global(module: &str, name: &str) -> Callable {
    let module = match module {
        "__builtin__" => "builtins",
        "copy_reg" => "copyreg",
        m => m,
    };
    match (module, name) {
        ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => Callable::Reconstruct,
        ("numpy", "ndarray" | "matrix" | "memmap")
        | ("numpy.matrixlib.defmatrix", "matrix")
        | ("numpy.core.memmap" | "numpy._core.memmap", "memmap") => Callable::ArrayClass,
        ("numpy", "dtype") => Callable::Dtype,
        ("numpy.core.multiarray" | "numpy._core.multiarray", "scalar") => Callable::Scalar,
        ("numpy.core.numeric" | "numpy._core.numeric", "_frombuffer") => Callable::FromBuffer,
        ("_codecs", "encode") => Callable::CodecsEncode,
        ("joblib.numpy_pickle" | "sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper") => {
            Callable::JoblibWrapper
        }
        ("builtins", "set") => Callable::Set,
        ("builtins", "frozenset") => Callable::FrozenSet,
        ("builtins", "list") => Callable::List,
        ("builtins", "tuple") => Callable::Tuple,
        ("builtins", "dict") | ("collections", "OrderedDict") => Callable::Dict,
        ("collections", "defaultdict") => Callable::DefaultDict,
        ("builtins", "bytearray" | "bytes") => Callable::ByteArray,
        ("builtins", "int" | "float" | "str" | "bool" | "object" | "complex" | "slice" | "range") => Callable::TypeRef,
        _ => Callable::Unknown,
    }
}

/// A hashable form of a dict key, to replace values of repeated keys as
/// Python does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum HashKey {
    None,
    Int(i64),
    Big(String),
    Float(u64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<HashKey>),
}

#[derive(Debug)]
struct DictNode {
    entries: Vec<(Id, Id)>,
    index: HashMap<HashKey, usize>,
}

#[derive(Debug)]
enum Node {
    Leaf(PyValue),
    List(Vec<Id>),
    Tuple(Vec<Id>),
    Dict(DictNode),
    Set(Vec<Id>),
    Global {
        name: String,
        callable: Callable,
    },
    Array {
        dtype: Dtype,
        shape: Vec<usize>,
        data: NodeArrayData,
        scalar: bool,
    },
    Dtype(Dtype),
    /// `_reconstruct(...)` before its `BUILD`.
    PendingArray,
    /// `NumpyArrayWrapper()` before its `BUILD`.
    PendingWrapper,
    Opaque {
        callable: String,
        args: Id,
        state: Option<Id>,
        items: Vec<Id>,
        entries: Vec<(Id, Id)>,
    },
    /// Moved out while materialising.
    Taken,
}

#[derive(Debug)]
enum NodeArrayData {
    Raw(Vec<u8>),
    Objects(Vec<Id>),
    /// An object array decoded from a nested pickle (joblib).
    Value(Vec<PyValue>),
}

/// Nested pickles (joblib object arrays) deeper than this are refused.
const MAX_NESTING: u32 = 8;
/// Containers nested deeper than this are refused while building the tree,
/// counting the values of nested (joblib) pickles. The tree is built
/// without recursion, but every later walk over a decoded value recurses
/// (`to_json`, `repr`, dropping it), and ingest runs on worker threads with
/// 2 MiB stacks: the bound keeps them far from the end of the stack (a
/// test walks a value this deep on a 512 KiB stack, in a debug build).
/// Real dataset pickles nest under 20 deep; 128 is also serde_json's limit.
pub const MAX_DEPTH: usize = 128;

struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    /// Offset of the opcode being executed (for errors).
    op_pos: usize,
    path: &'a Path,
    options: PickleOptions,
    depth: u32,
    nodes: Vec<Node>,
    stack: Vec<Id>,
    marks: Vec<usize>,
    memo: HashMap<u64, Id>,
}

impl<'a> Vm<'a> {
    fn new(data: &'a [u8], start: usize, path: &'a Path, options: PickleOptions, depth: u32) -> Self {
        Self {
            data,
            pos: start,
            op_pos: start,
            path,
            options,
            depth,
            nodes: Vec::new(),
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
        }
    }

    fn err(&self, message: impl Into<String>) -> Error {
        Error::bytes(self.path, self.op_pos as u64, message)
    }

    fn add(&mut self, node: Node) -> Id {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn push(&mut self, node: Node) {
        let id = self.add(node);
        self.stack.push(id);
    }

    fn pop(&mut self) -> Result<Id> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.err("stack underflow: the pickle is corrupt"));
        }
        Ok(self.stack.pop().expect("checked above"))
    }

    fn top(&self) -> Result<Id> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.err("stack underflow: the pickle is corrupt"));
        }
        Ok(*self.stack.last().expect("checked above"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Id>> {
        let Some(mark) = self.marks.pop() else {
            return Err(self.err("no MARK on the stack: the pickle is corrupt"));
        };
        Ok(self.stack.split_off(mark))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let data: &'a [u8] = self.data;
        let end = self.pos.checked_add(n).filter(|&e| e <= data.len()).ok_or_else(|| {
            self.err(format!("truncated pickle: needs {n} more bytes, {} left", data.len().saturating_sub(self.pos)))
        })?;
        let s = &data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn len_u64(&mut self) -> Result<usize> {
        let n = self.u64()?;
        usize::try_from(n).map_err(|_| self.err(format!("length {n} is too large")))
    }

    /// A `\n`-terminated line (protocol 0 arguments), without the newline.
    fn line(&mut self) -> Result<&'a [u8]> {
        let data: &'a [u8] = self.data;
        let rest = &data[self.pos.min(data.len())..];
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return Err(self.err("truncated pickle: a text argument has no terminating newline"));
        };
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    fn line_str(&mut self) -> Result<&'a str> {
        let line = self.line()?;
        std::str::from_utf8(line).map_err(|_| self.err("a text argument is not valid UTF-8"))
    }

    fn utf8(&self, b: &[u8]) -> Result<String> {
        String::from_utf8(b.to_vec()).map_err(|e| self.err(format!("invalid UTF-8 in a string: {e}")))
    }

    /// Runs until `STOP`; returns the root node.
    fn run(&mut self) -> Result<Id> {
        loop {
            self.op_pos = self.pos;
            let op = match self.data.get(self.pos) {
                Some(&op) => op,
                None => {
                    return Err(self.err("truncated pickle: the data ends before the STOP opcode"));
                }
            };
            self.pos += 1;
            match op {
                b'.' => {
                    // STOP
                    let root = self.pop()?;
                    return Ok(root);
                }
                0x80 => {
                    // PROTO
                    let p = self.u8()?;
                    if p > 5 {
                        return Err(self.err(format!("unsupported pickle protocol {p} (0 to 5 are supported)")));
                    }
                }
                0x95 => {
                    // FRAME: the reader has the whole stream in memory, so
                    // frames are only a length to skip over.
                    self.u64()?;
                }
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    // POP (a MARK at the top is popped instead, as CPython does)
                    if self.marks.last() == Some(&self.stack.len()) {
                        self.marks.pop();
                    } else {
                        self.pop()?;
                    }
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let t = self.top()?;
                    self.stack.push(t);
                }
                b'N' => self.push(Node::Leaf(PyValue::None)),
                0x88 => self.push(Node::Leaf(PyValue::Bool(true))),
                0x89 => self.push(Node::Leaf(PyValue::Bool(false))),
                b'J' => {
                    let v = self.u32()? as i32 as i64;
                    self.push(Node::Leaf(PyValue::Int(v)));
                }
                b'K' => {
                    let v = self.u8()? as i64;
                    self.push(Node::Leaf(PyValue::Int(v)));
                }
                b'M' => {
                    let v = self.u16()? as i64;
                    self.push(Node::Leaf(PyValue::Int(v)));
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    self.push(Node::Leaf(long_from_le(b)));
                }
                0x8b => {
                    let n = self.u32()? as usize;
                    let b = self.take(n)?;
                    self.push(Node::Leaf(long_from_le(b)));
                }
                b'I' => {
                    let line = self.line_str()?.trim();
                    let v = match line {
                        "01" => PyValue::Bool(true),
                        "00" => PyValue::Bool(false),
                        s => parse_decimal_int(s).ok_or_else(|| self.err(format!("INT: `{s}` is not an integer")))?,
                    };
                    self.push(Node::Leaf(v));
                }
                b'L' => {
                    let line = self.line_str()?.trim();
                    let s = line.strip_suffix('L').unwrap_or(line);
                    let v = parse_decimal_int(s).ok_or_else(|| self.err(format!("LONG: `{s}` is not an integer")))?;
                    self.push(Node::Leaf(v));
                }
                b'F' => {
                    let line = self.line_str()?.trim();
                    let v: f64 = line.parse().map_err(|_| self.err(format!("FLOAT: `{line}` is not a number")))?;
                    self.push(Node::Leaf(PyValue::Float(v)));
                }
                b'G' => {
                    let b = self.take(8)?;
                    self.push(Node::Leaf(PyValue::Float(f64::from_be_bytes(b.try_into().expect("8 bytes")))));
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let b = self.take(n)?;
                    let s = self.utf8(b)?;
                    self.push(Node::Leaf(PyValue::Str(s)));
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    let s = self.utf8(b)?;
                    self.push(Node::Leaf(PyValue::Str(s)));
                }
                0x8d => {
                    let n = self.len_u64()?;
                    let b = self.take(n)?;
                    let s = self.utf8(b)?;
                    self.push(Node::Leaf(PyValue::Str(s)));
                }
                b'V' => {
                    let line = self.line()?;
                    let s = raw_unicode_escape(line).ok_or_else(|| self.err("UNICODE: a bad `\\u` escape"))?;
                    self.push(Node::Leaf(PyValue::Str(s)));
                }
                b'T' => {
                    let n = self.u32()? as usize;
                    let b = self.take(n)?;
                    self.push(Node::Leaf(py2_str(b)));
                }
                b'U' => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    self.push(Node::Leaf(py2_str(b)));
                }
                b'S' => {
                    let line = self.line()?;
                    let b = unquote_py2_string(line).ok_or_else(|| self.err("STRING: not a quoted Python string"))?;
                    self.push(Node::Leaf(py2_str(&b)));
                }
                b'B' => {
                    let n = self.u32()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.push(Node::Leaf(PyValue::Bytes(b)));
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.push(Node::Leaf(PyValue::Bytes(b)));
                }
                0x8e | 0x96 => {
                    let n = self.len_u64()?;
                    let b = self.take(n)?.to_vec();
                    self.push(Node::Leaf(PyValue::Bytes(b)));
                }
                0x97 | 0x98 => {
                    return Err(self.err("out-of-band buffers (pickle protocol 5 `buffer_callback`) are not supported"));
                }
                b'Q' if self.options.torch => {
                    let pid = self.pop()?;
                    self.push(Node::Opaque {
                        callable: "persistent_load".into(),
                        args: pid,
                        state: None,
                        items: Vec::new(),
                        entries: Vec::new(),
                    });
                }
                b'P' | b'Q' => {
                    return Err(self.err(
                        "persistent ids (PERSID/BINPERSID, as written by torch.save) are only read in torch archives",
                    )
                    .with_hint("read `torch.save` files with `actionbench_formats::torch::read_torch_state`"));
                }
                0x82..=0x84 => {
                    return Err(self.err("the copyreg extension registry (EXT1/EXT2/EXT4) is not supported"));
                }
                b'}' => self.push(Node::Dict(DictNode { entries: Vec::new(), index: HashMap::new() })),
                b']' => self.push(Node::List(Vec::new())),
                b')' => self.push(Node::Tuple(Vec::new())),
                0x8f => self.push(Node::Set(Vec::new())),
                b'd' => {
                    let items = self.pop_mark()?;
                    let id = self.add(Node::Dict(DictNode { entries: Vec::new(), index: HashMap::new() }));
                    self.set_items(id, &items)?;
                    self.stack.push(id);
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Node::List(items));
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Node::Tuple(items));
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.push(Node::Set(items));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    self.push(Node::Tuple(items));
                }
                b'a' => {
                    let v = self.pop()?;
                    let target = self.top()?;
                    self.append(target, &[v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let target = self.top()?;
                    self.append(target, &items)?;
                }
                0x90 => {
                    let items = self.pop_mark()?;
                    let target = self.top()?;
                    match &mut self.nodes[target] {
                        Node::Set(v) => v.extend(items),
                        _ => return Err(self.err("ADDITEMS on something that is not a set")),
                    }
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let target = self.top()?;
                    self.set_items(target, &[k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let target = self.top()?;
                    self.set_items(target, &items)?;
                }
                b'p' => {
                    let s = self.line_str()?.trim();
                    let i: u64 = s.parse().map_err(|_| self.err(format!("PUT: `{s}` is not a memo index")))?;
                    let t = self.top()?;
                    self.memo.insert(i, t);
                }
                b'q' => {
                    let i = self.u8()? as u64;
                    let t = self.top()?;
                    self.memo.insert(i, t);
                }
                b'r' => {
                    let i = self.u32()? as u64;
                    let t = self.top()?;
                    self.memo.insert(i, t);
                }
                0x94 => {
                    let i = self.memo.len() as u64;
                    let t = self.top()?;
                    self.memo.insert(i, t);
                }
                b'g' => {
                    let s = self.line_str()?.trim();
                    let i: u64 = s.parse().map_err(|_| self.err(format!("GET: `{s}` is not a memo index")))?;
                    self.memo_get(i)?;
                }
                b'h' => {
                    let i = self.u8()? as u64;
                    self.memo_get(i)?;
                }
                b'j' => {
                    let i = self.u32()? as u64;
                    self.memo_get(i)?;
                }
                b'c' => {
                    let module = self.line_str()?.to_string();
                    let name = self.line_str()?.to_string();
                    let node = self.global(&module, &name)?;
                    self.push(node);
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Node::Leaf(PyValue::Str(module)), Node::Leaf(PyValue::Str(name))) =
                        (&self.nodes[module], &self.nodes[name])
                    else {
                        return Err(self.err("STACK_GLOBAL: module and name must be strings"));
                    };
                    let (module, name) = (module.clone(), name.clone());
                    let node = self.global(&module, &name)?;
                    self.push(node);
                }
                b'i' => {
                    // INST: GLOBAL + call with the items above the mark.
                    let module = self.line_str()?.to_string();
                    let name = self.line_str()?.to_string();
                    let callable = self.global(&module, &name)?;
                    let callable = self.add(callable);
                    let items = self.pop_mark()?;
                    let args = self.add(Node::Tuple(items));
                    let result = self.call(callable, args)?;
                    self.stack.push(result);
                }
                b'o' => {
                    // OBJ: mark, class, args...
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return Err(self.err("OBJ without a class"));
                    }
                    let callable = items.remove(0);
                    let args = self.add(Node::Tuple(items));
                    let result = self.call(callable, args)?;
                    self.stack.push(result);
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let result = self.call(callable, args)?;
                    self.stack.push(result);
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let result = self.call(cls, args)?;
                    self.stack.push(result);
                }
                0x92 => {
                    let _kwargs = self.pop()?;
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let result = self.call(cls, args)?;
                    self.stack.push(result);
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.top()?;
                    self.build(target, state)?;
                }
                other => {
                    return Err(
                        self.err(format!("unknown pickle opcode 0x{other:02x}: not a pickle, or a corrupt one"))
                    );
                }
            }
        }
    }

    fn memo_get(&mut self, i: u64) -> Result<()> {
        let Some(&id) = self.memo.get(&i) else {
            return Err(self.err(format!("memo entry {i} was never stored: the pickle is corrupt")));
        };
        self.stack.push(id);
        Ok(())
    }

    fn global(&self, module: &str, name: &str) -> Result<Node> {
        let callable = resolve_global(module, name);
        let full = format!("{module}.{name}");
        let torch = self.options.torch && (module == "torch" || module.starts_with("torch."));
        if callable == Callable::Unknown && !self.options.lenient && !torch {
            return Err(self
                .err(format!(
                    "the pickle refers to `{full}`, which is not on the allow-list of data constructors; \
                     refusing to load it (nothing was executed)"
                ))
                .with_hint("Only numpy arrays, dtypes, scalars, joblib arrays and builtin containers are decoded; read the file in lenient mode (`actionbench inspect --lenient`) to see the rest as opaque nodes"));
        }
        Ok(Node::Global { name: full, callable })
    }

    fn append(&mut self, target: Id, items: &[Id]) -> Result<()> {
        match &mut self.nodes[target] {
            Node::List(v) => v.extend_from_slice(items),
            Node::Set(v) => v.extend_from_slice(items),
            Node::Opaque { items: v, .. } => v.extend_from_slice(items),
            other => {
                let what = node_kind(other);
                return Err(self.err(format!("APPEND on a {what}: the pickle is corrupt")));
            }
        }
        Ok(())
    }

    fn set_items(&mut self, target: Id, items: &[Id]) -> Result<()> {
        if !items.len().is_multiple_of(2) {
            return Err(self.err("SETITEMS with an odd number of items: the pickle is corrupt"));
        }
        let keys: Vec<Option<HashKey>> = items.chunks(2).map(|kv| self.hash_key(kv[0], 0)).collect();
        match &mut self.nodes[target] {
            Node::Dict(d) => {
                for (kv, key) in items.chunks(2).zip(keys) {
                    match key.and_then(|k| match d.index.get(&k) {
                        Some(&i) => Some(i),
                        None => {
                            d.index.insert(k, d.entries.len());
                            None
                        }
                    }) {
                        Some(i) => d.entries[i].1 = kv[1],
                        None => d.entries.push((kv[0], kv[1])),
                    }
                }
            }
            Node::Opaque { entries, .. } => entries.extend(items.chunks(2).map(|kv| (kv[0], kv[1]))),
            other => {
                let what = node_kind(other);
                return Err(self.err(format!("SETITEM on a {what}: the pickle is corrupt")));
            }
        }
        Ok(())
    }

    fn hash_key(&self, id: Id, depth: usize) -> Option<HashKey> {
        if depth > 32 {
            return None;
        }
        match &self.nodes[id] {
            Node::Leaf(v) => match v {
                PyValue::None => Some(HashKey::None),
                PyValue::Bool(b) => Some(HashKey::Int(*b as i64)),
                PyValue::Int(i) => Some(HashKey::Int(*i)),
                PyValue::BigInt(s) => Some(HashKey::Big(s.clone())),
                PyValue::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(HashKey::Int(*f as i64)),
                PyValue::Float(f) => Some(HashKey::Float(f.to_bits())),
                PyValue::Str(s) => Some(HashKey::Str(s.clone())),
                PyValue::Bytes(b) => Some(HashKey::Bytes(b.clone())),
                _ => None,
            },
            Node::Tuple(items) => {
                items.iter().map(|&i| self.hash_key(i, depth + 1)).collect::<Option<Vec<_>>>().map(HashKey::Tuple)
            }
            _ => None,
        }
    }

    fn tuple_items(&self, id: Id, what: &str) -> Result<Vec<Id>> {
        match &self.nodes[id] {
            Node::Tuple(v) => Ok(v.clone()),
            other => Err(self.err(format!("{what}: expected a tuple of arguments, found a {}", node_kind(other)))),
        }
    }

    fn str_of(&self, id: Id) -> Option<&str> {
        match &self.nodes[id] {
            Node::Leaf(PyValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    fn int_of(&self, id: Id) -> Option<i64> {
        match &self.nodes[id] {
            Node::Leaf(PyValue::Int(i)) => Some(*i),
            Node::Leaf(PyValue::Bool(b)) => Some(*b as i64),
            _ => None,
        }
    }

    fn bool_of(&self, id: Id) -> Option<bool> {
        match &self.nodes[id] {
            Node::Leaf(PyValue::Bool(b)) => Some(*b),
            Node::Leaf(PyValue::Int(i)) => Some(*i != 0),
            _ => None,
        }
    }

    /// Bytes of a `bytes` node, or of a `str` whose code points are all
    /// below 256 (Python 2 `str` payloads).
    fn bytes_of(&self, id: Id) -> Option<Vec<u8>> {
        match &self.nodes[id] {
            Node::Leaf(PyValue::Bytes(b)) => Some(b.clone()),
            Node::Leaf(PyValue::Str(s)) => latin1_bytes(s),
            _ => None,
        }
    }

    fn shape_of(&self, id: Id) -> Option<Vec<usize>> {
        match &self.nodes[id] {
            Node::Tuple(v) | Node::List(v) => {
                v.iter().map(|&i| self.int_of(i).and_then(|d| usize::try_from(d).ok())).collect()
            }
            Node::Leaf(PyValue::Int(d)) => usize::try_from(*d).ok().map(|d| vec![d]),
            _ => None,
        }
    }

    fn dtype_of(&self, id: Id) -> Option<Dtype> {
        match &self.nodes[id] {
            Node::Dtype(d) => Some(d.clone()),
            _ => None,
        }
    }

    /// Evaluates `callable(*args)` for allow-listed callables; records an
    /// opaque node for others (lenient mode). Never executes anything.
    fn call(&mut self, callable: Id, args: Id) -> Result<Id> {
        let (name, kind) = match &self.nodes[callable] {
            Node::Global { name, callable } => (name.clone(), callable.clone()),
            other => {
                let what = node_kind(other);
                return Err(
                    self.err(format!("REDUCE/NEWOBJ on a {what}, which is not callable: the pickle is corrupt"))
                );
            }
        };
        let a = self.tuple_items(args, &name)?;
        let bad = |vm: &Self, expected: &str| {
            vm.err(format!("`{name}` called with unexpected arguments (expected {expected})"))
        };
        let node = match kind {
            Callable::Reconstruct => Node::PendingArray,
            Callable::JoblibWrapper => Node::PendingWrapper,
            Callable::Dtype => {
                let code = a.first().and_then(|&i| self.str_of(i)).ok_or_else(|| bad(self, "a type code"))?;
                let dtype =
                    Dtype::from_code(code).ok_or_else(|| self.err(format!("numpy dtype `{code}` is not supported")))?;
                Node::Dtype(dtype)
            }
            Callable::Scalar => {
                let dtype = a.first().and_then(|&i| self.dtype_of(i)).ok_or_else(|| bad(self, "(dtype, bytes)"))?;
                if dtype.kind == DtypeKind::Object {
                    let obj = *a.get(1).ok_or_else(|| bad(self, "(dtype, object)"))?;
                    Node::Array { dtype, shape: vec![], data: NodeArrayData::Objects(vec![obj]), scalar: true }
                } else {
                    let mut raw =
                        a.get(1).and_then(|&i| self.bytes_of(i)).ok_or_else(|| bad(self, "(dtype, bytes)"))?;
                    if raw.len() != dtype.itemsize {
                        return Err(self.err(format!(
                            "numpy scalar of dtype {} has {} bytes, expected {}",
                            dtype.name(),
                            raw.len(),
                            dtype.itemsize
                        )));
                    }
                    if dtype.big_endian {
                        swap_to_little(&mut raw, dtype.swap_unit());
                    }
                    Node::Array { dtype, shape: vec![], data: NodeArrayData::Raw(raw), scalar: true }
                }
            }
            Callable::FromBuffer => {
                let (Some(buf), Some(dtype), Some(shape)) = (
                    a.first().and_then(|&i| self.bytes_of(i)),
                    a.get(1).and_then(|&i| self.dtype_of(i)),
                    a.get(2).and_then(|&i| self.shape_of(i)),
                ) else {
                    return Err(bad(self, "(buffer, dtype, shape, order)"));
                };
                let fortran = a.get(3).and_then(|&i| self.str_of(i)) == Some("F");
                let data = self.raw_array(buf, &dtype, &shape, fortran)?;
                Node::Array { dtype, shape, data: NodeArrayData::Raw(data), scalar: false }
            }
            Callable::CodecsEncode => {
                let text = a.first().and_then(|&i| self.str_of(i)).ok_or_else(|| bad(self, "(str, encoding)"))?;
                let encoding = a.get(1).and_then(|&i| self.str_of(i)).unwrap_or("utf-8").to_ascii_lowercase();
                let bytes = match encoding.as_str() {
                    "latin1" | "latin-1" | "iso-8859-1" | "iso8859-1" => latin1_bytes(text).ok_or_else(|| {
                        self.err("`_codecs.encode(…, 'latin1')` of text with characters above U+00FF")
                    })?,
                    "utf-8" | "utf8" => text.as_bytes().to_vec(),
                    other => return Err(self.err(format!("`_codecs.encode` with encoding `{other}` is not supported"))),
                };
                Node::Leaf(PyValue::Bytes(bytes))
            }
            Callable::Set | Callable::FrozenSet | Callable::List | Callable::Tuple => {
                let items = match a.first() {
                    None => Vec::new(),
                    Some(&i) => match &self.nodes[i] {
                        Node::List(v) | Node::Tuple(v) | Node::Set(v) => v.clone(),
                        _ => return Err(bad(self, "an iterable")),
                    },
                };
                match kind {
                    Callable::List => Node::List(items),
                    Callable::Tuple => Node::Tuple(items),
                    _ => Node::Set(items),
                }
            }
            Callable::Dict | Callable::DefaultDict => {
                let id = self.add(Node::Dict(DictNode { entries: Vec::new(), index: HashMap::new() }));
                // OrderedDict((k, v) pairs); defaultdict(factory) only.
                if kind == Callable::Dict
                    && let Some(&pairs) = a.first()
                {
                    let pairs = match &self.nodes[pairs] {
                        Node::List(v) | Node::Tuple(v) => v.clone(),
                        _ => return Err(bad(self, "a list of (key, value) pairs")),
                    };
                    let mut flat = Vec::with_capacity(pairs.len() * 2);
                    for p in pairs {
                        match &self.nodes[p] {
                            Node::List(kv) | Node::Tuple(kv) if kv.len() == 2 => flat.extend_from_slice(kv),
                            _ => return Err(bad(self, "(key, value) pairs")),
                        }
                    }
                    self.set_items(id, &flat)?;
                }
                return Ok(id);
            }
            Callable::ByteArray => {
                let bytes = match a.first() {
                    None => Vec::new(),
                    Some(&i) => self.bytes_of(i).ok_or_else(|| bad(self, "bytes or latin-1 text"))?,
                };
                Node::Leaf(PyValue::Bytes(bytes))
            }
            Callable::ArrayClass | Callable::TypeRef | Callable::Unknown => {
                if kind != Callable::Unknown && !self.options.lenient {
                    return Err(self.err(format!(
                        "calling `{name}` is not supported (only allow-listed constructors are evaluated)"
                    )));
                }
                Node::Opaque { callable: name, args, state: None, items: Vec::new(), entries: Vec::new() }
            }
        };
        Ok(self.add(node))
    }

    /// Checks the size of raw array bytes, swaps big-endian data and
    /// reorders Fortran-ordered data.
    fn raw_array(&self, mut raw: Vec<u8>, dtype: &Dtype, shape: &[usize], fortran: bool) -> Result<Vec<u8>> {
        let need = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .and_then(|c| c.checked_mul(dtype.itemsize))
            .ok_or_else(|| self.err(format!("array shape {shape:?} is too large")))?;
        if raw.len() != need {
            return Err(self.err(format!(
                "array of dtype {} and shape {shape:?} needs {need} bytes, found {}",
                dtype.name(),
                raw.len()
            )));
        }
        if dtype.big_endian {
            swap_to_little(&mut raw, dtype.swap_unit());
        }
        Ok(if fortran { fortran_to_c_bytes(&raw, shape, dtype.itemsize) } else { raw })
    }

    fn build(&mut self, target: Id, state: Id) -> Result<()> {
        let node = match &self.nodes[target] {
            Node::PendingArray => self.build_array(state)?,
            Node::PendingWrapper => self.build_joblib(state)?,
            Node::Dtype(d) => {
                let mut d = d.clone();
                // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
                let items = self.tuple_items(state, "numpy.dtype state")?;
                let order = items.iter().find_map(|&i| self.str_of(i)).unwrap_or("|");
                d.big_endian = order == ">" && d.itemsize > 1 && d.kind != DtypeKind::Object;
                // elsize follows (byteorder, subarray, names, fields); a
                // leading version number shifts it by one.
                let at = if items.first().and_then(|&i| self.int_of(i)).is_some() { 5 } else { 4 };
                if matches!(d.kind, DtypeKind::Unicode | DtypeKind::Bytes | DtypeKind::Void)
                    && let Some(elsize) = items.get(at).and_then(|&i| self.int_of(i)).filter(|&e| e > 0)
                {
                    d.itemsize = elsize as usize;
                }
                Node::Dtype(d)
            }
            Node::Opaque { .. } => {
                if let Node::Opaque { state: s, .. } = &mut self.nodes[target] {
                    *s = Some(state);
                }
                return Ok(());
            }
            // A state dict's `_metadata` attribute (module versions).
            Node::Dict(_) if self.options.torch => return Ok(()),
            other => {
                let what = node_kind(other);
                return Err(self.err(format!("BUILD on a {what} is not supported: the pickle is corrupt")));
            }
        };
        self.nodes[target] = node;
        Ok(())
    }

    /// `ndarray.__setstate__((version, shape, dtype, is_fortran, raw))`.
    fn build_array(&mut self, state: Id) -> Result<Node> {
        let mut items = self.tuple_items(state, "ndarray state")?;
        if items.len() == 5 {
            items.remove(0);
        }
        if items.len() != 4 {
            return Err(self.err("ndarray state: expected (version, shape, dtype, is_fortran, data)"));
        }
        let shape = self.shape_of(items[0]).ok_or_else(|| self.err("ndarray state: bad shape"))?;
        let dtype = self.dtype_of(items[1]).ok_or_else(|| self.err("ndarray state: expected a numpy dtype"))?;
        let fortran = self.bool_of(items[2]).ok_or_else(|| self.err("ndarray state: bad is_fortran flag"))?;
        let count = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| self.err(format!("array shape {shape:?} is too large")))?;
        let data = if dtype.kind == DtypeKind::Object {
            let objs = match &self.nodes[items[3]] {
                Node::List(v) | Node::Tuple(v) => v.clone(),
                _ => return Err(self.err("object ndarray state: expected a list of elements")),
            };
            if objs.len() != count {
                return Err(
                    self.err(format!("object array of shape {shape:?} needs {count} elements, found {}", objs.len()))
                );
            }
            if fortran && shape.len() > 1 {
                // Reorder ids as the values will be reordered.
                let tmp: Vec<PyValue> = objs.iter().map(|&i| PyValue::Int(i as i64)).collect();
                let reordered = fortran_to_c_objects(tmp, &shape);
                NodeArrayData::Objects(reordered.iter().map(|v| v.as_i64().unwrap_or(0) as usize).collect())
            } else {
                NodeArrayData::Objects(objs)
            }
        } else {
            let raw = self.bytes_of(items[3]).ok_or_else(|| self.err("ndarray state: expected the data as bytes"))?;
            NodeArrayData::Raw(self.raw_array(raw, &dtype, &shape, fortran)?)
        };
        Ok(Node::Array { dtype, shape, data, scalar: false })
    }

    /// joblib's `NumpyArrayWrapper`: the state says what follows, then the
    /// array bytes come right after the `BUILD` opcode, outside any frame.
    fn build_joblib(&mut self, state: Id) -> Result<Node> {
        let entries = match &self.nodes[state] {
            Node::Dict(d) => d.entries.clone(),
            _ => return Err(self.err("NumpyArrayWrapper state: expected a dict")),
        };
        let get = |key: &str| entries.iter().find(|(k, _)| self.str_of(*k) == Some(key)).map(|&(_, v)| v);
        let shape =
            get("shape").and_then(|i| self.shape_of(i)).ok_or_else(|| self.err("NumpyArrayWrapper: bad `shape`"))?;
        let dtype =
            get("dtype").and_then(|i| self.dtype_of(i)).ok_or_else(|| self.err("NumpyArrayWrapper: bad `dtype`"))?;
        let fortran = get("order").and_then(|i| self.str_of(i)) == Some("F");
        let aligned = get("numpy_array_alignment_bytes").is_some();
        if dtype.kind == DtypeKind::Object {
            if self.depth >= MAX_NESTING {
                return Err(self.err("joblib object arrays nested too deeply"));
            }
            let (value, end) = parse_nested(self.data, self.pos, self.path, self.options, self.depth + 1)?;
            self.pos = end;
            return Ok(match value {
                PyValue::Array(a) => {
                    let objects = match a.data {
                        ArrayData::Objects(v) => v,
                        ArrayData::Raw(_) => {
                            return Err(self.err("joblib object array: the nested pickle is not an object array"));
                        }
                    };
                    Node::Array { dtype: a.dtype, shape: a.shape, data: NodeArrayData::Value(objects), scalar: false }
                }
                _ => return Err(self.err("joblib object array: the nested pickle is not an array")),
            });
        }
        if aligned {
            let pad = self.u8()? as usize;
            self.take(pad)?;
        }
        let need = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .and_then(|c| c.checked_mul(dtype.itemsize))
            .ok_or_else(|| self.err(format!("array shape {shape:?} is too large")))?;
        let data_at = self.pos;
        let raw = self.take(need).map_err(|_| {
            Error::bytes(
                self.path,
                data_at as u64,
                format!(
                    "truncated joblib array: dtype {} shape {shape:?} needs {need} bytes, {} left",
                    dtype.name(),
                    self.data.len().saturating_sub(data_at)
                ),
            )
        })?;
        let raw = self.raw_array(raw.to_vec(), &dtype, &shape, fortran)?;
        Ok(Node::Array { dtype, shape, data: NodeArrayData::Raw(raw), scalar: false })
    }

    /// Turns the arena into an owned tree. Nodes referenced once are moved;
    /// shared ones are copied, within a budget.
    fn materialize(&mut self, root: Id) -> Result<PyValue> {
        let mut refs = vec![0u32; self.nodes.len()];
        let mut seen = vec![false; self.nodes.len()];
        let mut todo = vec![root];
        refs[root] = 1;
        while let Some(id) = todo.pop() {
            if std::mem::replace(&mut seen[id], true) {
                continue;
            }
            for child in children(&self.nodes[id]) {
                refs[child] = refs[child].saturating_add(1);
                todo.push(child);
            }
        }
        let mut walk = Walk {
            refs,
            visiting: vec![false; self.nodes.len()],
            // Values a pickle may expand to through shared references: 16 per
            // byte, and at least 2^20 (a fuzzed 789-byte pickle of shared
            // dicts took 2 s at the old floor of 2^22; fuzz/regressions/npy).
            budget: (self.data.len() as u64).saturating_mul(16).max(1 << 20),
        };
        self.op_pos = self.pos.saturating_sub(1);
        self.tree(root, &mut walk)
    }

    /// Builds the value of `root` with an explicit stack instead of
    /// recursion: the depth of a stranger's pickle must not decide how much
    /// of the thread's stack is used (containers deeper than [`MAX_DEPTH`]
    /// are refused all the same, since every later walk over the value
    /// recurses).
    fn tree(&mut self, root: Id, walk: &mut Walk) -> Result<PyValue> {
        let mut stack = match self.enter(root, walk, 0, true)? {
            Entered::Done(v) => return Ok(v),
            Entered::Pending(p) => vec![p],
        };
        loop {
            let top = stack.last_mut().expect("the stack holds the root until it is done");
            if top.values.len() < top.children.len() {
                let (child, depth, owned) = (top.children[top.values.len()], top.depth + 1, top.owned);
                match self.enter(child, walk, depth, owned)? {
                    Entered::Done(v) => top_values(&mut stack).push(v),
                    Entered::Pending(p) => stack.push(p),
                }
            } else {
                let done = stack.pop().expect("checked above");
                walk.visiting[done.id] = false;
                let value = done.finish();
                match stack.last_mut() {
                    Some(parent) => parent.values.push(value),
                    None => return Ok(value),
                }
            }
        }
    }

    fn charge(&self, walk: &mut Walk, units: u64) -> Result<()> {
        if units > walk.budget {
            return Err(self.err("the pickle expands to far more values than its size suggests (shared references)"));
        }
        walk.budget -= units;
        Ok(())
    }

    /// Takes node `id` (moved when every container on the path from the
    /// root to it is referenced once, `owned`; copied otherwise): a value
    /// when it has no children, else a container waiting for them.
    fn enter(&mut self, id: Id, walk: &mut Walk, depth: usize, owned: bool) -> Result<Entered> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("the pickle nests containers more than {MAX_DEPTH} deep")));
        }
        if walk.visiting[id] {
            return Err(self.err("the pickle contains a container that includes itself; cyclic data is not supported"));
        }
        self.charge(walk, 1)?;
        let owned = owned && walk.refs[id] <= 1;
        let node = if !owned {
            // Shared: copy what is needed, leave the node for the next use.
            match &self.nodes[id] {
                Node::Leaf(v) => Node::Leaf(v.clone()),
                Node::List(v) => Node::List(v.clone()),
                Node::Tuple(v) => Node::Tuple(v.clone()),
                Node::Set(v) => Node::Set(v.clone()),
                Node::Dict(d) => Node::Dict(DictNode { entries: d.entries.clone(), index: HashMap::new() }),
                Node::Global { name, callable } => Node::Global { name: name.clone(), callable: callable.clone() },
                Node::Dtype(d) => Node::Dtype(d.clone()),
                Node::Array { dtype, shape, data, scalar } => {
                    let data = match data {
                        NodeArrayData::Raw(r) => {
                            self.charge(walk, r.len() as u64 / 8)?;
                            NodeArrayData::Raw(r.clone())
                        }
                        NodeArrayData::Objects(v) => NodeArrayData::Objects(v.clone()),
                        NodeArrayData::Value(v) => {
                            self.charge(walk, v.len() as u64)?;
                            NodeArrayData::Value(v.clone())
                        }
                    };
                    Node::Array { dtype: dtype.clone(), shape: shape.clone(), data, scalar: *scalar }
                }
                Node::PendingArray => Node::PendingArray,
                Node::PendingWrapper => Node::PendingWrapper,
                Node::Opaque { callable, args, state, items, entries } => Node::Opaque {
                    callable: callable.clone(),
                    args: *args,
                    state: *state,
                    items: items.clone(),
                    entries: entries.clone(),
                },
                Node::Taken => Node::Taken,
            }
        } else {
            std::mem::replace(&mut self.nodes[id], Node::Taken)
        };
        let pending = |shape: Shape, children: Vec<Id>| {
            let values = Vec::with_capacity(children.len());
            Entered::Pending(Pending { id, shape, children, values, depth, owned })
        };
        let entered = match node {
            Node::Leaf(v) => Entered::Done(v),
            Node::List(ids) => pending(Shape::List, ids),
            Node::Tuple(ids) => pending(Shape::Tuple, ids),
            Node::Set(ids) => pending(Shape::Set, ids),
            Node::Dict(d) => pending(Shape::Dict, d.entries.iter().flat_map(|&(k, v)| [k, v]).collect()),
            Node::Global { name, .. } => Entered::Done(PyValue::Global(name)),
            Node::Dtype(d) => Entered::Done(PyValue::Dtype(d)),
            Node::Array { dtype, shape, data, scalar } => match data {
                NodeArrayData::Raw(r) => {
                    Entered::Done(array(NdArray { dtype, shape, data: ArrayData::Raw(r) }, scalar))
                }
                NodeArrayData::Value(v) => {
                    // A nested (joblib) pickle's values count towards the depth.
                    let nested = v.iter().map(PyValue::depth).max().unwrap_or(0);
                    if depth + 1 + nested > MAX_DEPTH {
                        return Err(self.err(format!("the pickle nests containers more than {MAX_DEPTH} deep")));
                    }
                    Entered::Done(array(NdArray { dtype, shape, data: ArrayData::Objects(v) }, scalar))
                }
                NodeArrayData::Objects(ids) => pending(Shape::Objects { dtype, shape, scalar }, ids),
            },
            // `_reconstruct` without a BUILD: numpy's empty placeholder array.
            Node::PendingArray => Entered::Done(PyValue::Array(NdArray {
                dtype: Dtype { kind: DtypeKind::Int, itemsize: 1, big_endian: false },
                shape: vec![0],
                data: ArrayData::Raw(Vec::new()),
            })),
            Node::PendingWrapper => {
                return Err(self.err("a joblib NumpyArrayWrapper was never built: the file is corrupt"));
            }
            Node::Opaque { callable, args, state, items, entries } => {
                let mut children = vec![args];
                children.extend(state);
                children.extend(&items);
                children.extend(entries.iter().flat_map(|&(k, v)| [k, v]));
                pending(Shape::Opaque { callable, state: state.is_some(), items: items.len() }, children)
            }
            Node::Taken => return Err(self.err("internal error: a pickle node was used twice")),
        };
        if let Entered::Pending(_) = &entered {
            walk.visiting[id] = true;
        }
        Ok(entered)
    }
}

/// What [`Vm::enter`] gives: a finished value, or a container whose
/// children are built next.
enum Entered {
    Done(PyValue),
    Pending(Pending),
}

/// A container on the build stack: its children's ids, and the values of
/// those built so far.
struct Pending {
    id: Id,
    shape: Shape,
    children: Vec<Id>,
    values: Vec<PyValue>,
    /// Its depth below the root.
    depth: usize,
    /// Whether its children may be moved out of the arena.
    owned: bool,
}

/// The kind of container a [`Pending`] becomes.
enum Shape {
    List,
    Tuple,
    Set,
    /// Children are key, value, key, value…
    Dict,
    /// An object array.
    Objects {
        dtype: Dtype,
        shape: Vec<usize>,
        scalar: bool,
    },
    /// Children are the args, the state (when there is one), the items, then
    /// the entries' keys and values.
    Opaque {
        callable: String,
        state: bool,
        items: usize,
    },
}

impl Pending {
    /// The container, from its children's values.
    fn finish(self) -> PyValue {
        let pairs = |values: Vec<PyValue>| -> Vec<(PyValue, PyValue)> {
            let mut out = Vec::with_capacity(values.len() / 2);
            let mut it = values.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                out.push((k, v));
            }
            out
        };
        match self.shape {
            Shape::List => PyValue::List(self.values),
            Shape::Tuple => PyValue::Tuple(self.values),
            Shape::Set => PyValue::Set(self.values),
            Shape::Dict => PyValue::Dict(pairs(self.values)),
            Shape::Objects { dtype, shape, scalar } => {
                array(NdArray { dtype, shape, data: ArrayData::Objects(self.values) }, scalar)
            }
            Shape::Opaque { callable, state, items } => {
                let mut values = self.values.into_iter();
                let args = values.next().expect("an opaque node has its args first");
                let state = if state { values.next() } else { None };
                let items: Vec<PyValue> = values.by_ref().take(items).collect();
                let entries = pairs(values.collect());
                PyValue::Opaque(Box::new(Opaque { callable, args, state, items, entries }))
            }
        }
    }
}

/// The values of the container on top of the build stack.
fn top_values(stack: &mut [Pending]) -> &mut Vec<PyValue> {
    &mut stack.last_mut().expect("a container is being built").values
}

fn array(a: NdArray, scalar: bool) -> PyValue {
    if scalar { PyValue::Scalar(a) } else { PyValue::Array(a) }
}

struct Walk {
    refs: Vec<u32>,
    visiting: Vec<bool>,
    budget: u64,
}

fn children(node: &Node) -> Vec<Id> {
    match node {
        Node::List(v) | Node::Tuple(v) | Node::Set(v) => v.clone(),
        Node::Dict(d) => d.entries.iter().flat_map(|&(k, v)| [k, v]).collect(),
        Node::Array { data: NodeArrayData::Objects(v), .. } => v.clone(),
        Node::Opaque { args, state, items, entries, .. } => {
            let mut out = vec![*args];
            out.extend(state.iter().copied());
            out.extend(items.iter().copied());
            out.extend(entries.iter().flat_map(|&(k, v)| [k, v]));
            out
        }
        _ => Vec::new(),
    }
}

fn node_kind(node: &Node) -> &'static str {
    match node {
        Node::Leaf(v) => v.type_name(),
        Node::List(_) => "list",
        Node::Tuple(_) => "tuple",
        Node::Dict(_) => "dict",
        Node::Set(_) => "set",
        Node::Global { .. } => "global",
        Node::Array { .. } => "ndarray",
        Node::Dtype(_) => "dtype",
        Node::PendingArray | Node::PendingWrapper => "array under construction",
        Node::Opaque { .. } => "opaque object",
        Node::Taken => "moved value",
    }
}

/// Text whose code points are all below 256, as Latin-1 bytes.
fn latin1_bytes(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(c as u32).ok()).collect()
}

/// A Python 2 `str`: text when ASCII, else bytes.
fn py2_str(b: &[u8]) -> PyValue {
    if b.is_ascii() { PyValue::Str(String::from_utf8_lossy(b).into_owned()) } else { PyValue::Bytes(b.to_vec()) }
}

/// LONG1/LONG4 payload: little-endian two's complement.
fn long_from_le(b: &[u8]) -> PyValue {
    if b.is_empty() {
        return PyValue::Int(0);
    }
    let negative = b[b.len() - 1] & 0x80 != 0;
    if b.len() <= 8 {
        let mut buf = if negative { [0xffu8; 8] } else { [0u8; 8] };
        buf[..b.len()].copy_from_slice(b);
        return PyValue::Int(i64::from_le_bytes(buf));
    }
    // Magnitude in base 2^32 limbs, little-endian.
    let mut bytes = b.to_vec();
    if negative {
        // Two's complement negation.
        let mut carry = true;
        for byte in &mut bytes {
            *byte = !*byte;
            if carry {
                let (v, c) = byte.overflowing_add(1);
                *byte = v;
                carry = c;
            }
        }
    }
    let mut limbs: Vec<u32> =
        bytes.chunks(4).map(|c| c.iter().rev().fold(0u32, |acc, &x| (acc << 8) | x as u32)).collect();
    while limbs.len() > 1 && *limbs.last().unwrap() == 0 {
        limbs.pop();
    }
    if limbs.len() <= 2 {
        let mag = limbs.iter().rev().fold(0u64, |acc, &l| (acc << 32) | l as u64);
        if negative && mag <= 1u64 << 63 {
            return PyValue::Int((mag as i64).wrapping_neg());
        }
        if !negative && mag <= i64::MAX as u64 {
            return PyValue::Int(mag as i64);
        }
    }
    let mut digits = Vec::new();
    while limbs.iter().any(|&l| l != 0) {
        let mut rem = 0u64;
        for l in limbs.iter_mut().rev() {
            let cur = (rem << 32) | *l as u64;
            *l = (cur / 1_000_000_000) as u32;
            rem = cur % 1_000_000_000;
        }
        digits.push(rem as u32);
    }
    let mut s = String::new();
    if negative {
        s.push('-');
    }
    let mut iter = digits.iter().rev();
    if let Some(first) = iter.next() {
        s.push_str(&first.to_string());
    }
    for d in iter {
        s.push_str(&format!("{d:09}"));
    }
    PyValue::BigInt(s)
}

fn parse_decimal_int(s: &str) -> Option<PyValue> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(PyValue::Int(i));
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    Some(PyValue::BigInt(if s.starts_with('-') { format!("-{digits}") } else { digits.to_string() }))
}

/// Protocol 0 `UNICODE` argument: `raw-unicode-escape` (Latin-1 bytes with
/// `\uXXXX` and `\UXXXXXXXX` escapes).
fn raw_unicode_escape(b: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() && (b[i + 1] == b'u' || b[i + 1] == b'U') {
            let n = if b[i + 1] == b'u' { 4 } else { 8 };
            let hex = std::str::from_utf8(b.get(i + 2..i + 2 + n)?).ok()?;
            out.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?)?);
            i += 2 + n;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    Some(out)
}

/// Protocol 0 `STRING` argument: a Python 2 `repr` of a str.
fn unquote_py2_string(line: &[u8]) -> Option<Vec<u8>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() < 2 {
        return None;
    }
    let q = line[0];
    if (q != b'\'' && q != b'"') || line[line.len() - 1] != q {
        return None;
    }
    let body = &line[1..line.len() - 1];
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] != b'\\' {
            out.push(body[i]);
            i += 1;
            continue;
        }
        let c = *body.get(i + 1)?;
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\\' | b'\'' | b'"' => out.push(c),
            b'x' => {
                let hex = std::str::from_utf8(body.get(i..i + 2)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = (c - b'0') as u32;
                let mut n = 1;
                while n < 3 && i < body.len() && (b'0'..=b'7').contains(&body[i]) {
                    v = v * 8 + (body[i] - b'0') as u32;
                    i += 1;
                    n += 1;
                }
                out.push((v & 0xff) as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("t.pkl")
    }

    fn load(b: &[u8]) -> Result<PyValue> {
        parse_pickle(b, p(), PickleOptions::default())
    }

    #[test]
    fn big_ints() {
        assert_eq!(long_from_le(&[0xff]), PyValue::Int(-1));
        assert_eq!(long_from_le(&[0x00, 0x80]), PyValue::Int(-32768));
        assert_eq!(long_from_le(&[0x00, 0x80, 0x00]), PyValue::Int(32768));
        // 2**64
        assert_eq!(long_from_le(&[0, 0, 0, 0, 0, 0, 0, 0, 1]), PyValue::BigInt("18446744073709551616".into()));
        // -2**64
        assert_eq!(long_from_le(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff]), PyValue::BigInt("-18446744073709551616".into()));
        // 2**63 - 1 in 9 bytes still fits
        assert_eq!(long_from_le(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0]), PyValue::Int(i64::MAX));
        assert_eq!(
            parse_decimal_int("123456789012345678901234567890"),
            Some(PyValue::BigInt("123456789012345678901234567890".into()))
        );
    }

    #[test]
    fn protocol_0_text_opcodes() {
        // pickle.dumps({'a': [1, 2.5, 'é', None, True]}, protocol=0)
        let b = b"(dp0\nVa\np1\n(lp2\nI1\naF2.5\naV\xe9\np3\naNaI01\nas.";
        let v = load(b).unwrap();
        assert_eq!(
            v,
            PyValue::Dict(vec![(
                PyValue::Str("a".into()),
                PyValue::List(vec![
                    PyValue::Int(1),
                    PyValue::Float(2.5),
                    PyValue::Str("é".into()),
                    PyValue::None,
                    PyValue::Bool(true)
                ])
            )])
        );
        assert_eq!(unquote_py2_string(b"'a\\'b\\x41\\n'").unwrap(), b"a'bA\n");
    }

    #[test]
    fn memo_sharing_and_mutation_after_memoize() {
        // x = []; d = {'a': x, 'b': x}; x is filled after being memoised.
        // pickle.dumps(d, protocol=2) in shape: } q0 ( X a q1 ] q2 ( K1 e X b h2 u .
        let b = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02K\x01aX\x01\x00\x00\x00bq\x03h\x02u.";
        let v = load(b).unwrap();
        assert_eq!(v.get("a"), Some(&PyValue::List(vec![PyValue::Int(1)])));
        assert_eq!(v.get("b"), Some(&PyValue::List(vec![PyValue::Int(1)])));
    }

    #[test]
    fn cycles_and_garbage_are_errors() {
        // l = []; l.append(l)
        let cyc = b"\x80\x02]q\x00h\x00a.";
        let err = load(cyc).unwrap_err().to_string();
        assert!(err.contains("includes itself"), "{err}");
        let err = load(b"\x80\x02]").unwrap_err().to_string();
        assert!(err.contains("byte 3") && err.contains("truncated"), "{err}");
        let err = load(b"\x80\x02\xff").unwrap_err().to_string();
        assert!(err.contains("byte 2") && err.contains("unknown pickle opcode 0xff"), "{err}");
        let err = load(b"\x80\x02a.").unwrap_err().to_string();
        assert!(err.contains("underflow"), "{err}");
        let err = load(b"\x80\x02X\xff\xff\xff\xff").unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn exponential_sharing_is_bounded() {
        // Each level is a list holding the previous level twice: 2^60 leaves.
        let mut b = b"\x80\x02K\x00".to_vec();
        for i in 0..60u8 {
            b.extend([b'q', i, b'h', i, 0x86]);
        }
        b.push(b'.');
        let err = load(&b).unwrap_err().to_string();
        assert!(err.contains("expands"), "{err}");
    }
}
