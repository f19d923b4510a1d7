//! `ingest.labels`: video label files (Kinetics CSV, SSv2 / Something-Else
//! item lists incl. the compositional and few-shot splits, Diving48 V2 JSON,
//! UCF101 split lists, ChaLearn IsoGD lists, NTU RGB+D video names) → one
//! row per video.
//!
//! ```toml
//! [stages.sth_train]
//! uses = "ingest.labels"
//! inputs = ["data/sthv2/train.json", "data/sthv2/labels.json"]
//! params = { format = "sth-items", classes = "data/sthv2/labels.json" }
//!
//! [stages.isogd_train]
//! uses = "ingest.labels"
//! inputs = ["data/isogd/train_list.txt"]
//! params = { format = "isogd-list" }
//!
//! [stages.ntu120_names]              # ls nturgb+d_rgb > data/ntu120/rgb_names.txt
//! uses = "ingest.labels"
//! inputs = ["data/ntu120/rgb_names.txt", "data/ntu120/label_map.txt"]
//! params = { format = "ntu-names", classes = "data/ntu120/label_map.txt" }
//! ```
//!
//! Every input file except `classes` is a label file of `format`; rows of
//! all of them are kept (a video listed twice is an error). `classes` is
//! required for `sth-items` (SSv2 `labels.json` or Something-Else
//! `labels.json`) and `ucf101-list` (`classInd.txt` or one name per line);
//! optional for `kinetics-csv` (one name per line; else the sorted labels of
//! the file), `diving48` (`Diving48_vocab.json` or one name per line),
//! `isogd-list` and `ntu-names` (one name per line, line i naming label i).
//!
//! `isogd-list` reads IsoGD's `train_list.txt` / `valid_list.txt` /
//! `test_list.txt`: `<rgb path> <depth path> [<label 1..249>]`, e.g.
//! `train/001/M_00001.avi train/001/K_00001.avi 10` → video `M_00001`
//! (the RGB file's stem), label 9; a line without a label (a test list) is
//! an unlabelled row; without `classes`, label i is named `class_<i>`
//! (0-based, like `label`); `split` is the path's first folder (`train`,
//! `valid`, `test`). IsoGD numbers its files per split, so give one split
//! per stage. `ntu-names` reads a list of NTU RGB+D 60/120 video file names
//! (one per line, as `ls` prints them): `S001C002P003R002A013_rgb.avi` →
//! video `S001C002P003R002A013_rgb` (the stem), label 12 (`action − 1`),
//! and the name's fields as columns.
//!
//! | column | type | meaning |
//! | --- | --- | --- |
//! | `sample_id` | utf8 | the video file stem (rows sorted by it) |
//! | `label` | int64, null | 0-based class id (null: test lists) |
//! | `label_name` | utf8, null | class name / SSv2 template without brackets |
//! | `split` | utf8, null | split named in the file (Kinetics; IsoGD's first folder) |
//! | `sentence` | utf8, null | SSv2 filled-in sentence |
//! | `placeholders` | list<utf8> | SSv2 object nouns |
//! | `segment_start`, `segment_end` | int64, null | Diving48 frames / Kinetics seconds |
//! | `setup`, `camera`, `subject`, `replication`, `action` | int32, null | `ntu-names` only: the name's fields (`subject` is the performer `P`; `action` 1-based) |
//! | `xsub`, `xview`, `xset` | utf8, null | `ntu-names` only: official split, `train` or `val` (`xsub` is the same in NTU60 and NTU120; `xview` is NTU60's benchmark, `xset` NTU120's) |
//! | `source_file`, `source_blake3` | utf8 | provenance |

use std::collections::BTreeMap;
use std::path::Path;

use actionbench_core::Fingerprint;
use actionbench_formats::ntu::{NtuBenchmark, NtuSampleName};
use actionbench_formats::video_labels::{
    VideoLabel, VideoLabelFormat, parse_diving48, parse_diving48_vocab, parse_isogd_list, parse_kinetics_csv,
    parse_ntu_names, parse_sth_items, parse_sth_labels, parse_ucf101_class_ind, parse_ucf101_list,
};
use actionbench_pipeline::{ParamError, StageContext};
use serde::{Deserialize, Serialize};

use crate::ingest::{
    BoxError, OnError, Source, collect_sources, default_rows_per_shard, param_file, read_source, with_hint,
};
use crate::sample_format::{Columns, Counts, Ids, Ingest, IngestParams, Preparing, SampleError, SampleFormat};

/// Params of `ingest.labels`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IngestLabelsParams {
    /// `kinetics-csv`, `sth-items`, `diving48`, `ucf101-list`, `isogd-list` or `ntu-names`.
    format: String,
    /// The class list (a path that is also in `inputs`).
    #[serde(default)]
    classes: Option<String>,
    /// Rows per Parquet file.
    #[serde(default = "default_rows_per_shard")]
    rows_per_shard: usize,
    /// Succeed with an empty table when the inputs hold no file this kind
    /// reads (by default that is an error naming the files it ignored).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    allow_empty: bool,
}

pub(crate) const FORMATS: &str = "`kinetics-csv`, `sth-items`, `diving48`, `ucf101-list`, `isogd-list`, `ntu-names`";

/// Checks a `label-format` name (and that the formats needing a class list have one).
pub fn check_format(format: &str, classes: Option<&str>) -> Result<VideoLabelFormat, String> {
    let f = VideoLabelFormat::from_name(format)
        .ok_or_else(|| format!("label format `{format}` is not one of {FORMATS}"))?;
    if classes.is_none() && matches!(f, VideoLabelFormat::SthItems | VideoLabelFormat::Ucf101List) {
        return Err(format!("label format `{format}` needs a class list: set `classes` (labels.json / classInd.txt)"));
    }
    Ok(f)
}

/// Names one per line, or UCF101's `classInd.txt` (`<1-based id> <name>`), or a Diving48 vocab JSON.
fn class_names(text: &str, path: &Path) -> actionbench_formats::Result<Vec<String>> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if first.starts_with('[') {
        return parse_diving48_vocab(text, path);
    }
    let class_ind = first.split_once(char::is_whitespace).is_some_and(|(a, _)| a.parse::<u32>().is_ok());
    if class_ind {
        return parse_ucf101_class_ind(text, path);
    }
    Ok(text.lines().map(|l| l.trim_end_matches('\r').trim().to_string()).filter(|l| !l.is_empty()).collect())
}

/// The `classes` file (a path also in `inputs`) as names, for the formats
/// whose class list is plain names (all but `sth-items`).
pub fn load_class_names(ctx: &StageContext<'_>, classes: &str) -> Result<Vec<String>, BoxError> {
    let source = param_file(ctx, "classes", classes)?;
    let bytes = read_source(&source)?;
    class_names(&String::from_utf8_lossy(&bytes), source.shown()).map_err(with_hint)
}

/// Adds the columns of an NTU RGB+D name (`ntu-names`): `setup`,
/// `camera`, `subject`, `replication`, `action` and the official splits
/// `xsub`, `xview`, `xset`; null where a row has no NTU name.
pub fn ntu_columns<S: 'static>(columns: Columns<S>, ntu: fn(&S) -> Option<NtuSampleName>) -> Columns<S> {
    columns
        .int32_opt("setup", move |s| ntu(s).map(|n| n.setup as i32))
        .int32_opt("camera", move |s| ntu(s).map(|n| n.camera as i32))
        .int32_opt("subject", move |s| ntu(s).map(|n| n.subject as i32))
        .int32_opt("replication", move |s| ntu(s).map(|n| n.replication as i32))
        .int32_opt("action", move |s| ntu(s).map(|n| n.action as i32))
        .utf8_opt("xsub", move |s| ntu(s).map(|n| NtuBenchmark::Ntu120XSub.split(&n)))
        .utf8_opt("xview", move |s| ntu(s).map(|n| NtuBenchmark::Ntu60XView.split(&n)))
        .utf8_opt("xset", move |s| ntu(s).map(|n| NtuBenchmark::Ntu120XSet.split(&n)))
}

/// A parsed class list: SSv2 template map or plain names.
pub(crate) enum Classes {
    Templates(BTreeMap<String, i64>),
    Names(Vec<String>),
}

pub(crate) fn load_classes(format: VideoLabelFormat, source: &Source) -> Result<Classes, BoxError> {
    let bytes = read_source(source)?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(match format {
        VideoLabelFormat::SthItems => Classes::Templates(parse_sth_labels(&text, source.shown()).map_err(with_hint)?),
        _ => Classes::Names(class_names(&text, source.shown()).map_err(with_hint)?),
    })
}

/// Parses one label file.
pub(crate) fn parse_labels(
    format: VideoLabelFormat,
    text: &str,
    path: &Path,
    classes: Option<&Classes>,
) -> actionbench_formats::Result<Vec<VideoLabel>> {
    let names = match classes {
        Some(Classes::Names(n)) => Some(n.as_slice()),
        _ => None,
    };
    let empty = BTreeMap::new();
    match format {
        VideoLabelFormat::KineticsCsv => parse_kinetics_csv(text, path, names),
        VideoLabelFormat::SthItems => {
            let t = match classes {
                Some(Classes::Templates(t)) => t,
                _ => &empty,
            };
            parse_sth_items(text, path, t)
        }
        VideoLabelFormat::Diving48 => parse_diving48(text, path, names),
        VideoLabelFormat::Ucf101List => parse_ucf101_list(text, path, names.unwrap_or(&[])),
        VideoLabelFormat::IsogdList => parse_isogd_list(text, path, names),
        VideoLabelFormat::NtuNames => parse_ntu_names(text, path, names),
    }
}

/// Parsed labels by video id, with the file each came from and its hash.
pub type LabelIndex = BTreeMap<String, (VideoLabel, Source, Fingerprint)>;

/// One label file, parsed, and its content hash.
fn read_label_file(
    format: VideoLabelFormat,
    classes: Option<&Classes>,
    source: &Source,
) -> actionbench_formats::Result<(Vec<VideoLabel>, Fingerprint)> {
    let bytes = read_source(source)?;
    let hash = source.content_hash(&bytes);
    let labels = parse_labels(format, &String::from_utf8_lossy(&bytes), source.shown(), classes)?;
    Ok((labels, hash))
}

/// The error for a video listed twice.
fn listed_twice(id: &str, first: &Source, second: &Source) -> String {
    format!("video `{id}` is listed twice: in `{}` and `{}`; one split per stage", first.display, second.display)
}

/// The label files among the inputs (all but the class list), parsed, keyed by video id.
pub fn load_label_files(
    ctx: &StageContext<'_>,
    format: VideoLabelFormat,
    classes: Option<&str>,
    is_label_file: impl Fn(&Path) -> bool,
) -> Result<(LabelIndex, Option<Source>), BoxError> {
    let class_source = classes.map(|c| param_file(ctx, "classes", c)).transpose()?;
    let class_list = class_source.as_ref().map(|s| load_classes(format, s)).transpose()?;
    let class_path = class_source.as_ref().map(|s| s.path.clone());
    let (files, _) = collect_sources(ctx, |p| Some(p) != class_path.as_deref() && is_label_file(p))?;
    let mut out: LabelIndex = BTreeMap::new();
    for source in files {
        let (labels, hash) = read_label_file(format, class_list.as_ref(), &source).map_err(with_hint)?;
        for label in labels {
            if let Some((_, other, _)) = out.get(&label.video_id) {
                return Err(listed_twice(&label.video_id, other, &source).into());
            }
            out.insert(label.video_id.clone(), (label, source.clone(), hash));
        }
    }
    Ok((out, class_source))
}

/// Label files have no `on-error`: a bad one fails the stage.
impl IngestParams for IngestLabelsParams {
    fn on_error(&self) -> OnError {
        OnError::Fail
    }
    fn rows_per_shard(&self) -> usize {
        self.rows_per_shard
    }
    fn allow_empty(&self) -> bool {
        self.allow_empty
    }
}

/// The `ingest.labels` kind.
pub type IngestLabels = Ingest<LabelsFormat>;

/// Video label files as a [`SampleFormat`]: one file lists many videos.
pub struct LabelsFormat;

/// The format and its class list.
pub struct LabelFiles {
    format: VideoLabelFormat,
    classes: Option<Classes>,
}

/// One video's row.
pub struct LabelRow {
    label: VideoLabel,
    source_file: String,
    source_blake3: String,
}

impl SampleFormat for LabelsFormat {
    type Params = IngestLabelsParams;
    type Prepared = LabelFiles;
    type Sample = LabelRow;
    /// Rows with a label.
    type Tally = usize;
    const IDS: Ids = Ids::Inside;
    const NAME: &'static str = "ingest.labels";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "Video label files (Kinetics CSV, SSv2 / Something-Else item lists incl. the compositional and few-shot splits, Diving48 V2 JSON, UCF101 split lists, ChaLearn IsoGD lists, NTU RGB+D video names) → one row per video.";

    fn check(&self, p: &IngestLabelsParams) -> Result<(), ParamError> {
        check_format(&p.format, p.classes.as_deref())?;
        Ok(())
    }

    fn prepare(
        &self,
        ctx: &StageContext<'_>,
        p: &IngestLabelsParams,
        preparing: &mut Preparing,
    ) -> Result<LabelFiles, BoxError> {
        let format = check_format(&p.format, p.classes.as_deref())?;
        let classes = match &p.classes {
            Some(c) => {
                let source = param_file(ctx, "classes", c)?;
                let classes = load_classes(format, &source)?;
                preparing.consumed.push(source.path);
                Some(classes)
            }
            None => None,
        };
        Ok(LabelFiles { format, classes })
    }

    fn reads(&self, p: &IngestLabelsParams) -> String {
        format!("`{}` label files besides the `classes` file", p.format)
    }

    fn accepts(&self, _: &Path, _: &IngestLabelsParams) -> bool {
        true
    }

    fn read(&self, source: &Source, _: &IngestLabelsParams, files: &LabelFiles) -> Result<Vec<LabelRow>, SampleError> {
        let (labels, hash) = read_label_file(files.format, files.classes.as_ref(), source)?;
        let hash = hash.to_hex();
        Ok(labels
            .into_iter()
            .map(|label| LabelRow { label, source_file: source.display.clone(), source_blake3: hash.clone() })
            .collect())
    }

    fn sample_id<'s>(&self, row: &'s LabelRow) -> &'s str {
        &row.label.video_id
    }

    fn duplicate(&self, id: &str, first: &Source, second: &Source) -> String {
        listed_twice(id, first, second)
    }

    fn gathered(&self, rows: &mut [LabelRow], _: &mut LabelFiles, _: &mut usize) -> Result<(), BoxError> {
        if rows.is_empty() {
            return Err("no label rows: the stage's inputs hold no label file besides `classes`".into());
        }
        Ok(())
    }

    fn columns(&self, _: &IngestLabelsParams, files: &LabelFiles) -> Result<Columns<LabelRow>, BoxError> {
        let ntu = files.format == VideoLabelFormat::NtuNames;
        Ok(Columns::<LabelRow>::new()
            .utf8("sample_id", |r| &r.label.video_id)
            .int64_opt("label", |r| r.label.label)
            .utf8_opt("label_name", |r| r.label.label_name.as_deref())
            .utf8_opt("split", |r| r.label.split.as_deref())
            .utf8_opt("sentence", |r| r.label.sentence.as_deref())
            .utf8_list("placeholders", |r| &r.label.placeholders)
            .int64_opt("segment_start", |r| r.label.start)
            .int64_opt("segment_end", |r| r.label.end)
            .when(ntu, |c| ntu_columns(c, |r| r.label.ntu))
            .utf8("source_file", |r| &r.source_file)
            .utf8("source_blake3", |r| &r.source_blake3))
    }

    fn tally(&self, labelled: &mut usize, rows: &[LabelRow]) {
        *labelled += rows.iter().filter(|r| r.label.label.is_some()).count();
    }

    fn summary(&self, counts: Counts, p: &IngestLabelsParams, _: &LabelFiles, labelled: usize) -> serde_json::Value {
        serde_json::json!({
            "kind": "ingest.labels",
            "format": p.format,
            "rows": counts.rows,
            "labelled": labelled,
            "unlabelled": counts.rows as usize - labelled,
        })
    }
}
