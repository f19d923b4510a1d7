//! `torch.save` checkpoints (the zip archive format of PyTorch ≥ 1.6, as
//! PySlowFast and mmaction2 save weights), read without executing anything.
//!
//! The archive holds `<name>/data.pkl`, a pickle whose tensors are
//! `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` calls
//! on persistent ids `("storage", torch.FloatStorage, key, location,
//! numel)`, and `<name>/data/<key>`, the raw little-endian bytes of each
//! storage. The pickle goes through the safe reader in torch mode
//! ([`PickleOptions::torch`]): the calls stay data, and this module builds
//! each tensor from its storage, offset, size and stride.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::pickle::{PickleOptions, parse_pickle};
use crate::value::{Opaque, PyValue};

/// A tensor of a checkpoint, as f32 (from float, half, bfloat16, double or
/// integer storages), row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchTensor {
    /// Sizes, outermost first.
    pub shape: Vec<usize>,
    /// Values in row-major order.
    pub data: Vec<f32>,
    /// The storage type, e.g. `torch.FloatStorage`.
    pub storage: String,
}

/// The state dict of a checkpoint: `(name, tensor)` in file order. A
/// top-level dict holding `model_state` (PySlowFast), `state_dict`
/// (mmaction2) or `model` is unwrapped; entries that are not tensors (an
/// epoch number, optimiser settings) are left out.
pub fn parse_torch_state(bytes: &[u8], path: &Path) -> Result<Vec<(String, TorchTensor)>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| {
        Error::file(path, format!("not a torch.save zip archive: {e}")).with_hint(
            "legacy (pre-1.6, non-zip) torch files are not read; re-save with `torch.save(obj, path)` in PyTorch ≥ 1.6",
        )
    })?;
    let pkl = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.to_string()))
        .find(|n| n.ends_with("/data.pkl") || n == "data.pkl")
        .ok_or_else(|| Error::file(path, "no `data.pkl` in the archive: not a torch.save file"))?;
    let prefix = pkl.strip_suffix("data.pkl").unwrap_or("").to_string();
    let mut member = |name: &str| -> Result<Vec<u8>> {
        let mut m = archive.by_name(name).map_err(|e| Error::file(path, format!("archive member `{name}`: {e}")))?;
        let mut out = Vec::new();
        m.read_to_end(&mut out).map_err(|e| Error::file(path, format!("archive member `{name}`: {e}")))?;
        Ok(out)
    };
    let root =
        parse_pickle(&member(&pkl)?, &Path::new(&path.display().to_string()).join(&pkl), PickleOptions::torch())?;
    let state = match &root {
        PyValue::Dict(entries) => entries
            .iter()
            .find_map(|(k, v)| {
                matches!(k, PyValue::Str(s) if s == "model_state" || s == "state_dict" || s == "model")
                    .then_some(v)
                    .filter(|v| matches!(v, PyValue::Dict(_)))
            })
            .unwrap_or(&root),
        _ => return Err(Error::file(path, "the checkpoint is not a dict of tensors")),
    };
    let PyValue::Dict(entries) = state else { unreachable!("checked above") };
    let mut out = Vec::new();
    for (key, value) in entries {
        let (PyValue::Str(name), Some(call)) = (key, tensor_call(value)) else { continue };
        let bad = |m: String| Error::file(path, format!("tensor `{name}`: {m}"));
        let args = match &call.args {
            PyValue::Tuple(a) => a,
            _ => return Err(bad("`_rebuild_tensor_v2` without arguments".into())),
        };
        let [pid, PyValue::Int(offset), PyValue::Tuple(size), PyValue::Tuple(stride), ..] = args.as_slice() else {
            return Err(bad(format!("unexpected `_rebuild_tensor_v2` arguments {args:?}")));
        };
        let (storage_type, storage_key) =
            storage_of(pid).ok_or_else(|| bad("its storage is not a persistent id".into()))?;
        let dims = |t: &[PyValue]| -> Option<Vec<usize>> {
            t.iter().map(|v| if let PyValue::Int(i) = v { usize::try_from(*i).ok() } else { None }).collect()
        };
        let (shape, stride) = match (dims(size), dims(stride)) {
            (Some(a), Some(b)) if a.len() == b.len() => (a, b),
            _ => return Err(bad(format!("bad size {size:?} or stride {stride:?}"))),
        };
        let raw = member(&format!("{prefix}data/{storage_key}"))?;
        let values = decode_storage(&storage_type, &raw).map_err(bad)?;
        let data =
            gather(&values, usize::try_from(*offset).unwrap_or(usize::MAX), &shape, &stride).ok_or_else(|| {
                bad(format!(
                    "size {shape:?} and stride {stride:?} at offset {offset} reach past its storage of {}",
                    values.len()
                ))
            })?;
        out.push((name.clone(), TorchTensor { shape, data, storage: storage_type }));
    }
    Ok(out)
}

/// Reads a checkpoint file (see [`parse_torch_state`]).
pub fn read_torch_state(path: &Path) -> Result<Vec<(String, TorchTensor)>> {
    parse_torch_state(&crate::error::read_bytes(path)?, path)
}

/// The `_rebuild_tensor_v2` call of a value (also inside `_rebuild_parameter`).
fn tensor_call(value: &PyValue) -> Option<&Opaque> {
    let PyValue::Opaque(o) = value else { return None };
    match o.callable.as_str() {
        "torch._utils._rebuild_tensor_v2" => Some(o),
        "torch._utils._rebuild_parameter" => match &o.args {
            PyValue::Tuple(a) => a.first().and_then(tensor_call),
            _ => None,
        },
        _ => None,
    }
}

/// `(storage type, key)` of a `persistent_load(("storage", type, key, location, numel))`.
fn storage_of(pid: &PyValue) -> Option<(String, String)> {
    let PyValue::Opaque(o) = pid else { return None };
    if o.callable != "persistent_load" {
        return None;
    }
    let PyValue::Tuple(items) = &o.args else { return None };
    let ty = match items.get(1)? {
        PyValue::Opaque(t) => t.callable.clone(),
        PyValue::Global(g) => g.clone(),
        PyValue::Str(s) => s.clone(),
        _ => return None,
    };
    let key = match items.get(2)? {
        PyValue::Str(s) => s.clone(),
        PyValue::Int(i) => i.to_string(),
        _ => return None,
    };
    Some((ty, key))
}

/// The storage's values as f32.
fn decode_storage(ty: &str, raw: &[u8]) -> std::result::Result<Vec<f32>, String> {
    let name = ty.rsplit('.').next().unwrap_or(ty);
    let chunks = |n: usize| -> std::result::Result<std::slice::ChunksExact<'_, u8>, String> {
        if raw.len().is_multiple_of(n) {
            Ok(raw.chunks_exact(n))
        } else {
            Err(format!("{} bytes is not a whole number of {name} elements", raw.len()))
        }
    };
    Ok(match name {
        "FloatStorage" => chunks(4)?.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        "DoubleStorage" => chunks(8)?.map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32).collect(),
        "HalfStorage" => chunks(2)?.map(|b| half_to_f32(u16::from_le_bytes([b[0], b[1]]))).collect(),
        "BFloat16Storage" => {
            chunks(2)?.map(|b| f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16)).collect()
        }
        "LongStorage" => chunks(8)?.map(|b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32).collect(),
        "IntStorage" => chunks(4)?.map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32).collect(),
        "ByteStorage" | "BoolStorage" => raw.iter().map(|&b| b as f32).collect(),
        other => return Err(format!("storage type `{other}` is not read")),
    })
}

/// IEEE half to f32.
fn half_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: renormalise.
            let mut e = 127 - 15 + 1;
            let mut f = f;
            while f & 0x400 == 0 {
                f <<= 1;
                e -= 1;
            }
            sign | (e << 23) | ((f & 0x3ff) << 13)
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 127 - 15) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

/// The row-major values of a strided view; `None` when it reaches past the storage.
fn gather(values: &[f32], offset: usize, shape: &[usize], stride: &[usize]) -> Option<Vec<f32>> {
    // Sizes, strides and offset come from the file: checked arithmetic, so
    // a hostile checkpoint is an error, not an overflow.
    let n = shape.iter().try_fold(1usize, |a, &s| a.checked_mul(s))?;
    if n == 0 {
        return Some(Vec::new());
    }
    let reach = shape.iter().zip(stride).try_fold(0usize, |a, (&s, &st)| a.checked_add((s - 1).checked_mul(st)?))?;
    if offset.checked_add(reach)? >= values.len() {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    let mut index = vec![0usize; shape.len()];
    for _ in 0..n {
        let at = offset + index.iter().zip(stride).map(|(i, s)| i * s).sum::<usize>();
        out.push(values[at]);
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_views_are_gathered_row_major() {
        let v: Vec<f32> = (0..6).map(|x| x as f32).collect();
        // The transpose of a 2×3 matrix.
        assert_eq!(gather(&v, 0, &[3, 2], &[1, 3]).unwrap(), [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert_eq!(gather(&v, 4, &[2], &[1]).unwrap(), [4.0, 5.0]);
        assert!(gather(&v, 5, &[2], &[1]).is_none());
        // Sizes and strides that overflow are refused, not wrapped.
        assert!(gather(&v, usize::MAX, &[2], &[1]).is_none());
        assert!(gather(&v, 0, &[usize::MAX, 3], &[1, usize::MAX]).is_none());
        assert_eq!(half_to_f32(0x3c00), 1.0);
        assert_eq!(half_to_f32(0xc000), -2.0);
    }
}
