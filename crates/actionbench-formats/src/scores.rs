//! Class-score tables (predictions brought from elsewhere) and label lists.
//!
//! **Score CSV**: one row per prediction (a sample, or one view of a sample),
//! one column per class. An optional header row names the columns; it is
//! recognised because one of its fields is not a number. With a header, a
//! column named `id`, `sample_id`, `sample`, `video`, `video_id`, `clip`,
//! `filename` or `name` holds sample ids, a column named `label` holds the
//! true class, and every other column is a class score, in column order.
//! Without a header every column is a score.
//!
//! **Score Parquet** (feature `parquet`): the same roles by column name; the
//! scores are either one list column (`List`/`LargeList`/`FixedSizeList` of
//! numbers; named `scores` if there are several list columns) or, without
//! a list column, every remaining numeric column.
//!
//! **Label list**: one sample per non-empty line, the label (an integer
//! class index) in the last field; fields are separated by commas if the
//! line has one, else by whitespace; with two or more fields the first is
//! the sample id. This reads plain label columns (`3`), `id,label` CSVs
//! (header allowed) and mmaction2 file lists (`path 3`,
//! `frame_dir total_frames 3`).

use std::path::Path;

use crate::ava::csv_error;
use crate::error::{Error, Result, read_bytes, read_text};

/// Column names that hold sample ids.
pub const ID_COLUMNS: [&str; 8] = ["id", "sample_id", "sample", "video", "video_id", "clip", "filename", "name"];

/// Column name that holds the true class.
pub const LABEL_COLUMN: &str = "label";

/// Predictions as a dense `[rows, classes]` matrix with optional ids/labels.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreTable {
    /// Sample id of every row, if the file has an id column.
    pub ids: Option<Vec<String>>,
    /// True class of every row, if the file has a `label` column.
    pub labels: Option<Vec<i64>>,
    /// Number of score columns (classes).
    pub classes: usize,
    /// Scores, row-major (`rows * classes` values).
    pub scores: Vec<f64>,
}

impl ScoreTable {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.scores.len().checked_div(self.classes).unwrap_or(0)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Id,
    Label,
    Score,
}

fn role_of(name: &str) -> Role {
    let lower = name.trim().to_ascii_lowercase();
    if ID_COLUMNS.contains(&lower.as_str()) {
        Role::Id
    } else if lower == LABEL_COLUMN {
        Role::Label
    } else {
        Role::Score
    }
}

fn is_number(s: &str) -> bool {
    s.trim().parse::<f64>().is_ok()
}

/// Parses a score CSV; `path` is only used in error messages.
pub fn parse_scores_csv(bytes: &[u8], path: &Path) -> Result<ScoreTable> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut roles: Option<Vec<Role>> = None;
    let mut names: Vec<String> = Vec::new();
    let (mut ids, mut labels, mut scores) = (Vec::new(), Vec::new(), Vec::new());
    let mut width = 0;
    let mut first = true;
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(e, path))?;
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() == 1 && record[0].trim().is_empty() {
            continue;
        }
        if first {
            first = false;
            width = record.len();
            if record.iter().any(|f| !is_number(f)) {
                names = record.iter().map(|f| f.trim().to_string()).collect();
                let r: Vec<Role> = names.iter().map(|n| role_of(n)).collect();
                for role in [Role::Id, Role::Label] {
                    if r.iter().filter(|&&x| x == role).count() > 1 {
                        return Err(Error::line(
                            path,
                            line,
                            format!(
                                "more than one {} column in the header",
                                if role == Role::Id { "id" } else { "label" }
                            ),
                        ));
                    }
                }
                if !r.contains(&Role::Score) {
                    return Err(Error::line(path, line, "the header names no score column")
                        .with_hint("Every column that is not an id or `label` column is a class score"));
                }
                roles = Some(r);
                continue;
            }
            roles = Some(vec![Role::Score; width]);
        }
        let roles = roles.as_deref().unwrap_or(&[]);
        if record.len() != width {
            return Err(Error::line(
                path,
                line,
                format!("expected {width} columns (as the first row), found {}", record.len()),
            ));
        }
        for (i, (field, role)) in record.iter().zip(roles).enumerate() {
            match role {
                Role::Id => ids.push(field.trim().to_string()),
                Role::Label => labels.push(field.trim().parse::<i64>().map_err(|_| {
                    Error::line(path, line, format!("expected an integer label in column {}, found `{field}`", i + 1))
                })?),
                Role::Score => match field.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() => scores.push(v),
                    _ => {
                        let err = Error::line(
                            path,
                            line,
                            format!("expected a finite number in column {}, found `{field}`", i + 1),
                        );
                        return Err(if names.is_empty() && i == 0 {
                            err.with_hint("Add a header row naming the id column `id` (and the label column `label`)")
                        } else {
                            err
                        });
                    }
                },
            }
        }
    }
    let roles = roles.unwrap_or_default();
    let classes = roles.iter().filter(|&&r| r == Role::Score).count();
    if scores.is_empty() {
        return Err(Error::file(path, "no score rows found"));
    }
    Ok(ScoreTable {
        ids: roles.contains(&Role::Id).then_some(ids),
        labels: roles.contains(&Role::Label).then_some(labels),
        classes,
        scores,
    })
}

/// Reads a score CSV.
pub fn read_scores_csv(path: &Path) -> Result<ScoreTable> {
    parse_scores_csv(&read_bytes(path)?, path)
}

/// Reads a score table, choosing the reader by extension (`.parquet`/`.pq`
/// → Parquet, anything else → CSV).
pub fn read_scores(path: &Path) -> Result<ScoreTable> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("parquet" | "pq") => read_parquet(path),
        _ => read_scores_csv(path),
    }
}

#[cfg(feature = "parquet")]
fn read_parquet(path: &Path) -> Result<ScoreTable> {
    crate::scores_parquet::read_scores_parquet(path)
}

#[cfg(not(feature = "parquet"))]
fn read_parquet(path: &Path) -> Result<ScoreTable> {
    Err(Error::file(path, "this build of actionbench cannot read Parquet (feature `parquet` is off)")
        .with_hint("Export the scores as CSV"))
}

/// True classes of samples, optionally with their ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelList {
    /// Sample id per label, when every line has one.
    pub ids: Option<Vec<String>>,
    /// Class index per sample.
    pub labels: Vec<i64>,
    /// 1-based line of each label.
    pub lines: Vec<u64>,
}

/// Parses a label list; `path` is only used in error messages.
pub fn parse_labels(text: &str, path: &Path) -> Result<LabelList> {
    let mut ids = Vec::new();
    let mut labels = Vec::new();
    let mut lines = Vec::new();
    let mut with_ids: Option<bool> = None;
    let mut seen_line = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i as u64 + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        let fields: Vec<&str> = if trimmed.contains(',') {
            trimmed.split(',').map(str::trim).collect()
        } else {
            trimmed.split_whitespace().collect()
        };
        let last = fields[fields.len() - 1];
        let first_non_empty = !seen_line;
        seen_line = true;
        let Ok(label) = last.parse::<i64>() else {
            if first_non_empty {
                // A header row such as `id,label`.
                continue;
            }
            return Err(Error::line(
                path,
                line,
                format!("expected an integer class index as the last field, found `{last}`"),
            )
            .with_hint("Labels are class indices; map class names to indices with the label map first"));
        };
        let has_id = fields.len() >= 2;
        match with_ids {
            None => with_ids = Some(has_id),
            Some(w) if w != has_id => {
                return Err(Error::line(
                    path,
                    line,
                    format!(
                        "expected {} (as the first label line), found {} field(s)",
                        if w { "an id and a label" } else { "a label only" },
                        fields.len()
                    ),
                ));
            }
            Some(_) => {}
        }
        if has_id {
            ids.push(fields[0].to_string());
        }
        labels.push(label);
        lines.push(line);
    }
    if labels.is_empty() {
        return Err(Error::file(path, "no labels found"));
    }
    Ok(LabelList { ids: with_ids.unwrap_or(false).then_some(ids), labels, lines })
}

/// Reads a label list.
pub fn read_labels(path: &Path) -> Result<LabelList> {
    parse_labels(&read_text(path)?, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("s.csv")
    }

    #[test]
    fn headerless_scores_are_all_classes() {
        let t = parse_scores_csv(b"0.1,0.9\n0.8,0.2\n", p()).unwrap();
        assert_eq!((t.rows(), t.classes), (2, 2));
        assert_eq!(t.ids, None);
        assert_eq!(t.scores, vec![0.1, 0.9, 0.8, 0.2]);
    }

    #[test]
    fn header_assigns_id_and_label_columns() {
        let t = parse_scores_csv(b"id,c0,c1,c2,label\na,1,2,3,2\nb,4,5,6,0\n", p()).unwrap();
        assert_eq!(t.ids, Some(vec!["a".into(), "b".into()]));
        assert_eq!(t.labels, Some(vec![2, 0]));
        assert_eq!(t.classes, 3);
        assert_eq!(t.scores, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn score_errors_name_line_and_column() {
        let err = parse_scores_csv(b"0.1,0.9\n0.8\n", p()).unwrap_err();
        assert_eq!(err.to_string(), "`s.csv` line 2: expected 2 columns (as the first row), found 1");
        let err = parse_scores_csv(b"c0,c1\n0.1,nan\n", p()).unwrap_err();
        assert!(err.to_string().contains("line 2: expected a finite number in column 2"));
    }

    #[test]
    fn label_lists_in_three_shapes() {
        let l = parse_labels("3\n1\n\n4\n", p()).unwrap();
        assert_eq!((l.ids, l.labels), (None, vec![3, 1, 4]));
        let l = parse_labels("id,label\na,1\nb,0\n", p()).unwrap();
        assert_eq!(l.ids, Some(vec!["a".into(), "b".into()]));
        assert_eq!(l.labels, vec![1, 0]);
        let l = parse_labels("some/dir 120 7\nother/dir 64 2\n", p()).unwrap();
        assert_eq!(l.ids, Some(vec!["some/dir".into(), "other/dir".into()]));
        assert_eq!(l.labels, vec![7, 2]);
        let err = parse_labels("1\n2\nthree\n", p()).unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        assert!(parse_labels("a,1\n2\n", p()).is_err());
    }
}
