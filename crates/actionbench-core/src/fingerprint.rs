use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A blake3 digest, printed and serialised as 64 lowercase hex characters.
///
/// Used for stage keys, file contents and directory listings alike.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The digest of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// Wraps raw digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The full hex form.
    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }

    /// The first 12 hex characters, for tables meant for people.
    pub fn short(&self) -> String {
        self.to_hex()[..12].to_string()
    }

    /// Parses the 64-character hex form.
    pub fn from_hex(hex: &str) -> Option<Self> {
        blake3::Hash::from_hex(hex).ok().map(|h| Self(*h.as_bytes()))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.short())
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Fingerprint::from_hex(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a 64-digit hex digest")))
    }
}

/// Canonical fingerprint of a serialisable value, under a domain tag.
///
/// The value is written as JSON by serde_json, whose maps are sorted
/// (`BTreeMap`-backed), so the bytes do not depend on insertion order,
/// platform or pointer width — unlike `std::hash::Hash`, which is neither
/// stable across releases nor portable. The tag keeps digests of different
/// kinds of things apart.
pub fn fingerprint_of<T: Serialize + ?Sized>(tag: &str, value: &T) -> Fingerprint {
    let json = serde_json::to_vec(value).expect("serialising a key struct to JSON cannot fail");
    let mut hasher = blake3::Hasher::new();
    hasher.update(tag.as_bytes());
    hasher.update(&[0]);
    hasher.update(&json);
    Fingerprint(*hasher.finalize().as_bytes())
}

/// Content hash of a file, streamed in 64 KiB blocks.
pub fn hash_file(path: &Path) -> std::io::Result<Fingerprint> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(Fingerprint(*hasher.finalize().as_bytes()))
}

/// A writer that hashes and counts what passes through it, so a file's
/// checksum is known when it is closed without reading it back.
pub struct HashingWriter<W> {
    inner: W,
    hasher: blake3::Hasher,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self { inner, hasher: blake3::Hasher::new(), bytes: 0 }
    }

    /// The inner writer, the digest and the byte count of everything written.
    pub fn finish(self) -> (W, Fingerprint, u64) {
        (self.inner, Fingerprint(*self.hasher.finalize().as_bytes()), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn hashing_writer_matches_hash_of_bytes() {
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"hello ").unwrap();
        w.write_all(b"world").unwrap();
        let (inner, fp, n) = w.finish();
        assert_eq!(inner, b"hello world");
        assert_eq!(n, 11);
        assert_eq!(fp, Fingerprint::of_bytes(b"hello world"));
    }

    #[test]
    fn hex_round_trip() {
        let fp = Fingerprint::of_bytes(b"abc");
        assert_eq!(Fingerprint::from_hex(&fp.to_hex()), Some(fp));
        assert_eq!(fp.short().len(), 12);
        assert_eq!(Fingerprint::from_hex("zz"), None);
    }

    #[test]
    fn canonical_fingerprint_ignores_insertion_order() {
        let mut a = BTreeMap::new();
        a.insert("b", 1);
        a.insert("a", 2);
        let mut b = BTreeMap::new();
        b.insert("a", 2);
        b.insert("b", 1);
        assert_eq!(fingerprint_of("t", &a), fingerprint_of("t", &b));
        assert_ne!(fingerprint_of("t", &a), fingerprint_of("u", &a));
    }

    /// Pins the digest of a fixed value: if this changes, every cache key
    /// changes with it, and that must be on purpose.
    #[test]
    fn fingerprint_is_pinned() {
        let fp = fingerprint_of("actionbench-test", &("a", 1u32));
        assert_eq!(fp.to_hex(), Fingerprint::of_bytes(b"actionbench-test\0[\"a\",1]").to_hex());
    }
}
