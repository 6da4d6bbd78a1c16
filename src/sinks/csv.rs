//! Writes a table as RFC 4180 CSV: a header, CRLF line ends, quotes where needed, lists joined by
//! newlines, and on request cells made safe for spreadsheets.

use std::path::Path;

use polars::prelude::*;

use crate::error::Result;
use crate::fs::StagedFile;
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
    let mut appender = Appender::new(path, frame.schema(), options)?;
    appender.append(frame)?;
    appender.finish()
}

/// Writes a CSV file a chunk of rows at a time, with the bytes [`write`] gives the chunks
/// concatenated: the byte order mark and the header once, then each chunk's rows as they come. The
/// file is staged: it appears at its path at [`Appender::finish`], and an appender dropped before
/// (an error, a chunk that does not fit) leaves the path as it was. Nothing is buffered between
/// chunks but the file's write buffer.
pub struct Appender {
    file: StagedFile,
    schema: SchemaRef,
    options: CsvOptions,
}

impl Appender {
    /// Starts the file at `path` for frames of `schema`: the byte order mark (when excel-safe) and
    /// the header are written now, so a table without rows is still its header.
    pub fn new(path: &Path, schema: &SchemaRef, options: CsvOptions) -> Result<Appender> {
        let mut appender = Appender {
            file: StagedFile::create(path)?,
            schema: schema.clone(),
            options,
        };
        let header_only = DataFrame::empty_with_schema(schema);
        appender.write_rows(&header_only, Start::WithHeader)?;
        Ok(appender)
    }

    /// Writes the rows of `chunk`, whose columns must be the file's (names, types, order).
    pub fn append(&mut self, chunk: &DataFrame) -> Result<()> {
        if chunk.schema() != &self.schema {
            return Err(self.file.failed(format!(
                "a chunk's columns {:?} are not the file's {:?}",
                chunk.get_column_names(),
                self.schema.iter_names().collect::<Vec<_>>()
            )));
        }
        self.write_rows(chunk, Start::RowsOnly)
    }

    /// Completes the file and puts it at its path.
    pub fn finish(self) -> Result<()> {
        self.file.put_in_place()
    }

    fn write_rows(&mut self, frame: &DataFrame, start: Start) -> Result<()> {
        let written = (|| {
            let mut flat = with_lists_joined(frame)?;
            if self.options.excel_safe {
                flat = with_formulas_neutralised(&flat)?;
            }
            let with_header = start == Start::WithHeader;
            CsvWriter::new(&mut self.file)
                .include_bom(with_header && self.options.excel_safe)
                .include_header(with_header)
                .with_line_terminator("\r\n".into())
                .with_quote_style(QuoteStyle::Necessary)
                .finish(&mut flat)
        })();
        written.map_err(|e| self.file.failed(e))
    }
}

/// What a write of rows starts with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    /// The file's start: the byte order mark (when excel-safe) and the header.
    WithHeader,
    RowsOnly,
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
    use crate::model::DatasetKey;
    use crate::table::to_dataframe;
    use crate::test_support::{cut, varied_rows};
    use crate::transforms::gaps::{self, Gap};

    /// The bytes `write` gave before appenders: the whole frame in one call of Polars' writer.
    fn written_whole_by_polars(frame: &DataFrame, options: CsvOptions) -> Vec<u8> {
        let mut flat = with_lists_joined(frame).unwrap();
        if options.excel_safe {
            flat = with_formulas_neutralised(&flat).unwrap();
        }
        let mut bytes = Vec::new();
        CsvWriter::new(&mut bytes)
            .include_bom(options.excel_safe)
            .include_header(true)
            .with_line_terminator("\r\n".into())
            .with_quote_style(QuoteStyle::Necessary)
            .finish(&mut flat)
            .unwrap();
        bytes
    }

    /// The file an appender writes of `chunks`, in order.
    fn appended(chunks: &[DataFrame], schema: &SchemaRef, options: CsvOptions) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mappings.csv");
        let mut appender = Appender::new(&path, schema, options).unwrap();
        for chunk in chunks {
            appender.append(chunk).unwrap();
        }
        appender.finish().unwrap();
        std::fs::read(&path).unwrap()
    }

    const PLAIN: CsvOptions = CsvOptions { excel_safe: false };
    const EXCEL_SAFE: CsvOptions = CsvOptions { excel_safe: true };

    #[test]
    fn the_table_appended_a_dataset_at_a_time_is_the_table_written_whole() {
        let rows = varied_rows(5_000);
        let whole = to_dataframe(&rows).unwrap();
        // One chunk per dataset, as the build appends them, each built from its own rows.
        let datasets = rows.chunk_by(|a, b| a.framework == b.framework);
        let chunks: Vec<DataFrame> = datasets.map(|rows| to_dataframe(rows).unwrap()).collect();
        assert_eq!(chunks.len(), 3);
        for options in [PLAIN, EXCEL_SAFE] {
            let bytes = appended(&chunks, whole.schema(), options);
            assert_eq!(bytes, written_whole_by_polars(&whole, options), "{options:?}");
            assert_eq!(bytes.starts_with("\u{feff}".as_bytes()), options.excel_safe);
        }
        let text = String::from_utf8(appended(&chunks, whole.schema(), EXCEL_SAFE)).unwrap();
        assert_eq!(text.matches("mapping_id,framework,").count(), 1, "one header");
        assert!(text.contains("\"'=SUM(A1)\"") || text.contains(",'=SUM(A1),"));
    }

    #[test]
    fn chunks_of_any_size_give_the_same_bytes_and_write_is_one_chunk() {
        let whole = to_dataframe(&varied_rows(3_000)).unwrap();
        for options in [PLAIN, EXCEL_SAFE] {
            let chunks = cut(&whole, &[1, 0, 1_500, 2]);
            assert_eq!(
                appended(&chunks, whole.schema(), options),
                written_whole_by_polars(&whole, options)
            );
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("mappings.csv");
            write(&whole, &path, options).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), written_whole_by_polars(&whole, options));
        }
    }

    #[test]
    fn the_gaps_appended_a_dataset_at_a_time_are_the_gaps_written_whole() {
        let gap = |framework: &str, technique: usize| Gap {
            dataset: DatasetKey {
                framework: framework.into(),
                framework_version: "v1".into(),
                attack_version: "16.1".into(),
                domain: "enterprise".into(),
            },
            technique_id: format!("T{technique}"),
            technique_name: format!("Name, with \"quotes\" {technique}"),
            tactics: (0..technique % 3).map(|t| format!("tactic-{t}")).collect(),
        };
        let aws: Vec<Gap> = (0..40).map(|n| gap("aws", n)).collect();
        let nist: Vec<Gap> = (0..900).map(|n| gap("nist_800_53", n)).collect();
        let all: Vec<Gap> = aws.iter().chain(&nist).cloned().collect();
        let whole = gaps::frame(&all).unwrap();
        let chunks = [
            gaps::frame(&aws).unwrap(),
            gaps::frame(&[]).unwrap(),
            gaps::frame(&nist).unwrap(),
        ];
        for options in [PLAIN, EXCEL_SAFE] {
            assert_eq!(
                appended(&chunks, whole.schema(), options),
                written_whole_by_polars(&whole, options)
            );
        }
    }

    #[test]
    fn a_table_without_rows_is_its_header() {
        let empty = to_dataframe(&[]).unwrap();
        for options in [PLAIN, EXCEL_SAFE] {
            let bytes = appended(&[], empty.schema(), options);
            assert_eq!(bytes, written_whole_by_polars(&empty, options));
            assert!(String::from_utf8(bytes).unwrap().ends_with(",attack_changes\r\n"));
        }
    }

    #[test]
    fn an_appender_is_written_from_whichever_thread_holds_it() {
        let whole = to_dataframe(&varied_rows(100)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mappings.csv");
        let mut appender = Appender::new(&path, whole.schema(), EXCEL_SAFE).unwrap();
        std::thread::scope(|scope| scope.spawn(|| appender.append(&whole)).join().unwrap()).unwrap();
        std::thread::spawn(move || appender.finish()).join().unwrap().unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            written_whole_by_polars(&whole, EXCEL_SAFE)
        );
    }

    #[test]
    fn an_unfinished_file_is_never_left_and_the_previous_one_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gaps.csv");
        std::fs::write(&path, "the previous run's\r\n").unwrap();
        let table = to_dataframe(&varied_rows(10)).unwrap();

        let mut given_up = Appender::new(&path, table.schema(), PLAIN).unwrap();
        given_up.append(&table).unwrap();
        drop(given_up);

        let mut refused = Appender::new(&path, table.schema(), PLAIN).unwrap();
        let other = gaps::frame(&[]).unwrap();
        let error = refused.append(&other).unwrap_err().to_string();
        assert!(error.contains("gaps.csv") && error.contains("columns"), "{error}");
        drop(refused);

        assert_eq!(std::fs::read_to_string(&path).unwrap(), "the previous run's\r\n");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

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
