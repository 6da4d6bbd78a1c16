//! Writes a table as RFC 4180 CSV: a header, CRLF line ends, quotes where needed, lists joined by
//! newlines, and on request cells made safe for spreadsheets.

use std::path::Path;

use polars::prelude::*;

use crate::error::Result;
use crate::sinks::write_staged;
use crate::table::TextColumn;

/// How CSV files are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsvOptions {
    /// For files opened in Excel or another spreadsheet: a text cell that starts with `=`, `+`, `-`,
    /// `@`, a tab or a carriage return gets a leading `'`, so it is shown, not run as a formula
    /// (OWASP's advice on CSV injection), and the file starts with a UTF-8 byte order mark, so Excel
    /// reads it as UTF-8. Off by default: the default CSV is the data unaltered.
    pub excel_safe: bool,
}

/// Writes `frame` to `path`; list columns become newline-joined text (CSV has no lists).
pub fn write(frame: &DataFrame, path: &Path, options: CsvOptions) -> Result<()> {
    write_staged(path, |file| {
        let mut flat = with_lists_joined(frame).map_err(|e| e.to_string())?;
        if options.excel_safe {
            flat = with_formulas_neutralised(&flat).map_err(|e| e.to_string())?;
        }
        CsvWriter::new(file)
            .include_bom(options.excel_safe)
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
            // Rows of one capability repeat its references: a joined list equal to the one before
            // it is stored once ([`TextColumn`]).
            let mut joined = TextColumn::with_capacity(lists.len());
            let mut text = String::new();
            for items in lists.amortized_iter() {
                let Some(items) = items else {
                    joined.push(None);
                    continue;
                };
                text.clear();
                for (n, item) in items.as_ref().str()?.iter().flatten().enumerate() {
                    if n > 0 {
                        text.push('\n');
                    }
                    text.push_str(item);
                }
                joined.push(Some(&text));
            }
            flat.replace(column.name(), joined.finish(column.name()))?;
        }
    }
    Ok(flat)
}

/// A spreadsheet runs a cell that starts with one of these as a formula.
fn starts_a_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

fn with_formulas_neutralised(frame: &DataFrame) -> PolarsResult<DataFrame> {
    let mut safe = frame.clone();
    for column in frame.columns() {
        if column.dtype() != &DataType::String {
            continue;
        }
        let texts = column.str()?;
        if !texts.iter().flatten().any(starts_a_formula) {
            continue;
        }
        let neutralised: Vec<Option<String>> = texts
            .iter()
            .map(|cell| {
                cell.map(|text| match starts_a_formula(text) {
                    true => format!("'{text}"),
                    false => text.to_string(),
                })
            })
            .collect();
        safe.replace(column.name(), Series::new(column.name().clone(), neutralised).into())?;
    }
    Ok(safe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_safe_cells_never_start_a_formula() {
        let frame = DataFrame::new(
            5,
            vec![Series::new(
                "comments".into(),
                [
                    Some("=HYPERLINK(\"x\")"),
                    Some("-1+2"),
                    Some("@SUM(A1)"),
                    Some("plain - text"),
                    None,
                ],
            )
            .into()],
        )
        .unwrap();
        let safe = with_formulas_neutralised(&frame).unwrap();
        let cells: Vec<Option<&str>> = safe.column("comments").unwrap().str().unwrap().iter().collect();
        assert_eq!(
            cells,
            [
                Some("'=HYPERLINK(\"x\")"),
                Some("'-1+2"),
                Some("'@SUM(A1)"),
                Some("plain - text"),
                None
            ]
        );
        assert!(!starts_a_formula("\u{a0}=1"));
        assert!(starts_a_formula("\tx") && starts_a_formula("\rx") && starts_a_formula("+x"));
    }
}
