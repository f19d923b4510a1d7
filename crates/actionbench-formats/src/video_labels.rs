//! Label files of video action datasets (formats.md §7): Kinetics CSVs,
//! Something-Something v2 and Something-Else JSON (labels + item lists,
//! including the compositional and few-shot splits), Diving48 V2 JSON,
//! UCF101 split lists, ChaLearn LAP IsoGD lists and NTU RGB+D video names.
//! Every reader returns [`VideoLabel`]s keyed by the video file stem, so a
//! video ingest can join them to decoded files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::ntu::{NtuDataset, NtuSampleName};

/// One labelled video (or trimmed segment of one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VideoLabel {
    /// The video file stem, e.g. `78687` (SSv2), `v_ApplyEyeMakeup_g08_c01` (UCF101),
    /// `--07WQ2iBlw_000001_000011` (Kinetics: `<youtube_id>_<start:06>_<end:06>`).
    pub video_id: String,
    /// 0-based class id, when the file (or a class list) gives one.
    pub label: Option<i64>,
    /// Class name (Kinetics label, SSv2 template without brackets, UCF101 class, Diving48 vocab joined by `+`).
    pub label_name: Option<String>,
    /// Split named by the file itself (Kinetics `split` column), if any.
    pub split: Option<String>,
    /// SSv2 / Something-Else: the filled-in sentence.
    pub sentence: Option<String>,
    /// SSv2 / Something-Else: the object nouns filling the template.
    pub placeholders: Vec<String>,
    /// Diving48: first frame of the segment; Kinetics: start second.
    pub start: Option<i64>,
    /// Diving48: last frame of the segment; Kinetics: end second.
    pub end: Option<i64>,
    /// NTU RGB+D: the fields of the sample name (setup, camera, performer, replication, action).
    pub ntu: Option<NtuSampleName>,
}

/// Which label-file format (the `label-format` param of the video stages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoLabelFormat {
    /// Kinetics `label,youtube_id,time_start,time_end,split[,is_cc]` CSV.
    KineticsCsv,
    /// SSv2 / Something-Else item list (`[{"id","label","template","placeholders"}]`).
    SthItems,
    /// Diving48 V2 `[{"vid_name","label","start_frame","end_frame"}]`.
    Diving48,
    /// UCF101 `trainlist0k.txt` / `testlist0k.txt`.
    Ucf101List,
    /// ChaLearn LAP IsoGD `train_list.txt` / `valid_list.txt` / `test_list.txt`.
    IsogdList,
    /// NTU RGB+D 60/120 video names (`S001C002P003R002A013_rgb.avi`), which carry the label.
    NtuNames,
}

impl VideoLabelFormat {
    /// Parses the param spelling (`kinetics-csv`, `sth-items`, `diving48`, `ucf101-list`,
    /// `isogd-list`, `ntu-names`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "kinetics-csv" => Self::KineticsCsv,
            "sth-items" => Self::SthItems,
            "diving48" => Self::Diving48,
            "ucf101-list" => Self::Ucf101List,
            "isogd-list" => Self::IsogdList,
            "ntu-names" => Self::NtuNames,
            _ => return None,
        })
    }
}

fn json_error(path: &Path, e: serde_json::Error) -> Error {
    Error::line(path, e.line() as u64, format!("invalid JSON at column {}: {e}", e.column()))
}

/// Kinetics-400/600/700 CSV. Class ids are indices into `classes` when given
/// (e.g. a label-name list), else into the sorted distinct labels of the file,
/// the convention of the official loaders. Rows without a label (test split) keep `label: None`.
pub fn parse_kinetics_csv(text: &str, path: &Path, classes: Option<&[String]>) -> Result<Vec<VideoLabel>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| Error::line(path, 1, format!("bad CSV header: {e}")))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(yt), Some(ts), Some(te)) = (col("youtube_id"), col("time_start"), col("time_end")) else {
        return Err(Error::line(
            path,
            1,
            format!("header `{}` lacks youtube_id, time_start, time_end", headers.iter().collect::<Vec<_>>().join(",")),
        )
        .with_hint("a Kinetics CSV starts with `label,youtube_id,time_start,time_end,split`"));
    };
    let (label_col, split_col) = (col("label"), col("split"));
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let rec = rec.map_err(|e| Error::line(path, line, format!("bad CSV row: {e}")))?;
        let field = |c: usize| rec.get(c).map(str::trim).unwrap_or("");
        let int = |c: usize, what: &str| -> Result<i64> {
            let v = field(c);
            v.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && f.fract() == 0.0)
                .map(|f| f as i64)
                .ok_or_else(|| Error::line(path, line, format!("{what} `{v}` is not a whole number of seconds")))
        };
        let (start, end) = (int(ts, "time_start")?, int(te, "time_end")?);
        let id = field(yt);
        if id.is_empty() {
            return Err(Error::line(path, line, "empty youtube_id"));
        }
        rows.push(VideoLabel {
            video_id: format!("{id}_{start:06}_{end:06}"),
            label_name: label_col.map(field).filter(|s| !s.is_empty()).map(str::to_string),
            split: split_col.map(field).filter(|s| !s.is_empty()).map(str::to_string),
            start: Some(start),
            end: Some(end),
            ..Default::default()
        });
    }
    let names: Vec<String> = match classes {
        Some(c) => c.to_vec(),
        None => {
            let mut n: Vec<String> = rows.iter().filter_map(|r| r.label_name.clone()).collect();
            n.sort();
            n.dedup();
            n
        }
    };
    let index: BTreeMap<&str, i64> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i as i64)).collect();
    for (i, r) in rows.iter_mut().enumerate() {
        if let Some(name) = &r.label_name {
            // Kinetics CSVs quote some names; class lists sometimes write them without quotes or with underscores.
            let found = index.get(name.as_str()).or_else(|| index.get(name.replace('_', " ").as_str()));
            r.label = Some(*found.ok_or_else(|| {
                Error::line(
                    path,
                    i as u64 + 2,
                    format!("label `{name}` is not in the class list ({} classes)", names.len()),
                )
            })?);
        }
    }
    Ok(rows)
}

/// SSv2 `something-something-v2-labels.json` (`{template: "0"}`, string values) or
/// Something-Else `labels.json` (`{template: 0}`, integer values): template → class id.
pub fn parse_sth_labels(text: &str, path: &Path) -> Result<BTreeMap<String, i64>> {
    let raw: BTreeMap<String, serde_json::Value> = serde_json::from_str(text).map_err(|e| json_error(path, e))?;
    let mut out = BTreeMap::new();
    for (template, v) in raw {
        let id = match &v {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| Error::file(path, format!("template `{template}` maps to {v}, not a class id")))?;
        out.insert(template, id);
    }
    Ok(out)
}

#[derive(Deserialize)]
struct SthItem {
    id: serde_json::Value,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    template: Option<String>,
    #[serde(default)]
    placeholders: Vec<String>,
}

/// SSv2 / Something-Else item list (train, validation, compositional, few-shot;
/// test lists have only `id`). The class is `labels[template without [ and ]]`.
pub fn parse_sth_items(text: &str, path: &Path, labels: &BTreeMap<String, i64>) -> Result<Vec<VideoLabel>> {
    let items: Vec<SthItem> = serde_json::from_str(text).map_err(|e| json_error(path, e))?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, it)| {
            let video_id = match &it.id {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                other => return Err(Error::file(path, format!("item {i}: `id` is {other}, not a string"))),
            };
            let name = it.template.as_deref().map(|t| t.replace(['[', ']'], ""));
            let label = match &name {
                Some(n) => Some(*labels.get(n).ok_or_else(|| {
                    Error::file(path, format!("item {i} (id {video_id}): template `{n}` is not in the labels file"))
                        .with_hint("pair the items with the labels.json of the same split")
                })?),
                None => None,
            };
            Ok(VideoLabel {
                video_id,
                label,
                label_name: name,
                sentence: it.label,
                placeholders: it.placeholders,
                ..Default::default()
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct DivingItem {
    vid_name: String,
    label: i64,
    start_frame: i64,
    end_frame: i64,
}

/// Diving48 V2 list; class names from `vocab` (`Diving48_vocab.json` joined by `+`, or a label-map list) when given.
pub fn parse_diving48(text: &str, path: &Path, vocab: Option<&[String]>) -> Result<Vec<VideoLabel>> {
    let items: Vec<DivingItem> = serde_json::from_str(text).map_err(|e| json_error(path, e))?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, it)| {
            if it.label < 0 || vocab.is_some_and(|v| it.label as usize >= v.len()) {
                return Err(Error::file(
                    path,
                    format!("item {i} ({}): label {} is out of range", it.vid_name, it.label),
                ));
            }
            if it.end_frame < it.start_frame {
                return Err(Error::file(
                    path,
                    format!("item {i} ({}): end_frame {} < start_frame {}", it.vid_name, it.end_frame, it.start_frame),
                ));
            }
            Ok(VideoLabel {
                label_name: vocab.map(|v| v[it.label as usize].clone()),
                video_id: it.vid_name,
                label: Some(it.label),
                start: Some(it.start_frame),
                end: Some(it.end_frame),
                ..Default::default()
            })
        })
        .collect()
}

/// `Diving48_vocab.json` (48 × [takeoff, somersault, twist, flight]) as class names joined by `+`.
pub fn parse_diving48_vocab(text: &str, path: &Path) -> Result<Vec<String>> {
    let v: Vec<Vec<String>> = serde_json::from_str(text).map_err(|e| json_error(path, e))?;
    Ok(v.into_iter().map(|parts| parts.join("+")).collect())
}

/// UCF101 `classInd.txt` (`"<1-based id> <ClassName>"`) as names in id order.
pub fn parse_ucf101_class_ind(text: &str, path: &Path) -> Result<Vec<String>> {
    let mut out: Vec<(i64, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (id, name) = line
            .split_once(char::is_whitespace)
            .and_then(|(a, b)| Some((a.parse::<i64>().ok()?, b.trim().to_string())))
            .ok_or_else(|| Error::line(path, i as u64 + 1, format!("expected `<id> <ClassName>`, found `{line}`")))?;
        out.push((id, name));
    }
    out.sort();
    for (k, (id, _)) in out.iter().enumerate() {
        if *id != k as i64 + 1 {
            return Err(Error::file(
                path,
                format!("class ids are not 1..{}: id {id} at position {}", out.len(), k + 1),
            ));
        }
    }
    Ok(out.into_iter().map(|(_, n)| n).collect())
}

/// UCF101 `trainlist0k.txt` (`Class/v_Class_gXX_cYY.avi <1-based label>`) or `testlist0k.txt`
/// (path only: the class comes from the folder, matched case-insensitively against `classes`).
/// Labels become 0-based. CRLF line endings are accepted.
pub fn parse_ucf101_list(text: &str, path: &Path, classes: &[String]) -> Result<Vec<VideoLabel>> {
    let lower: BTreeMap<String, usize> = classes.iter().enumerate().map(|(i, c)| (c.to_lowercase(), i)).collect();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        let file = parts.next().unwrap_or_default();
        let (folder, name) = file.rsplit_once('/').ok_or_else(|| {
            Error::line(path, line_no, format!("expected `Class/v_Class_gXX_cYY.avi`, found `{file}`"))
        })?;
        let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
        let from_folder = lower.get(&folder.to_lowercase()).copied();
        let label = match parts.next() {
            Some(l) => {
                let id: i64 =
                    l.parse().map_err(|_| Error::line(path, line_no, format!("label `{l}` is not an integer")))?;
                if id < 1 || id as usize > classes.len() {
                    return Err(Error::line(path, line_no, format!("label {id} is not in 1..={}", classes.len())));
                }
                id as usize - 1
            }
            None => from_folder.ok_or_else(|| {
                Error::line(path, line_no, format!("folder `{folder}` is not a class in the class list"))
            })?,
        };
        out.push(VideoLabel {
            video_id: stem.to_string(),
            label: Some(label as i64),
            label_name: Some(classes[label].clone()),
            ..Default::default()
        });
    }
    Ok(out)
}

/// Gesture classes of ChaLearn LAP IsoGD.
pub const ISOGD_CLASSES: usize = 249;

const ISOGD_LINE: &str = "an IsoGD list line is `<rgb path> <depth path> [<label 1..249>]`, \
     e.g. `train/001/M_00001.avi train/001/K_00001.avi 10`";

/// ChaLearn LAP IsoGD `train_list.txt` / `valid_list.txt` / `test_list.txt`:
/// `<rgb path> <depth path> <1-based label>` per line (e.g.
/// `train/001/M_00001.avi train/001/K_00001.avi 10`), or the two paths
/// alone (a test list without labels: `label` stays `None`). The video id
/// is the stem of the RGB path (`M_00001`); `split` is the RGB path's first
/// folder when it is `train`, `valid` or `test`. Labels become 0-based;
/// they must be in 1..=249, or 1..=`classes.len()` with a class list
/// (0-based line index = label), which also names them; without one,
/// label `l` (0-based) is named `class_<l>`. CRLF line ends are accepted.
pub fn parse_isogd_list(text: &str, path: &Path, classes: Option<&[String]>) -> Result<Vec<VideoLabel>> {
    let num_classes = classes.map_or(ISOGD_CLASSES, <[String]>::len);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let bad = |message: String| Error::line(path, line_no, message).with_hint(ISOGD_LINE);
        if !(2..=3).contains(&fields.len()) {
            return Err(bad(format!("expected 2 or 3 fields, found {}: `{line}`", fields.len())));
        }
        if fields[1].bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::line(
                path,
                line_no,
                format!("the second field `{}` is a number, not the depth video's path", fields[1]),
            )
            .with_hint(
                "this looks like a third-party frame list (`<image_dir> <frame_count> <label 0..248>`); \
                 give the official list, whose lines name the RGB and depth videos",
            ));
        }
        let rgb = fields[0];
        let name = rgb.rsplit(['/', '\\']).next().unwrap_or(rgb);
        let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
        if stem.is_empty() {
            return Err(bad(format!("the RGB path `{rgb}` has no file name")));
        }
        let label = match fields.get(2) {
            Some(l) => {
                let id: i64 = l.parse().map_err(|_| bad(format!("label `{l}` is not an integer")))?;
                if id < 1 || id as usize > num_classes {
                    let hint = match classes {
                        Some(_) => format!("IsoGD labels count from 1; the class list has {num_classes} names"),
                        None => format!(
                            "IsoGD labels count from 1 to {ISOGD_CLASSES}; for another set give a class list (`classes`)"
                        ),
                    };
                    return Err(
                        Error::line(path, line_no, format!("label {id} is not in 1..={num_classes}")).with_hint(hint)
                    );
                }
                Some(id - 1)
            }
            None => None,
        };
        let split = rgb.split(['/', '\\']).next().filter(|s| *s != rgb && ["train", "valid", "test"].contains(s));
        out.push(VideoLabel {
            video_id: stem.to_string(),
            label,
            label_name: label.map(|l| classes.map_or_else(|| format!("class_{l}"), |c| c[l as usize].clone())),
            split: split.map(str::to_string),
            ..Default::default()
        });
    }
    Ok(out)
}

const NTU_NAME: &str = "NTU RGB+D video names are `SsssCcccPpppRrrrAaaa`, optionally with a suffix \
     and an extension, e.g. `S001C002P003R002A013_rgb.avi`";

/// An NTU RGB+D video name: `S001C002P003R002A013_rgb.avi`, a path ending
/// in one, a stem (`S001C002P003R002A013_rgb`) or the bare sample name.
/// Returns the file stem (the video id) and the sample name's fields;
/// `None` when the stem does not start with a sample name followed by
/// nothing or `_…`. Ranges are not checked here ([`ntu_video_label`] does).
pub fn parse_ntu_video_name(name: &str) -> Option<(&str, NtuSampleName)> {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    let (sample, rest) = (stem.get(..20)?, &stem[20..]);
    if !(rest.is_empty() || rest.starts_with('_')) {
        return None;
    }
    Some((stem, NtuSampleName::parse(sample)?))
}

/// The label of an NTU sample name (`action − 1`), its ranges checked
/// against NTU RGB+D 120 (which contains NTU60) and `classes` when given.
fn ntu_label(video_id: &str, name: NtuSampleName, classes: Option<&[String]>) -> Result<VideoLabel, String> {
    let ranges = [
        ("setup", name.setup, 32),
        ("camera", name.camera, 3),
        ("performer", name.subject, 106),
        ("replication", name.replication, 2),
        ("action", name.action, 120),
    ];
    if let Some((field, v, max)) = ranges.iter().find(|(_, v, max)| !(1..=*max).contains(v)) {
        return Err(format!("`{video_id}`: {field} {v} is not in 1..={max} (NTU RGB+D 120)"));
    }
    debug_assert!(NtuDataset::Ntu120.contains(&name));
    let label = name.label() as usize;
    let label_name = match classes {
        Some(c) => Some(c.get(label).cloned().ok_or_else(|| {
            format!("`{video_id}`: action {} has no name: the class list has {} names", name.action, c.len())
        })?),
        None => None,
    };
    Ok(VideoLabel {
        video_id: video_id.to_string(),
        label: Some(label as i64),
        label_name,
        ntu: Some(name),
        ..Default::default()
    })
}

/// A list of NTU RGB+D 60/120 video file names, one per line (e.g. `ls`
/// output; paths, extensions and a `_rgb` suffix are fine). The video id is
/// the file stem (`S001C002P003R002A013_rgb`), the label `action − 1`
/// (`A013` → 12) and [`VideoLabel::ntu`] the name's fields. Class names come
/// from `classes` (one per line) when given. CRLF line ends are accepted.
pub fn parse_ntu_names(text: &str, path: &Path, classes: Option<&[String]>) -> Result<Vec<VideoLabel>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let err = |m: String| Error::line(path, i as u64 + 1, m).with_hint(NTU_NAME);
        let (stem, name) =
            parse_ntu_video_name(line).ok_or_else(|| err(format!("`{line}` is not an NTU RGB+D video name")))?;
        out.push(ntu_label(stem, name, classes).map_err(err)?);
    }
    Ok(out)
}

/// The label of one NTU RGB+D video from its id (its file stem or folder
/// name), as [`parse_ntu_names`] gives it for a listed name; `path` (the
/// video) is named in errors.
pub fn ntu_video_label(video_id: &str, path: &Path, classes: Option<&[String]>) -> Result<VideoLabel> {
    let err = |m: String| Error::file(path, m).with_hint(NTU_NAME);
    let (_, name) = parse_ntu_video_name(video_id)
        .ok_or_else(|| err(format!("video id `{video_id}` is not an NTU RGB+D video name")))?;
    ntu_label(video_id, name, classes).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actionbench_core::Diagnose as _;

    fn p() -> &'static Path {
        Path::new("labels.txt")
    }

    #[test]
    fn kinetics_without_class_list_uses_sorted_labels_and_names_bad_lines() {
        let csv =
            "label,youtube_id,time_start,time_end,split,is_cc\nzumba,aaa,0,10,train,0\nabseiling,bbb,5,15,train,0\n";
        let rows = parse_kinetics_csv(csv, p(), None).unwrap();
        assert_eq!(rows[0].video_id, "aaa_000000_000010");
        assert_eq!((rows[0].label, rows[1].label), (Some(1), Some(0)));
        let test = parse_kinetics_csv("youtube_id,time_start,time_end,split\nccc,1,11,test\n", p(), None).unwrap();
        assert_eq!((test[0].label, test[0].split.as_deref()), (None, Some("test")));
        let err = parse_kinetics_csv("a,b\n1,2\n", p(), None).unwrap_err();
        assert!(err.to_string().starts_with("`labels.txt` line 1:") && err.hint().is_some(), "{err}");
        let err = parse_kinetics_csv(csv, p(), Some(&["zumba".into()])).unwrap_err();
        assert!(err.to_string().contains("line 3") && err.to_string().contains("abseiling"), "{err}");
    }

    #[test]
    fn sth_labels_accept_string_or_integer_ids() {
        let ssv2 = parse_sth_labels(r#"{"Holding something": "3", "Moving something up": "0"}"#, p()).unwrap();
        let se = parse_sth_labels(r#"{"Holding something": 3}"#, p()).unwrap();
        assert_eq!(ssv2["Holding something"], se["Holding something"]);
        let items = r#"[{"id": "7", "label": "holding a cup", "template": "Holding [something]", "placeholders": ["a cup"]},
                        {"id": "8"}]"#;
        let rows = parse_sth_items(items, p(), &ssv2).unwrap();
        assert_eq!((rows[0].label, rows[1].label), (Some(3), None));
        let bad = r#"[{"id": "9", "template": "Juggling [something]"}]"#;
        let err = parse_sth_items(bad, p(), &ssv2).unwrap_err();
        assert!(err.to_string().contains("Juggling something"), "{err}");
        let err = parse_sth_items("[{\"id\": \"1\"},\n{\"id\": }]", p(), &ssv2).unwrap_err();
        assert!(err.to_string().starts_with("`labels.txt` line 2:"), "{err}");
    }

    #[test]
    fn ucf101_lists_train_and_test() {
        let classes = parse_ucf101_class_ind("1 ApplyEyeMakeup\r\n2 HandstandPushups\r\n", p()).unwrap();
        let train = parse_ucf101_list("HandstandPushups/v_HandStandPushups_g08_c01.avi 2\r\n", p(), &classes).unwrap();
        assert_eq!((train[0].video_id.as_str(), train[0].label), ("v_HandStandPushups_g08_c01", Some(1)));
        let test = parse_ucf101_list("handstandpushups/v_HandStandPushups_g01_c01.avi\n", p(), &classes).unwrap();
        assert_eq!(test[0].label, Some(1));
        let err = parse_ucf101_list("\nApplyEyeMakeup/v_x.avi 3\n", p(), &classes).unwrap_err();
        assert!(err.to_string().starts_with("`labels.txt` line 2: label 3"), "{err}");
        assert!(parse_ucf101_class_ind("1 A\n3 B\n", p()).is_err());
    }

    #[test]
    fn isogd_lists_train_test_and_bad_lines() {
        let train =
            "train/001/M_00001.avi train/001/K_00001.avi 10\r\ntrain/001/M_00002.avi train/001/K_00002.avi 249\r\n";
        let rows = parse_isogd_list(train, p(), None).unwrap();
        assert_eq!((rows[0].video_id.as_str(), rows[0].label), ("M_00001", Some(9)));
        assert_eq!(rows[0].label_name.as_deref(), Some("class_9"));
        assert_eq!((rows[1].label, rows[1].split.as_deref()), (Some(248), Some("train")));
        // A test list without labels: unlabelled rows.
        let test = parse_isogd_list("test/001/M_00001.avi test/001/K_00001.avi\n", p(), None).unwrap();
        assert_eq!((test[0].video_id.as_str(), test[0].label, test[0].label_name.as_deref()), ("M_00001", None, None));
        assert_eq!(test[0].split.as_deref(), Some("test"));
        // A class list names the labels and bounds them.
        let names: Vec<String> = vec!["swipe".into(), "circle".into()];
        let named = parse_isogd_list("valid/001/M_00001.avi valid/001/K_00001.avi 2\n", p(), Some(&names)).unwrap();
        assert_eq!((named[0].label, named[0].label_name.as_deref()), (Some(1), Some("circle")));
        let err = parse_isogd_list("valid/001/M_00001.avi valid/001/K_00001.avi 3\n", p(), Some(&names)).unwrap_err();
        assert!(err.to_string().starts_with("`labels.txt` line 1: label 3 is not in 1..=2"), "{err}");
        // Out of range, bad fields, a frame list: file and line, with a hint.
        for (text, line, what) in [
            ("\ntrain/001/M_00001.avi train/001/K_00001.avi 250\n", 2, "label 250 is not in 1..=249"),
            ("train/001/M_00001.avi train/001/K_00001.avi 0\n", 1, "label 0 is not in 1..=249"),
            ("train/001/M_00001.avi train/001/K_00001.avi ten\n", 1, "label `ten` is not an integer"),
            ("a b\nM_00001.avi\n", 2, "expected 2 or 3 fields, found 1"),
            ("a b 1 2\n", 1, "expected 2 or 3 fields, found 4"),
            ("train/001/M_00001 37 9\n", 1, "the second field `37` is a number"),
        ] {
            let err = parse_isogd_list(text, p(), None).unwrap_err();
            assert!(err.to_string().starts_with(&format!("`labels.txt` line {line}: {what}")), "{err}");
            assert!(err.hint().is_some(), "{err}");
        }
    }

    #[test]
    fn ntu_names_give_setup_camera_performer_action() {
        let text = "S001C002P003R002A013_rgb.avi\r\nnturgb+d_rgb/S018C001P045R001A061_rgb.avi\nS001C001P001R001A001\n";
        let rows = parse_ntu_names(text, p(), None).unwrap();
        assert_eq!(rows[0].video_id, "S001C002P003R002A013_rgb");
        assert_eq!((rows[0].label, rows[0].label_name.as_deref()), (Some(12), None));
        let n = rows[0].ntu.unwrap();
        assert_eq!((n.setup, n.camera, n.subject, n.replication, n.action), (1, 2, 3, 2, 13));
        assert_eq!((rows[1].video_id.as_str(), rows[1].label), ("S018C001P045R001A061_rgb", Some(60)));
        assert_eq!(rows[1].ntu.unwrap().subject, 45);
        assert_eq!(rows[2].video_id, "S001C001P001R001A001");
        let names: Vec<String> = (1..=13).map(|a| format!("action {a}")).collect();
        let named = parse_ntu_names("S001C002P003R002A013_rgb.avi\n", p(), Some(&names)).unwrap();
        assert_eq!(named[0].label_name.as_deref(), Some("action 13"));
        let err = parse_ntu_names("S001C002P003R002A014_rgb.avi\n", p(), Some(&names)).unwrap_err();
        assert!(err.to_string().contains("line 1") && err.to_string().contains("13 names"), "{err}");
        for (text, what) in [
            ("S001C002P003R002A013_rgb.avi\nREADME.txt\n", "`README.txt` is not an NTU RGB+D video name"),
            ("S001C002P003R002A13_rgb.avi\n\n", "`S001C002P003R002A13_rgb.avi` is not an NTU RGB+D video name"),
            ("S001C002P003R002A013rgb.avi\n", "is not an NTU RGB+D video name"),
            ("S001C002P003R002A121_rgb.avi\n", "action 121 is not in 1..=120"),
            ("S001C004P003R002A013_rgb.avi\n", "camera 4 is not in 1..=3"),
        ] {
            let err = parse_ntu_names(text, p(), None).unwrap_err();
            let line = if text.starts_with("S001C002P003R002A013_rgb") { 2 } else { 1 };
            assert!(err.to_string().starts_with(&format!("`labels.txt` line {line}: ")), "{err}");
            assert!(err.to_string().contains(what) && err.hint().is_some(), "{err}");
        }
        // One video's id, as `ingest.video` parses it without a list.
        let one = ntu_video_label("S001C002P003R002A013_rgb", Path::new("v/S001C002P003R002A013_rgb.avi"), None);
        assert_eq!(one.unwrap().label, Some(12));
        let err = ntu_video_label("clip_7", Path::new("v/clip_7.avi"), None).unwrap_err();
        assert!(err.to_string().starts_with("`v/clip_7.avi`: video id `clip_7`") && err.hint().is_some(), "{err}");
        assert!(parse_ntu_video_name("S001C002P003R002A013é").is_none());
        assert!(parse_ntu_video_name("é").is_none());
    }

    #[test]
    fn isogd_and_ntu_readers_never_panic_on_cut_or_odd_input() {
        let text = "train/001/M_00001.avi train/001/K_00001.avi 10\nS001C002P003R002A013_rgb.avi\n\u{e9}\u{e9}\u{e9} 12 x\n \t\r\n/ / 1\n. .\nS001C002P003R002A013_\u{e9}.avi\nS001C002P003R002A\u{e9}13\n";
        let names: Vec<String> = vec!["only".into()];
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let cut = &text[..end];
            for classes in [None, Some(names.as_slice()), Some(&[][..])] {
                let _ = parse_isogd_list(cut, p(), classes);
                let _ = parse_ntu_names(cut, p(), classes);
                let _ = ntu_video_label(cut, p(), classes);
            }
        }
    }

    #[test]
    fn diving48_checks_ranges() {
        let vocab = parse_diving48_vocab(r#"[["Back", "15som", "05Twis", "FREE"]]"#, p()).unwrap();
        assert_eq!(vocab, ["Back+15som+05Twis+FREE"]);
        let ok = r#"[{"vid_name": "x_1", "label": 0, "start_frame": 0, "end_frame": 9}]"#;
        assert_eq!(
            parse_diving48(ok, p(), Some(&vocab)).unwrap()[0].label_name.as_deref(),
            Some("Back+15som+05Twis+FREE")
        );
        let bad = r#"[{"vid_name": "x_1", "label": 4, "start_frame": 0, "end_frame": 9}]"#;
        assert!(parse_diving48(bad, p(), Some(&vocab)).unwrap_err().to_string().contains("out of range"));
    }
}
