//! How results are printed: every command that prints results takes
//! `--format table|csv|json`. Machine output goes to stdout only.

use std::io::Write;

/// The `--format` flag shared by every command that prints results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Default)]
pub(crate) enum OutputFormat {
    /// Aligned columns for people.
    #[default]
    Table,
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON document.
    Json,
}

/// A table of strings printed as aligned columns or CSV.
pub(crate) struct TextTable {
    pub(crate) header: Vec<String>,
    pub(crate) rows: Vec<Vec<String>>,
}

impl TextTable {
    pub(crate) fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Self { header: header.into_iter().map(Into::into).collect(), rows: Vec::new() }
    }

    pub(crate) fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Prints as `table` or `csv` (json is the caller's own document).
    pub(crate) fn print(&self, format: OutputFormat) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        match format {
            OutputFormat::Csv => {
                let mut csv = csv_writer(out);
                csv.write_record(&self.header)?;
                for row in &self.rows {
                    csv.write_record(row)?;
                }
                csv.flush()?;
            }
            OutputFormat::Table | OutputFormat::Json => {
                let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
                for row in &self.rows {
                    for (i, cell) in row.iter().enumerate() {
                        if i < widths.len() {
                            widths[i] = widths[i].max(cell.chars().count());
                        }
                    }
                }
                let line = |cells: &[String]| {
                    let mut s = String::new();
                    for (i, cell) in cells.iter().enumerate() {
                        if i + 1 == cells.len() {
                            s.push_str(cell);
                        } else {
                            s.push_str(&format!("{:<w$}  ", cell, w = widths[i]));
                        }
                    }
                    s.trim_end().to_string()
                };
                writeln!(out, "{}", line(&self.header))?;
                for row in &self.rows {
                    writeln!(out, "{}", line(row))?;
                }
            }
        }
        Ok(())
    }
}

/// A CSV writer with `\n` line ends, fields quoted only where needed;
/// rows may differ in length.
pub(crate) fn csv_writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).flexible(true).from_writer(out)
}

/// Prints one JSON document on stdout.
pub(crate) fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    Ok(())
}
