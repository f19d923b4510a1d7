//! What kind of file a path holds: by its name first, then by its first
//! bytes. `actionbench inspect` asks this before it decodes anything.

use std::path::Path;

use crate::error::{Error, Result};
use crate::joblib::{JoblibCompression, detect_compression};
use crate::ntu::parse_ntu_missing_list;

/// The kinds of file the toolkit can decode and describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A pickle or joblib file (plain, zlib or gzip).
    Pickle,
    /// A numpy `.npy` array.
    Npy,
    /// A numpy `.npz` archive.
    Npz,
    /// An NTU RGB+D `.skeleton` file.
    Skeleton,
    /// An NTU missing-skeleton list.
    NtuList,
    /// A Kinetics-skeleton per-video JSON or label index.
    KineticsJson,
    /// An AVA CSV (ground truth, detections or excluded timestamps).
    AvaCsv,
    /// A label map (pbtxt, `id: name` lines or one name per line).
    LabelMap,
    /// A Parquet file.
    Parquet,
    /// A video.
    Video,
}

impl FileKind {
    /// Every kind.
    pub const ALL: [FileKind; 10] = [
        Self::Pickle,
        Self::Npy,
        Self::Npz,
        Self::Skeleton,
        Self::NtuList,
        Self::KineticsJson,
        Self::AvaCsv,
        Self::LabelMap,
        Self::Parquet,
        Self::Video,
    ];

    /// The short name users type (`--as ntu-list`).
    pub fn id(self) -> &'static str {
        match self {
            Self::Pickle => "pickle",
            Self::Npy => "npy",
            Self::Npz => "npz",
            Self::Skeleton => "skeleton",
            Self::NtuList => "ntu-list",
            Self::KineticsJson => "kinetics-json",
            Self::AvaCsv => "ava-csv",
            Self::LabelMap => "label-map",
            Self::Parquet => "parquet",
            Self::Video => "video",
        }
    }

    /// The name shown in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pickle => "pickle",
            Self::Npy => "npy",
            Self::Npz => "npz",
            Self::Skeleton => "NTU skeleton",
            Self::NtuList => "NTU sample list",
            Self::KineticsJson => "Kinetics-skeleton JSON",
            Self::AvaCsv => "AVA CSV",
            Self::LabelMap => "label map",
            Self::Parquet => "Parquet",
            Self::Video => "video",
        }
    }

    /// One line on what it is.
    pub fn description(self) -> &'static str {
        match self {
            Self::Pickle => "A pickle or joblib file (plain, zlib or gzip)",
            Self::Npy => "A numpy `.npy` array",
            Self::Npz => "A numpy `.npz` archive",
            Self::Skeleton => "An NTU RGB+D `.skeleton` file",
            Self::NtuList => "An NTU missing-skeleton list",
            Self::KineticsJson => "A Kinetics-skeleton per-video JSON or label index",
            Self::AvaCsv => "An AVA CSV (ground truth, detections or excluded timestamps)",
            Self::LabelMap => "A label map (pbtxt, `id: name` lines or one name per line)",
            Self::Parquet => "A Parquet shard",
            Self::Video => "A video (what FFmpeg's demuxer and decoder say of its video stream)",
        }
    }
}

impl std::str::FromStr for FileKind {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.id() == s)
            .ok_or_else(|| format!("unknown file kind `{s}` (one of {})", Self::ALL.map(FileKind::id).join(", ")))
    }
}

/// Extensions read as video.
pub const VIDEO_EXTENSIONS: &[&str] = &["mp4", "avi", "webm", "mkv", "mov", "m4v", "mpg", "mpeg"];

/// The lower-case extension of `path` ("" when none).
fn extension(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    name.rsplit_once('.').map(|(_, e)| e.to_string()).unwrap_or_default()
}

/// Whether the name says video.
pub fn is_video_path(path: &Path) -> bool {
    VIDEO_EXTENSIONS.contains(&extension(path).as_str())
}

/// The kind of `path`: by extension, else by magic bytes (numpy, zip,
/// Parquet, pickle protocol 2+, compressed joblib), else a `.txt` is an NTU
/// list when most of its lines are sample names, a label map otherwise.
pub fn detect(path: &Path) -> Result<FileKind> {
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    let ext = extension(path);
    let ext = ext.as_str();
    if VIDEO_EXTENSIONS.contains(&ext) {
        return Ok(FileKind::Video);
    }
    let by_ext = match ext {
        "pkl" | "pickle" | "joblib" | "pk" => Some(FileKind::Pickle),
        "npy" => Some(FileKind::Npy),
        "npz" => Some(FileKind::Npz),
        "skeleton" => Some(FileKind::Skeleton),
        "json" => Some(FileKind::KineticsJson),
        "csv" => Some(FileKind::AvaCsv),
        "pbtxt" => Some(FileKind::LabelMap),
        "parquet" => Some(FileKind::Parquet),
        _ if name.ends_with(".pbtxt.txt") => Some(FileKind::LabelMap),
        _ => None,
    };
    if let Some(f) = by_ext {
        return Ok(f);
    }
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .map_err(|e| Error::io(path, e))?;
    let head = &head[..n];
    if head.starts_with(b"\x93NUMPY") {
        return Ok(FileKind::Npy);
    }
    if head.starts_with(b"PK\x03\x04") {
        return Ok(FileKind::Npz);
    }
    if head.starts_with(b"PAR1") {
        return Ok(FileKind::Parquet);
    }
    if head.first() == Some(&0x80)
        || detect_compression(head, path).is_ok_and(|c| c != JoblibCompression::None) && head.len() >= 2
    {
        return Ok(FileKind::Pickle);
    }
    if ext == "txt" {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let names = parse_ntu_missing_list(&text).len();
        return Ok(if names > 0 && names + 3 >= text.lines().filter(|l| !l.trim().is_empty()).count() {
            FileKind::NtuList
        } else {
            FileKind::LabelMap
        });
    }
    Err(Error::file(path, "cannot tell the format from the name or the first bytes").with_hint(format!(
        "Name it (`actionbench inspect --as FORMAT`, one of {})",
        FileKind::ALL.map(FileKind::id).join(", ")
    )))
}
