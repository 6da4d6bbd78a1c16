//! Writes the table as RFC 4180 CSV: a header, CRLF line ends, quotes where needed, lists joined by newlines.

use std::path::Path;

use polars::prelude::*;

use crate::error::Result;
use crate::sinks::write_atomically;

/// Writes `frame` to `path`; list columns become newline-joined text (CSV has no lists).
pub fn write(frame: &DataFrame, path: &Path) -> Result<()> {
    write_atomically(path, |file| {
        let mut flat = with_lists_joined(frame).map_err(|e| e.to_string())?;
        CsvWriter::new(file)
            .include_header(true)
            .with_line_terminator("\r\n".into())
            .with_quote_style(QuoteStyle::Necessary)
            .finish(&mut flat)
            .map_err(|e| e.to_string())
    })
}

fn with_lists_joined(frame: &DataFrame) -> PolarsResult<DataFrame> {
    let mut flat = frame.clone();
    for column in frame.columns() {
        if let DataType::List(_) = column.dtype() {
            let lists = column.list()?;
            let joined: Vec<Option<String>> = (0..lists.len())
                .map(|index| lists.get_as_series(index))
                .map(|items| -> PolarsResult<Option<String>> {
                    let Some(items) = items else { return Ok(None) };
                    let texts: Vec<&str> = items.str()?.iter().flatten().collect();
                    Ok(Some(texts.join("\n")))
                })
                .collect::<PolarsResult<_>>()?;
            flat.replace(column.name(), Series::new(column.name().clone(), joined).into())?;
        }
    }
    Ok(flat)
}
