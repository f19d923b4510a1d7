//! Class label maps in the three forms found in the wild.
//!
//! * **pbtxt** (AVA, TF Object Detection): `item { name: "…" id: N }` or
//!   `label { name: "…" label_id: N label_type: … }` blocks. As in the
//!   official AVA reader, a `name:` line sets the current name (the text
//!   between the first pair of double quotes) and every `id:`/`label_id:`
//!   line emits an entry with the current name. Only fields directly inside
//!   a top-level block count (the official reader's two-space indentation
//!   rule, expressed as brace depth 1), so nested messages such as
//!   `keypoints { id: 0 }` are ignored without depending on indentation.
//! * **`id: name`** per line (mmaction2 `tools/data/ava/label_map.txt`).
//! * **one name per line** (Kinetics, SSv2, UCF101, NTU class lists): ids are
//!   0-based line indices, counting non-empty lines.
//!
//! The form is detected from the content: a line ending in `{` means pbtxt;
//! otherwise, if every non-empty line is `<integer>: <name>`, the `id: name`
//! form; otherwise one name per line.

use std::path::Path;

use crate::error::{Error, Result, read_text};

/// Which form the file had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelMapKind {
    /// Protocol-buffer text (`item { … }` / `label { … }` blocks).
    Pbtxt,
    /// `id: name` per line.
    IdColonName,
    /// One name per line, ids from 0.
    NamePerLine,
}

/// One class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelEntry {
    /// Class id as written (or the 0-based line index).
    pub id: i64,
    /// Class name.
    pub name: String,
    /// 1-based line of the id.
    pub line: u64,
}

/// A parsed label map, entries in file order (duplicates kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMap {
    /// The detected form.
    pub kind: LabelMapKind,
    /// The classes in file order.
    pub entries: Vec<LabelEntry>,
}

impl LabelMap {
    /// Name of class `id` (the last entry with that id, as a dict would keep).
    pub fn name_of(&self, id: i64) -> Option<&str> {
        self.entries.iter().rev().find(|e| e.id == id).map(|e| e.name.as_str())
    }
}

/// `line` is `key` followed by optional spaces and a colon; returns the rest.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.strip_prefix(key)?.trim_start().strip_prefix(':')
}

fn parse_pbtxt(text: &str, path: &Path) -> Result<Vec<LabelEntry>> {
    let mut entries = Vec::new();
    let mut depth: i64 = 0;
    let mut name = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = raw.trim();
        if depth == 1 {
            if let Some(rest) = field(line, "name") {
                let mut parts = rest.split('"');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(_), Some(quoted), Some(_)) => name = quoted.to_string(),
                    _ => {
                        return Err(Error::line(
                            path,
                            line_no,
                            format!("expected a quoted name after `name:`, found `{}`", rest.trim()),
                        ));
                    }
                }
            } else if let Some(rest) = field(line, "id").or_else(|| field(line, "label_id")) {
                let token = rest.split_whitespace().next().unwrap_or("");
                let id = token.parse::<i64>().map_err(|_| {
                    Error::line(path, line_no, format!("expected an integer id, found `{}`", rest.trim()))
                })?;
                entries.push(LabelEntry { id, name: name.clone(), line: line_no });
            }
        }
        let mut in_quotes = false;
        for c in line.chars() {
            match c {
                '"' => in_quotes = !in_quotes,
                '{' if !in_quotes => depth += 1,
                '}' if !in_quotes => {
                    depth -= 1;
                    if depth < 0 {
                        return Err(Error::line(path, line_no, "unbalanced `}`"));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(entries)
}

fn id_colon_name(line: &str) -> Option<(i64, &str)> {
    let (id, name) = line.split_once(':')?;
    let id = id.trim().parse::<i64>().ok()?;
    let name = name.trim();
    (!name.is_empty()).then_some((id, name))
}

/// Parses label-map text; `path` is only used in error messages.
pub fn parse_label_map(text: &str, path: &Path) -> Result<LabelMap> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let non_empty = || text.lines().enumerate().map(|(i, l)| (i as u64 + 1, l.trim())).filter(|(_, l)| !l.is_empty());
    let (kind, entries) = if non_empty().any(|(_, l)| l.ends_with('{')) {
        (LabelMapKind::Pbtxt, parse_pbtxt(text, path)?)
    } else if non_empty().next().is_some() && non_empty().all(|(_, l)| id_colon_name(l).is_some()) {
        let entries = non_empty()
            .filter_map(|(line, l)| id_colon_name(l).map(|(id, name)| LabelEntry { id, name: name.to_string(), line }))
            .collect();
        (LabelMapKind::IdColonName, entries)
    } else {
        let entries = non_empty()
            .enumerate()
            .map(|(i, (line, l))| LabelEntry { id: i as i64, name: l.to_string(), line })
            .collect();
        (LabelMapKind::NamePerLine, entries)
    };
    if entries.is_empty() {
        return Err(Error::file(path, "the label map lists no class")
            .with_hint("Expected `item { name: \"…\" id: N }` blocks, `id: name` lines or one name per line"));
    }
    Ok(LabelMap { kind, entries })
}

/// Reads a label map in any of the three forms.
pub fn read_label_map(path: &Path) -> Result<LabelMap> {
    parse_label_map(&read_text(path)?, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LabelMap> {
        parse_label_map(text, Path::new("map.txt"))
    }

    #[test]
    fn pbtxt_item_and_label_syntaxes() {
        let m = parse("item {\n  name: \"a b\"\n  id: 3\n}\nlabel {\n  name: \"c\"\n  label_id: 7\n  label_type: PERSON_MOVEMENT\n}\n").unwrap();
        assert_eq!(m.kind, LabelMapKind::Pbtxt);
        let got: Vec<(i64, &str)> = m.entries.iter().map(|e| (e.id, e.name.as_str())).collect();
        assert_eq!(got, vec![(3, "a b"), (7, "c")]);
    }

    #[test]
    fn nested_ids_and_display_names_are_ignored() {
        let m = parse("item {\n  name: \"/m/01\"\n  id: 1\n  display_name: \"person\"\n  keypoints {\n    id: 0\n    label: \"nose\"\n  }\n}\n").unwrap();
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.name_of(1), Some("/m/01"));
    }

    #[test]
    fn id_colon_name_and_name_per_line() {
        let m = parse("1: bend/bow (at the waist)\n3: crouch/kneel\n").unwrap();
        assert_eq!(m.kind, LabelMapKind::IdColonName);
        assert_eq!(m.name_of(3), Some("crouch/kneel"));
        let m = parse("abseiling\nair drumming\n\n").unwrap();
        assert_eq!(m.kind, LabelMapKind::NamePerLine);
        assert_eq!(m.name_of(1), Some("air drumming"));
    }

    #[test]
    fn bad_maps_are_errors() {
        let err = parse("item {\n  name: \"x\"\n  id: one\n}\n").unwrap_err();
        assert_eq!(err.to_string(), "`map.txt` line 3: expected an integer id, found `one`");
        assert!(parse("item {\n  name: x\n  id: 1\n}\n").is_err());
        assert!(parse("\n\n").is_err());
        assert!(parse("item {\n}\n}\n").is_err());
    }
}
