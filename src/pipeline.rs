//! The build: inputs → sources → select → dedupe → table → sinks, with the report of what happened.

use std::path::{Path, PathBuf};

use polars::prelude::DataFrame;

use crate::error::{Error, Result};
use crate::model::MappingRow;
use crate::sinks::{self, report::*};
use crate::sources::{self, Input, Outcome};
use crate::table;
use crate::transforms::{dedupe, select};

/// The file names `build` writes into its output directory.
pub const CSV_FILE: &str = "mappings.csv";
pub const PARQUET_FILE: &str = "mappings.parquet";
pub const REPORT_FILE: &str = "report.json";

/// The table and the report of how it was made.
pub struct Build {
    pub rows: Vec<MappingRow>,
    pub frame: DataFrame,
    pub report: Report,
}

/// Reads every input (files, or directories walked recursively) and builds the table.
pub fn build(inputs: &[PathBuf]) -> Result<Build> {
    let files = sources::discover(inputs)?;
    let read = sources::read_all(&files)?;
    build_from(&read)
}

/// Builds the table from inputs already read. Pure: no I/O.
pub fn build_from(inputs: &[Input]) -> Result<Build> {
    let mut counts = InputCounts {
        files: inputs.len(),
        ..InputCounts::default()
    };
    let mut skipped = Vec::new();
    let mut rejected = Vec::new();
    let mut selectable = Vec::new();
    let sources: Vec<String> = inputs.iter().map(|i| i.path.display().to_string()).collect();
    for (input, source) in inputs.iter().zip(&sources) {
        match &input.outcome {
            Outcome::Skipped(reason) => skipped.push(SkippedInput {
                path: source.clone(),
                reason: reason.clone(),
            }),
            Outcome::Parsed(parsed) => {
                *counts.by_kind.entry(parsed.kind).or_default() += 1;
                rejected.extend(parsed.rejected.iter().cloned());
                selectable.push(select::InputRows {
                    source,
                    kind: parsed.kind,
                    cut: parsed.cut,
                    rows: &parsed.rows,
                });
            }
        }
    }
    counts.skipped = skipped.len();
    counts.read = inputs.len() - skipped.len();
    let rows_read: usize = selectable.iter().map(|i| i.rows.len()).sum();

    let selection = select::select(&selectable);
    let deduplicated = dedupe::dedupe(selection.rows);
    let frame = table::to_dataframe(&deduplicated.rows)?;

    let mut totals = Totals {
        rows_read,
        rejected_rows: rejected.len(),
        ..Totals::default()
    };
    let mut datasets = Vec::new();
    for (key, source) in selection.datasets {
        let counts = deduplicated.counts.get(&key).cloned().unwrap_or_default();
        totals.source_rows += counts.source_rows;
        totals.mappings += counts.mappings;
        totals.repeats_collapsed += counts.repeats_collapsed;
        totals.exact_duplicates += counts.exact_duplicates;
        totals.differing_repeats += counts.differing_repeats;
        totals.score_conflicts += counts.score_conflicts;
        totals.non_mappable += counts.non_mappable;
        totals.incomplete_datasets += usize::from(source.cut.is_some());
        datasets.push(DatasetReport {
            dataset: key.to_string(),
            complete: source.cut.is_none(),
            key,
            source,
            counts,
        });
    }
    totals.superseded_rows = rows_read - totals.source_rows;

    Ok(Build {
        rows: deduplicated.rows,
        frame,
        report: Report {
            tool: format!("attackmap {}", env!("CARGO_PKG_VERSION")),
            inputs: counts,
            totals,
            datasets,
            skipped,
            rejected,
        },
    })
}

/// Writes the CSV, Parquet and report files into `out`, each atomically.
pub fn write_outputs(build: &Build, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| Error::WriteOutput {
        path: out.to_path_buf(),
        reason: e.to_string(),
    })?;
    sinks::csv::write(&build.frame, &out.join(CSV_FILE))?;
    sinks::parquet::write(&build.frame, &out.join(PARQUET_FILE))?;
    build.report.write(&out.join(REPORT_FILE))
}
