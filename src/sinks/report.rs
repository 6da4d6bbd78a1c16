//! The run report: what was read, skipped, rejected, superseded and collapsed, per dataset; written as
//! `report.json` (deterministic: no clock, no host) and printed as a short summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::model::{DatasetKey, SourceKind};
use crate::sinks::write_atomically;
use crate::sources::RejectedRow;
use crate::transforms::dedupe::DedupeCounts;
use crate::transforms::select::DatasetSource;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub tool: String,
    pub inputs: InputCounts,
    pub totals: Totals,
    pub datasets: Vec<DatasetReport>,
    pub skipped: Vec<SkippedInput>,
    pub rejected: Vec<RejectedRow>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InputCounts {
    pub files: usize,
    pub read: usize,
    pub skipped: usize,
    pub by_kind: BTreeMap<SourceKind, usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Rows read from every input, selected or not.
    pub rows_read: usize,
    /// Rows of sources that supplied their dataset.
    pub source_rows: usize,
    /// Rows of less complete sources of a dataset, used only to cross-check.
    pub superseded_rows: usize,
    pub rejected_rows: usize,
    pub mappings: usize,
    pub repeats_collapsed: usize,
    pub exact_duplicates: usize,
    pub differing_repeats: usize,
    pub score_conflicts: usize,
    pub non_mappable: usize,
    /// Datasets supplied by a landing page the site cut: incomplete.
    pub incomplete_datasets: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetReport {
    pub dataset: String,
    #[serde(flatten)]
    pub key: DatasetKey,
    pub complete: bool,
    pub source: DatasetSource,
    pub counts: DedupeCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedInput {
    pub path: String,
    pub reason: String,
}

impl Report {
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomically(path, |file| {
            serde_json::to_writer_pretty(&mut *file, self).map_err(|e| e.to_string())?;
            std::io::Write::write_all(file, b"\n").map_err(|e| e.to_string())
        })
    }

    /// Whether anything needs a person's attention: skipped inputs, rejected rows or incomplete datasets.
    pub fn has_warnings(&self) -> bool {
        !self.skipped.is_empty() || !self.rejected.is_empty() || self.totals.incomplete_datasets > 0
    }

    /// The few lines a person reads after a run.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let t = &self.totals;
        let _ = writeln!(
            out,
            "read {} files ({} skipped): {} rows, {} supplied their dataset, {} superseded by a more complete source, {} rejected",
            self.inputs.files, self.inputs.skipped, t.rows_read, t.source_rows, t.superseded_rows, t.rejected_rows
        );
        for dataset in &self.datasets {
            let c = &dataset.counts;
            let _ = writeln!(
                out,
                "  {:<50} {:>6} rows from {:<15} -> {:>6} mappings ({} repeats collapsed: {} exact, {} differing; {} score conflicts; {} non-mappable){}",
                dataset.dataset,
                c.source_rows,
                dataset.source.source_kind.as_str(),
                c.mappings,
                c.repeats_collapsed,
                c.exact_duplicates,
                c.differing_repeats,
                c.score_conflicts,
                c.non_mappable,
                match dataset.source.cut {
                    Some(cut) => format!(" INCOMPLETE: landing page shows {} of {}", cut.shown, cut.total),
                    None => String::new(),
                }
            );
        }
        let _ = writeln!(
            out,
            "total: {} mappings from {} source rows ({} repeats collapsed, {} non-mappable)",
            t.mappings, t.source_rows, t.repeats_collapsed, t.non_mappable
        );
        for skipped in &self.skipped {
            let _ = writeln!(out, "skipped {}: {}", skipped.path, skipped.reason);
        }
        for rejected in &self.rejected {
            let _ = writeln!(
                out,
                "rejected {} {}: {}",
                rejected.source, rejected.element, rejected.reason
            );
        }
        out
    }
}
