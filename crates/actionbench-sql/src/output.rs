//! Query results as text: an aligned table, CSV, or one JSON document.

use arrow::array::RecordBatch;

use crate::error::{Error, Result};

/// An aligned table (arrow's pretty printer).
pub fn render_table(batches: &[RecordBatch]) -> Result<String> {
    arrow::util::pretty::pretty_format_batches(batches).map(|t| t.to_string()).map_err(|e| Error::Output(e.to_string()))
}

/// CSV with a header row.
pub fn render_csv(batches: &[RecordBatch]) -> Result<String> {
    let mut out = Vec::new();
    {
        let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(&mut out);
        for b in batches {
            writer.write(b).map_err(|e| Error::Output(e.to_string()))?;
        }
    }
    String::from_utf8(out).map_err(|e| Error::Output(e.to_string()))
}

/// One JSON document: an array of row objects.
pub fn render_json(batches: &[RecordBatch]) -> Result<String> {
    let mut out = Vec::new();
    {
        let mut writer = arrow::json::ArrayWriter::new(&mut out);
        let refs: Vec<&RecordBatch> = batches.iter().collect();
        writer.write_batches(&refs).map_err(|e| Error::Output(e.to_string()))?;
        writer.finish().map_err(|e| Error::Output(e.to_string()))?;
    }
    let text = String::from_utf8(out).map_err(|e| Error::Output(e.to_string()))?;
    // arrow writes nothing for zero rows; a document is always an array.
    Ok(if text.trim().is_empty() { "[]".to_string() } else { text })
}
