//! AVA v2.x annotation and submission CSVs and excluded-timestamp lists
//! (docs/formats.md §4.1), read the way the official evaluator reads them.
//!
//! Rows have no header and 2, 7 or 8 columns:
//! `video_id, timestamp[, x1, y1, x2, y2, action_id[, score]]`. In ground
//! truth the 8th column is the person id; in detections it is the score.
//! The timestamp is parsed as the chosen [`AvaDialect`] does:
//!
//! * [`AvaDialect::Activitynet2019`]: an integer (`int(row[1])`), so `902`
//!   and `0902` are the same frame; `902.5` is an error. Only 7- and
//!   8-column rows.
//! * [`AvaDialect::Activitynet2020`]: a decimal number (`Decimal(row[1])`),
//!   so `902`, `0902` and `902.0` are the same frame. 2-column rows mark
//!   frames that are evaluated but have no box.
//!
//! Video ids are kept byte for byte (they may start with `-` or `_`).
//! Numbers may carry surrounding spaces, as Python's `float()`/`int()`
//! accept; empty lines are skipped.

use std::path::Path;

use crate::error::{Error, Result, read_bytes};

/// Which revision of the official reader to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvaDialect {
    /// Integer timestamps; 7 or 8 columns.
    Activitynet2019,
    /// Decimal timestamps; 2, 7 or 8 columns.
    Activitynet2020,
}

/// A parsed timestamp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AvaTimestamp {
    /// Whole seconds ([`AvaDialect::Activitynet2019`]).
    Seconds(i64),
    /// Decimal seconds ([`AvaDialect::Activitynet2020`]).
    Decimal(f64),
}

/// The box part of a 7- or 8-column row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AvaCsvBox {
    /// Left edge (normalised).
    pub x1: f64,
    /// Top edge (normalised).
    pub y1: f64,
    /// Right edge (normalised).
    pub x2: f64,
    /// Bottom edge (normalised).
    pub y2: f64,
    /// 1-based action id.
    pub action_id: i64,
    /// The 8th column: detection score, or person id in ground truth.
    /// `None` for 7-column rows.
    pub score: Option<f64>,
}

/// One row of an AVA CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct AvaCsvRow {
    /// 1-based line number in the file.
    pub line: u64,
    /// YouTube id of the video, as written.
    pub video_id: String,
    /// The keyframe's timestamp.
    pub timestamp: AvaTimestamp,
    /// The labelled box; `None` for a 2-column row.
    pub bbox: Option<AvaCsvBox>,
}

/// One row of an excluded-timestamps CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct AvaExcludedFrame {
    /// 1-based line number in the file.
    pub line: u64,
    /// YouTube id of the video.
    pub video_id: String,
    /// The excluded keyframe.
    pub timestamp: AvaTimestamp,
}

const COLUMNS: &str = "video_id, timestamp, x1, y1, x2, y2, action_id[, score]";

/// Calls `f(line, fields)` for every non-empty CSV record, reusing one
/// record buffer (AVA detection files have millions of rows).
fn for_each_record(bytes: &[u8], path: &Path, mut f: impl FnMut(u64, &csv::StringRecord) -> Result<()>) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(|e| csv_error(e, path))? {
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() == 1 && record[0].trim().is_empty() {
            continue;
        }
        f(line, &record)?;
    }
    Ok(())
}

pub(crate) fn csv_error(e: csv::Error, path: &Path) -> Error {
    let line = e.position().map_or(0, csv::Position::line);
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8 in field {}", err.field() + 1),
        _ => e.to_string(),
    };
    Error::line(path, line, message)
}

fn timestamp(text: &str, dialect: AvaDialect, path: &Path, line: u64) -> Result<AvaTimestamp> {
    let t = text.trim();
    match dialect {
        AvaDialect::Activitynet2019 => t.parse::<i64>().map(AvaTimestamp::Seconds).map_err(|_| {
            let err =
                Error::line(path, line, format!("expected a timestamp in whole seconds in column 2, found `{text}`"));
            if t.parse::<f64>().is_ok() {
                err.with_hint(
                    "The 2019 protocol reads timestamps as integers; use `--protocol 2020` for fractional timestamps",
                )
            } else if line == 1 {
                err.with_hint("AVA CSV files have no header row; remove the first line")
            } else {
                err
            }
        }),
        AvaDialect::Activitynet2020 => match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(AvaTimestamp::Decimal(v)),
            _ => {
                let err =
                    Error::line(path, line, format!("expected a timestamp in seconds in column 2, found `{text}`"));
                Err(if line == 1 {
                    err.with_hint("AVA CSV files have no header row; remove the first line")
                } else {
                    err
                })
            }
        },
    }
}

fn number(fields: &csv::StringRecord, i: usize, name: &str, path: &Path, line: u64) -> Result<f64> {
    match fields[i].trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(Error::line(
            path,
            line,
            format!("expected a finite number for {name} in column {}, found `{}`", i + 1, &fields[i]),
        )),
    }
}

/// Parses AVA CSV bytes; `path` is only used in error messages.
pub fn parse_ava_csv(bytes: &[u8], path: &Path, dialect: AvaDialect) -> Result<Vec<AvaCsvRow>> {
    let mut rows = Vec::new();
    for_each_record(bytes, path, |line, f| {
        let allowed = matches!((dialect, f.len()), (_, 7 | 8) | (AvaDialect::Activitynet2020, 2));
        if !allowed {
            let expected = match dialect {
                AvaDialect::Activitynet2019 => format!("7 or 8 columns ({COLUMNS})"),
                AvaDialect::Activitynet2020 => {
                    format!("2, 7 or 8 columns ({COLUMNS})")
                }
            };
            let err = Error::line(path, line, format!("expected {expected}, found {}", f.len()));
            return Err(if dialect == AvaDialect::Activitynet2019 && f.len() == 2 {
                err.with_hint(
                    "Rows with only `video_id,timestamp` mark frames without boxes in the 2020 protocol; use `--protocol 2020`",
                )
            } else {
                err
            });
        }
        let timestamp = timestamp(&f[1], dialect, path, line)?;
        let bbox = if f.len() == 2 {
            None
        } else {
            let action_id = f[6].trim().parse::<i64>().map_err(|_| {
                Error::line(path, line, format!("expected an integer action id in column 7, found `{}`", &f[6]))
            })?;
            let score = if f.len() == 8 {
                match f[7].trim().parse::<f64>() {
                    Ok(v) if !v.is_nan() => Some(v),
                    _ => {
                        return Err(Error::line(
                            path,
                            line,
                            format!("expected a number in column 8, found `{}`", &f[7]),
                        ));
                    }
                }
            } else {
                None
            };
            Some(AvaCsvBox {
                x1: number(f, 2, "x1", path, line)?,
                y1: number(f, 3, "y1", path, line)?,
                x2: number(f, 4, "x2", path, line)?,
                y2: number(f, 5, "y2", path, line)?,
                action_id,
                score,
            })
        };
        rows.push(AvaCsvRow { line, video_id: f[0].to_string(), timestamp, bbox });
        Ok(())
    })?;
    Ok(rows)
}

/// Reads an AVA ground-truth or detection CSV.
pub fn read_ava_csv(path: &Path, dialect: AvaDialect) -> Result<Vec<AvaCsvRow>> {
    parse_ava_csv(&read_bytes(path)?, path, dialect)
}

/// Parses an excluded-timestamps CSV (`video_id,timestamp` per line).
pub fn parse_ava_exclusions(bytes: &[u8], path: &Path, dialect: AvaDialect) -> Result<Vec<AvaExcludedFrame>> {
    let mut out = Vec::new();
    for_each_record(bytes, path, |line, f| {
        if f.len() != 2 {
            return Err(Error::line(
                path,
                line,
                format!("expected 2 columns (video_id, timestamp), found {}", f.len()),
            ));
        }
        let timestamp = timestamp(&f[1], dialect, path, line)?;
        out.push(AvaExcludedFrame { line, video_id: f[0].to_string(), timestamp });
        Ok(())
    })?;
    Ok(out)
}

/// Reads an excluded-timestamps CSV.
pub fn read_ava_exclusions(path: &Path, dialect: AvaDialect) -> Result<Vec<AvaExcludedFrame>> {
    parse_ava_exclusions(&read_bytes(path)?, path, dialect)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actionbench_core::Diagnose as _;

    fn parse(text: &str, d: AvaDialect) -> Result<Vec<AvaCsvRow>> {
        parse_ava_csv(text.as_bytes(), Path::new("t.csv"), d)
    }

    #[test]
    fn reads_seven_and_eight_columns_and_padding() {
        let rows = parse(
            "_-Z6wFjXtGQ,0902,0.063,0.049,0.524,0.996,12,0\n-abc,903, 0.1,0.2,0.3,0.4,5\n\n",
            AvaDialect::Activitynet2019,
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].video_id, "_-Z6wFjXtGQ");
        assert_eq!(rows[0].timestamp, AvaTimestamp::Seconds(902));
        assert_eq!(rows[0].bbox.unwrap().score, Some(0.0));
        assert_eq!(rows[1].line, 2);
        assert_eq!(rows[1].bbox.unwrap().x1, 0.1);
        assert_eq!(rows[1].bbox.unwrap().score, None);
    }

    #[test]
    fn dialects_differ_on_two_column_rows_and_fractions() {
        let two = "v,902\n";
        let err = parse(two, AvaDialect::Activitynet2019).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        assert!(err.hint().unwrap().contains("2020"));
        let rows = parse(two, AvaDialect::Activitynet2020).unwrap();
        assert_eq!(rows[0].bbox, None);
        let frac = "v,902.5,0,0,1,1,1,0.5\n";
        assert!(parse(frac, AvaDialect::Activitynet2019).is_err());
        assert_eq!(parse(frac, AvaDialect::Activitynet2020).unwrap()[0].timestamp, AvaTimestamp::Decimal(902.5));
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = parse("v,902,0,0,1,1,1,0.5\nv,902,0,zero,1,1,1,0.5\n", AvaDialect::Activitynet2019).unwrap_err();
        assert_eq!(err.to_string(), "`t.csv` line 2: expected a finite number for y1 in column 4, found `zero`");
        let header =
            parse("video_id,timestamp,x1,y1,x2,y2,action_id,score\n", AvaDialect::Activitynet2019).unwrap_err();
        assert!(header.hint().unwrap().contains("no header"));
        assert!(parse("v,902,0,0,1,1\n", AvaDialect::Activitynet2020).is_err());
        assert!(parse("v,902,0,0,1,1,x,0.5\n", AvaDialect::Activitynet2020).is_err());
        assert!(parse("v,902,0,0,1,1,1,nan\n", AvaDialect::Activitynet2020).is_err());
    }
}
