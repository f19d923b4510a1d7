//! joblib files (`joblib.dump`), as PHALP writes its tracking results and
//! LART its tracklets.
//!
//! The whole pickle stream, raw array bytes included, is either stored as
//! is or compressed as one stream; the compressor is recognised by its
//! magic bytes (docs/formats.md §5.3). zlib (`compress=3`, PHALP's
//! default) and gzip are decompressed here; bz2, xz, lzma and lz4 are
//! reported as unsupported. The decompressed stream is then read by the
//! safe pickle reader, which knows joblib's `NumpyArrayWrapper`. Byte
//! offsets in errors about a compressed file are offsets in the
//! decompressed stream, and the message says so.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result, read_bytes};
use crate::pickle::{PickleOptions, parse_pickle};
use crate::value::PyValue;

pub use crate::joblib_write::write_joblib;

/// How a joblib file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoblibCompression {
    /// A plain pickle stream.
    None,
    /// One zlib stream (`compress=True` or a level).
    Zlib,
    /// One gzip stream (`compress="gzip"`).
    Gzip,
}

/// Which compressor wrote the file, from its magic bytes; unsupported
/// compressors are errors naming them.
pub fn detect_compression(bytes: &[u8], path: &Path) -> Result<JoblibCompression> {
    let unsupported = |name: &str| {
        Err(Error::bytes(
            path,
            0,
            format!("joblib file compressed with {name}, which is not supported (zlib and gzip are)"),
        )
        .with_hint("Re-save it with `joblib.dump(obj, path, compress=3)` (zlib) or without compression"))
    };
    match bytes {
        [0x78, ..] => Ok(JoblibCompression::Zlib),
        [0x1f, 0x8b, ..] => Ok(JoblibCompression::Gzip),
        [b'B', b'Z', ..] => unsupported("bz2"),
        [0xfd, b'7', b'z', b'X', b'Z', ..] => unsupported("xz"),
        [0x5d, 0x00, ..] => unsupported("lzma"),
        [0x04, 0x22, 0x4d, 0x18, ..] => unsupported("lz4"),
        [b'Z', b'F', ..] => unsupported("the legacy joblib (< 0.9.3) zlib format"),
        _ => Ok(JoblibCompression::None),
    }
}

/// Decodes joblib bytes (plain or compressed); `path` is used in errors.
pub fn parse_joblib(bytes: &[u8], path: &Path, options: PickleOptions) -> Result<PyValue> {
    let compression = detect_compression(bytes, path)?;
    let stream = match compression {
        JoblibCompression::None => return parse_pickle(bytes, path, options),
        JoblibCompression::Zlib => decompress(flate2::read::ZlibDecoder::new(bytes), path, "zlib")?,
        JoblibCompression::Gzip => decompress(flate2::read::GzDecoder::new(bytes), path, "gzip")?,
    };
    parse_pickle(&stream, path, options).map_err(|e| match e {
        Error::Bytes { path, offset, message, hint } => {
            Error::Bytes { path, offset, message: format!("{message} (offset in the decompressed stream)"), hint }
        }
        other => other,
    })
}

/// Default cap on a decompressed stream (see [`max_decompressed_bytes`]).
const DEFAULT_MAX_DECOMPRESSED: u64 = 4 << 30;

/// The most bytes a compressed file may inflate to: a small file must not
/// be able to exhaust memory (a "compression bomb"). Raised with
/// `ACTIONBENCH_MAX_DECOMPRESSED_BYTES`.
pub fn max_decompressed_bytes() -> u64 {
    std::env::var(actionbench_core::EnvVars::ACTIONBENCH_MAX_DECOMPRESSED_BYTES)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_MAX_DECOMPRESSED)
}

fn decompress(reader: impl Read, path: &Path, name: &str) -> Result<Vec<u8>> {
    decompress_capped(reader, path, name, max_decompressed_bytes())
}

fn decompress_capped(reader: impl Read, path: &Path, name: &str, limit: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match reader.take(limit.saturating_add(1)).read_to_end(&mut out) {
        Ok(n) if n as u64 > limit => {
            Err(Error::bytes(path, 0, format!("the {name} stream inflates to more than {limit} bytes")).with_hint(
                format!(
                    "This guards against compression bombs; if the file is genuine, raise {}",
                    actionbench_core::EnvVars::ACTIONBENCH_MAX_DECOMPRESSED_BYTES
                ),
            ))
        }
        Ok(_) => Ok(out),
        Err(e) => Err(Error::bytes(
            path,
            0,
            format!("the {name} stream is corrupt or truncated ({e}; {} bytes decompressed)", out.len()),
        )),
    }
}

/// Reads a joblib file (plain or compressed).
pub fn read_joblib(path: &Path, options: PickleOptions) -> Result<PyValue> {
    parse_joblib(&read_bytes(path)?, path, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_stream_inflating_past_the_cap_is_refused() {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&vec![0u8; 1 << 20]).unwrap();
        let small = enc.finish().unwrap();
        assert!(small.len() < 4096, "a megabyte of zeros compresses to a few bytes");
        let path = Path::new("bomb.pkl");
        let err = decompress_capped(flate2::read::ZlibDecoder::new(&small[..]), path, "zlib", 1000).unwrap_err();
        let text = format!("{err}");
        assert!(text.contains("bomb.pkl") && text.contains("more than 1000 bytes"), "{text}");
        let ok = decompress_capped(flate2::read::ZlibDecoder::new(&small[..]), path, "zlib", 1 << 20).unwrap();
        assert_eq!(ok.len(), 1 << 20);
    }
}
