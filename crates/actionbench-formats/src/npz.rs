//! numpy `.npz` archives (`np.savez`, `np.savez_compressed`): a zip file of
//! `.npy` members, stored or deflated. Members are decoded with
//! [`crate::npy::parse_npy_array`], so object arrays (pickled payloads, as
//! in VideoPose3D's Human3.6M files) go through the safe pickle reader.
//!
//! Errors about a member name it as `ARCHIVE/MEMBER.npy` with the byte
//! offset inside the member.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, read_bytes};
use crate::npy::parse_npy_array;
use crate::pickle::PickleOptions;
use crate::value::NdArray;

/// The arrays of an `.npz` file, in archive order, keyed by member name
/// without the `.npy` suffix (as `np.load` names them).
pub fn parse_npz(bytes: &[u8], path: &Path, options: PickleOptions) -> Result<Vec<(String, NdArray)>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| Error::file(path, format!("not a readable .npz (zip) archive: {e}")))?;
    let mut out = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(|e| Error::file(path, format!("zip member {i}: {e}")))?;
        if member.is_dir() {
            continue;
        }
        let name = member.name().map_err(|e| Error::file(path, format!("zip member {i}: {e}")))?.to_string();
        let member_path = PathBuf::from(format!("{}/{name}", path.display()));
        let mut data = Vec::new();
        member
            .read_to_end(&mut data)
            .map_err(|e| Error::file(&member_path, format!("the member could not be decompressed: {e}")))?;
        let array = parse_npy_array(&data, &member_path, options)?;
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        out.push((key, array));
    }
    Ok(out)
}

/// Reads an `.npz` file.
pub fn read_npz(path: &Path, options: PickleOptions) -> Result<Vec<(String, NdArray)>> {
    parse_npz(&read_bytes(path)?, path, options)
}

/// The member names of an `.npz` file (without `.npy`), without decoding them.
pub fn npz_member_names(bytes: &[u8], path: &Path) -> Result<Vec<String>> {
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| Error::file(path, format!("not a readable .npz (zip) archive: {e}")))?;
    archive
        .file_names()
        .map(|n| {
            let n = n.map_err(|e| Error::file(path, format!("bad zip member name: {e}")))?;
            Ok(n.strip_suffix(".npy").unwrap_or(&n).to_string())
        })
        .collect()
}
