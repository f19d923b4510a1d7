//! `ingest.labels`: video label files (Kinetics CSV, SSv2 / Something-Else
//! item lists incl. the compositional and few-shot splits, Diving48 V2 JSON,
//! UCF101 split lists) → one row per video.
//!
//! ```toml
//! [stages.sth_train]
//! uses = "ingest.labels"
//! inputs = ["data/sthv2/train.json", "data/sthv2/labels.json"]
//! params = { format = "sth-items", classes = "data/sthv2/labels.json" }
//! ```
//!
//! Every input file except `classes` is a label file of `format`; rows of
//! all of them are kept (a video listed twice is an error). `classes` is
//! required for `sth-items` (SSv2 `labels.json` or Something-Else
//! `labels.json`) and `ucf101-list` (`classInd.txt` or one name per line);
//! optional for `kinetics-csv` (one name per line; else the sorted labels of
//! the file) and `diving48` (`Diving48_vocab.json` or one name per line).
//!
//! | column | type | meaning |
//! | --- | --- | --- |
//! | `sample_id` | utf8 | the video file stem (rows sorted by it) |
//! | `label` | int64, null | 0-based class id (null: test lists) |
//! | `label_name` | utf8, null | class name / SSv2 template without brackets |
//! | `split` | utf8, null | split named in the file (Kinetics) |
//! | `sentence` | utf8, null | SSv2 filled-in sentence |
//! | `placeholders` | list<utf8> | SSv2 object nouns |
//! | `segment_start`, `segment_end` | int64, null | Diving48 frames / Kinetics seconds |
//! | `source_file`, `source_blake3` | utf8 | provenance |

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use actionbench_core::Fingerprint;
use actionbench_formats::video_labels::{
    VideoLabel, VideoLabelFormat, parse_diving48, parse_diving48_vocab, parse_kinetics_csv, parse_sth_items,
    parse_sth_labels, parse_ucf101_class_ind, parse_ucf101_list,
};
use actionbench_pipeline::{ParamError, StageContext, StageError, StageKind};
use arrow::array::{ArrayRef, Int64Array, ListBuilder, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::ingest::{
    BoxError, Source, collect_sources, default_rows_per_shard, param_file, read_source, table_writer, with_hint,
    write_summary,
};

/// Params of `ingest.labels`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IngestLabelsParams {
    /// `kinetics-csv`, `sth-items`, `diving48` or `ucf101-list`.
    format: String,
    /// The class list (a path that is also in `inputs`).
    #[serde(default)]
    classes: Option<String>,
    /// Rows per Parquet file.
    #[serde(default = "default_rows_per_shard")]
    rows_per_shard: usize,
}

pub(crate) const FORMATS: &str = "`kinetics-csv`, `sth-items`, `diving48`, `ucf101-list`";

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
    }
}

/// Parsed labels by video id, with the file each came from and its hash.
pub type LabelIndex = BTreeMap<String, (VideoLabel, Source, Fingerprint)>;

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
        let bytes = read_source(&source).map_err(with_hint)?;
        let hash = source.content_hash(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        for label in parse_labels(format, &text, source.shown(), class_list.as_ref()).map_err(with_hint)? {
            if let Some((_, other, _)) = out.get(&label.video_id) {
                return Err(format!(
                    "video `{}` is listed twice: in `{}` and `{}`; one split per stage",
                    label.video_id, other.display, source.display
                )
                .into());
            }
            out.insert(label.video_id.clone(), (label, source.clone(), hash));
        }
    }
    Ok((out, class_source))
}

/// The `ingest.labels` kind.
pub struct IngestLabels;

fn schema() -> SchemaRef {
    let s = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    Arc::new(Schema::new(vec![
        s("sample_id", false),
        Field::new("label", DataType::Int64, true),
        s("label_name", true),
        s("split", true),
        s("sentence", true),
        Field::new("placeholders", DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))), false),
        Field::new("segment_start", DataType::Int64, true),
        Field::new("segment_end", DataType::Int64, true),
        s("source_file", false),
        s("source_blake3", false),
    ]))
}

impl StageKind for IngestLabels {
    fn name(&self) -> &'static str {
        "ingest.labels"
    }

    fn implementation_version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Video label files (Kinetics CSV, SSv2 / Something-Else item lists incl. the compositional and few-shot splits, Diving48 V2 JSON, UCF101 split lists) → one row per video."
    }

    type Params = IngestLabelsParams;
    fn check(&self, p: &IngestLabelsParams) -> Result<(), ParamError> {
        check_format(&p.format, p.classes.as_deref()).map_err(|e| ParamError::at("format", e))?;
        Ok(())
    }

    fn run(&self, ctx: &StageContext<'_>, p: &IngestLabelsParams) -> Result<(), StageError> {
        let format = check_format(&p.format, p.classes.as_deref())?;
        let (labels, _) = load_label_files(ctx, format, p.classes.as_deref(), |_| true)?;
        if labels.is_empty() {
            return Err("no label rows: the stage's inputs hold no label file besides `classes`".into());
        }
        let schema = schema();
        let mut writer = table_writer(ctx, schema.clone(), p.rows_per_shard)?;
        let rows: Vec<&(VideoLabel, Source, Fingerprint)> = labels.values().collect();
        for chunk in rows.chunks(p.rows_per_shard.max(1)) {
            let opt = |f: fn(&VideoLabel) -> Option<String>| -> ArrayRef {
                Arc::new(StringArray::from(chunk.iter().map(|r| f(&r.0)).collect::<Vec<_>>()))
            };
            let mut placeholders = ListBuilder::new(StringBuilder::new());
            for r in chunk {
                for ph in &r.0.placeholders {
                    placeholders.values().append_value(ph);
                }
                placeholders.append(true);
            }
            let columns: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from_iter_values(chunk.iter().map(|r| r.0.video_id.as_str()))),
                Arc::new(Int64Array::from(chunk.iter().map(|r| r.0.label).collect::<Vec<_>>())),
                opt(|l| l.label_name.clone()),
                opt(|l| l.split.clone()),
                opt(|l| l.sentence.clone()),
                Arc::new(placeholders.finish()),
                Arc::new(Int64Array::from(chunk.iter().map(|r| r.0.start).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(chunk.iter().map(|r| r.0.end).collect::<Vec<_>>())),
                Arc::new(StringArray::from_iter_values(chunk.iter().map(|r| r.1.display.as_str()))),
                Arc::new(StringArray::from_iter_values(chunk.iter().map(|r| r.2.to_hex()))),
            ];
            writer.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
        }
        writer.finish()?;
        let labelled = labels.values().filter(|r| r.0.label.is_some()).count();
        write_summary(
            ctx,
            serde_json::json!({
                "kind": "ingest.labels",
                "format": p.format,
                "rows": labels.len(),
                "labelled": labelled,
                "unlabelled": labels.len() - labelled,
            }),
        )?;
        Ok(())
    }
}
