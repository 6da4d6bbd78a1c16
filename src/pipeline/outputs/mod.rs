//! The outputs of a build, written side by side into a staging directory and published whole.

mod appenders;
mod write;

pub use write::write_outputs;

use std::path::Path;

use polars::prelude::{DataFrame, ParquetReader, SerReader};

use super::{timed, Build, Format, PARQUET_FILE};
use crate::changes::Changes;
use crate::error::{Error, Result};
use crate::publish;
use crate::sinks;
use crate::sinks::csv::CsvOptions;
use crate::sinks::report_html::{Page, RunFacts};
use crate::sinks::stix::Versioning;
use crate::sources::attack_stix::AttackCatalog;

/// The table's Parquet file when `mappings.parquet` is not an output: read for the changes since the
/// last publish, then removed.
const SCRATCH_TABLE: &str = ".table.parquet";

/// What `write_outputs` writes, and how.
pub struct OutputOptions<'a> {
    pub formats: &'a [Format],
    /// The ATT&CK catalogue the STIX bundles and the warehouse resolve techniques with.
    pub attack: &'a AttackCatalog,
    pub csv: CsvOptions,
    /// How the STIX objects whose content changed since the previous run are dated.
    pub versioning: Versioning,
}

/// Writes the outputs as a whole into `staging` (seeded with the previous outputs, so the formats
/// not asked for and the change feed stay), then swaps it into place. A failure midway leaves `out`
/// exactly as it was. The caller holds the lock ([`publish::Lock`]).
pub fn publish_outputs(build: &mut Build, options: OutputOptions, staging: publish::Staging) -> Result<()> {
    let (formats, attack) = (options.formats, options.attack);
    let (out, dir) = (staging.out(), staging.dir());
    write_outputs(build, options, dir)?;
    // A table kept as it was published (its staging link untouched: the same file) holds the
    // previous publish's bytes: nothing changed, and neither table is read.
    let kept = crate::fs::same_file(&build.table_file(dir, formats), &out.join(PARQUET_FILE));
    let table = (!kept).then(|| build.stored_table(dir, formats)).transpose()?;
    let changes = match &table {
        None => Changes::default(),
        Some(table) => {
            // A build only lists its changes in report.html: an unreadable previous table is said,
            // and the build goes on (it replaces that table).
            let previous = published_table(out).unwrap_or_else(|e| {
                tracing::warn!("{e}: report.html lists no changes since it");
                None
            });
            timed("changes since the last publish", || {
                crate::refresh::compare_listing(
                    previous.as_ref().map(|p| p as &dyn crate::table::Columns),
                    table,
                    sinks::report_html::LISTED_CHANGES,
                )
            })?
        }
    };
    let warnings = build.report.has_warnings();
    let run = RunFacts {
        command: "build",
        exit_status: if warnings { 3 } else { 0 },
        warnings: build.report.warnings(),
        refresh: None,
    };
    // Without changes no row is looked up: a kept table is not read for the page either.
    let unread = DataFrame::empty();
    let rows: &dyn crate::table::Columns = match &table {
        Some(table) => table,
        None => &unread,
    };
    timed("report page", || {
        sinks::report_html::write(&build.report_page(&run, &changes, rows, attack), dir)
    })?;
    drop(table);
    let scratch = dir.join(SCRATCH_TABLE);
    if scratch.exists() {
        std::fs::remove_file(&scratch).map_err(|e| Error::WriteOutput {
            path: scratch,
            reason: format!("removing the table read for the changes: {e}"),
        })?;
    }
    timed("published", || staging.publish())
}

impl Build {
    /// The datasets the build makes: those chosen, and those `--carry-to` derives.
    fn datasets_made(&self) -> Vec<crate::model::DatasetKey> {
        let derived = self.carry.iter().flatten().flat_map(|(_, plan)| &plan.derivations);
        self.chosen
            .iter()
            .chain(derived.map(|derivation| &derivation.derived))
            .cloned()
            .collect()
    }

    /// Whether the build derives datasets (`--carry-to`).
    pub fn carries(&self) -> bool {
        self.carry.is_some()
    }

    /// Where the table is written as Parquet: `mappings.parquet` when it is an output, else a file of
    /// its own that the changes since the last publish are read from (removed before publishing).
    fn table_file(&self, out: &Path, formats: &[Format]) -> std::path::PathBuf {
        match formats.contains(&Format::Parquet) {
            true => out.join(PARQUET_FILE),
            false => out.join(SCRATCH_TABLE),
        }
    }

    /// The table as written by [`write_outputs`] into `out`, read a column at a time when large.
    pub fn stored_table(&self, out: &Path, formats: &[Format]) -> Result<crate::table::StoredTable> {
        let path = self.table_file(out, formats);
        crate::table::StoredTable::open(&path).map_err(|e| Error::ReadOutput {
            path,
            reason: e.to_string(),
        })
    }

    /// The table as written by [`write_outputs`] into `out`.
    pub fn written_table(&self, out: &Path, formats: &[Format]) -> Result<DataFrame> {
        let path = self.table_file(out, formats);
        let file = std::fs::File::open(&path).map_err(|e| Error::ReadOutput {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        ParquetReader::new(file).finish().map_err(|e| Error::ReadOutput {
            path,
            reason: e.to_string(),
        })
    }

    /// The report page of this build's run.
    pub fn report_page<'a>(
        &'a self,
        run: &'a RunFacts,
        changes: &'a Changes,
        table: &'a dyn crate::table::Columns,
        attack: &'a AttackCatalog,
    ) -> Page<'a> {
        Page {
            report: &self.report,
            run,
            changes,
            frame: table,
            tactic_charts: &self.tactic_charts,
            attack,
            review: &self.review,
        }
    }
}

/// The table `out` holds, if it holds one: the previous publish, to compare with, read a column at a
/// time when large. A table that is there but does not read is an error, never "no previous
/// publish": that would list every row as added and guard no removal.
pub fn published_table(out: &Path) -> Result<Option<crate::table::StoredTable>> {
    let path = out.join(PARQUET_FILE);
    if !path.exists() {
        return Ok(None);
    }
    crate::table::StoredTable::open(&path)
        .map(Some)
        .map_err(|e| Error::ReadPublished {
            reason: format!(
                "{e}; it is the previous publish this run compares with (remove it to publish as a first run)"
            ),
            path,
        })
}
