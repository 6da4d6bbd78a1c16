//! The outputs of a build, written side by side into a staging directory and published whole.

use std::path::Path;

use polars::prelude::{DataFrame, ParquetReader, SerReader};

use super::{
    timed, Build, Format, CSV_FILE, GAPS_FILE, HEATMAPS_DIR, NAVIGATOR_DIR, PARQUET_FILE, REPORT_FILE, REVIEW_FILE,
    STIX_DIR, WAREHOUSE_DIR,
};
use crate::changes::Changes;
use crate::error::{Error, Result};
use crate::fs::create_dir;
use crate::publish;
use crate::sinks::csv::CsvOptions;
use crate::sinks::heatmap::HeatmapCounts;
use crate::sinks::navigator::LayerCounts;
use crate::sinks::report_html::{Page, RunFacts};
use crate::sinks::stix::{BundleCounts, Versioning};
use crate::sinks::warehouse::WarehouseFile;
use crate::sinks::{self, report::Exports};
use crate::sources::attack_stix::AttackCatalog;
use crate::transforms::{carry, gaps};

/// What `write_outputs` writes, and how.
pub struct OutputOptions<'a> {
    pub formats: &'a [Format],
    /// The ATT&CK catalogue the STIX bundles and the warehouse resolve techniques with.
    pub attack: &'a AttackCatalog,
    pub csv: CsvOptions,
    /// How the STIX objects whose content changed since the previous run are dated.
    pub versioning: Versioning,
}

/// Writes the outputs as a whole: into a staging directory beside `out`, seeded with the previous
/// outputs (so the formats not asked for and the change feed stay), then swapped into place. A
/// failure midway leaves `out` exactly as it was. The caller holds the lock ([`publish::Lock`]).
pub fn publish_outputs(build: &mut Build, options: &OutputOptions, out: &Path) -> Result<()> {
    publish::check_out_is_ours(out)?;
    publish::remove_stale_staging(out);
    let staging = publish::staging_for(out);
    let _ = std::fs::remove_dir_all(&staging);
    let written = (|| {
        if out.is_dir() {
            publish::link_tree(out, &staging)?;
        }
        write_outputs(build, options, &staging)?;
        let changes = timed("changes since the last publish", || {
            crate::refresh::compare_listing(
                published_table(out).as_ref(),
                &build.frame,
                sinks::report_html::LISTED_CHANGES,
            )
        })?;
        let warnings = build.report.has_warnings();
        let run = RunFacts {
            command: "build",
            exit_status: if warnings { 3 } else { 0 },
            warnings: build.report.warnings(),
            refresh: None,
        };
        timed("report page", || {
            sinks::report_html::write(&build.report_page(&run, &changes, options.attack), &staging)
        })?;
        publish::swap_into_place(&staging, out)
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    written
}

impl Build {
    /// The report page of this build's run.
    pub fn report_page<'a>(&'a self, run: &'a RunFacts, changes: &'a Changes, attack: &'a AttackCatalog) -> Page<'a> {
        Page {
            report: &self.report,
            run,
            changes,
            frame: &self.frame,
            tactic_charts: &self.tactic_charts,
            attack,
            review: &self.review,
        }
    }
}

/// The table `out` holds, if it holds one that reads: the previous publish, to compare with.
pub fn published_table(out: &Path) -> Option<DataFrame> {
    let file = std::fs::File::open(out.join(PARQUET_FILE)).ok()?;
    ParquetReader::new(file).finish().ok()
}

/// Writes every output into `out`, each file atomically: the table as CSV and Parquet, STIX bundles
/// in `stix/`, Navigator layers in `navigator/`, the warehouse dataset in `warehouse/`, and last the
/// report, which lists the exports. Files of earlier runs that this run did not write are removed
/// from `stix/`, `navigator/` and the warehouse's tables (its change feed is kept).
pub fn write_outputs(build: &mut Build, options: &OutputOptions, out: &Path) -> Result<()> {
    let OutputOptions {
        formats,
        attack,
        csv,
        versioning,
    } = options;
    let csv = *csv;
    create_dir(out)?;
    let mut all_rows = Vec::new();
    let mut all_gaps = Vec::new();
    build.make_datasets(attack, &|_| Ok(()), |dataset, ()| {
        all_rows.extend(dataset.rows);
        all_gaps.extend(dataset.gaps);
        Ok(())
    })?;
    let wanted = |format: Format| formats.contains(&format);
    // First the sinks that read the rows, side by side (each also spreads its own work over the
    // cores); then the rows become the table and are let go; then the sinks that read the table,
    // side by side. The rows and the table are never held together with every sink's own memory.
    // Each sink's time is logged at debug level (`-vv`).
    let built: &Build = build;
    let mut lists: Result<()> = Ok(());
    let mut stix: Result<Option<Vec<BundleCounts>>> = Ok(None);
    let mut navigator: Result<Option<(Vec<LayerCounts>, Vec<HeatmapCounts>)>> = Ok(None);
    let mut warehouse_tables: Result<Option<Vec<WarehouseFile>>> = Ok(None);
    rayon::scope(|scope| {
        scope.spawn(|_| {
            lists = timed("gaps, review and derived mapping files", || {
                if wanted(Format::Csv) {
                    sinks::csv::write(&gaps::frame(&all_gaps)?, &out.join(GAPS_FILE), csv)?;
                    let review = out.join(REVIEW_FILE);
                    if built.report.carry.is_some() {
                        sinks::csv::write(&carry::review_frame(&built.review)?, &review, csv)?;
                    } else if review.exists() {
                        // A review list of an earlier run with --carry-to: this run derived nothing.
                        std::fs::remove_file(&review).map_err(|e| Error::WriteOutput {
                            path: review.clone(),
                            reason: format!("removing a stale export: {e}"),
                        })?;
                    }
                }
                // The derived datasets as mapping files of the unified schema, for their maintainers.
                let derived = out.join(sinks::mapping_file::DERIVED_DIR);
                if built.report.carry.is_some() {
                    create_dir(&derived)?;
                    let files = sinks::mapping_file::write_all(&all_rows, &derived)?;
                    remove_others(&derived, "json", files.iter().map(String::as_str))?;
                } else if derived.is_dir() {
                    remove_others(&derived, "json", std::iter::empty())?;
                }
                Ok(())
            })
        });
        scope.spawn(|_| {
            stix = timed("stix", || {
                if !wanted(Format::Stix) {
                    return Ok(None);
                }
                let stix_dir = out.join(STIX_DIR);
                create_dir(&stix_dir)?;
                let written = sinks::stix::write_all(&all_rows, attack, &stix_dir, versioning)?;
                let revoked = (written.revoked_bundle_objects > 0).then_some(sinks::stix::revoked::REVOKED_BUNDLE);
                remove_others(
                    &stix_dir,
                    "json",
                    written.bundles.iter().map(|b| b.file.as_str()).chain(revoked),
                )?;
                sinks::stix::ledger::write(&written.ledger, &out.join(sinks::stix::ledger::LEDGER_FILE))?;
                Ok(Some(written.bundles))
            })
        });
        scope.spawn(|_| {
            navigator = timed("navigator and heatmaps", || {
                if !wanted(Format::Navigator) {
                    return Ok(None);
                }
                let navigator_dir = out.join(NAVIGATOR_DIR);
                create_dir(&navigator_dir)?;
                let heatmaps_dir = out.join(HEATMAPS_DIR);
                create_dir(&heatmaps_dir)?;
                let draw =
                    |file: &str, layer: &serde_json::Value| sinks::heatmap::write(file, layer, attack, &heatmaps_dir);
                let (layers, heatmaps): (Vec<LayerCounts>, Vec<HeatmapCounts>) =
                    sinks::navigator::write_all(&all_rows, &built.review, &navigator_dir, &draw)?
                        .into_iter()
                        .unzip();
                remove_others(&navigator_dir, "json", layers.iter().map(|l| l.file.as_str()))?;
                remove_others(&heatmaps_dir, "svg", heatmaps.iter().map(|h| h.file.as_str()))?;
                Ok(Some((layers, heatmaps)))
            })
        });
        scope.spawn(|_| {
            warehouse_tables = timed("warehouse tables", || {
                if !wanted(Format::Warehouse) {
                    return Ok(None);
                }
                let contents = sinks::warehouse::Contents {
                    rows: &all_rows,
                    gaps: &all_gaps,
                    review: &built.review,
                };
                sinks::warehouse::write_tables(contents, attack, &out.join(WAREHOUSE_DIR)).map(Some)
            })
        });
    });
    lists?;
    let (stix, navigator, warehouse_tables) = (stix?, navigator?, warehouse_tables?);
    build.tactic_charts = sinks::report_html::tactic_charts(&all_rows, attack);
    build.frame = timed("table", || crate::table::to_dataframe(&all_rows))?;
    build.table_rows = build.frame.height();
    drop(all_rows);

    let built: &Build = build;
    let mut table: Result<()> = Ok(());
    let mut warehouse_mappings: Result<Option<Vec<WarehouseFile>>> = Ok(None);
    rayon::scope(|scope| {
        scope.spawn(|_| {
            table = timed("csv and parquet", || {
                if wanted(Format::Csv) {
                    sinks::csv::write(&built.frame, &out.join(CSV_FILE), csv)?;
                }
                if wanted(Format::Parquet) {
                    sinks::parquet::write(&built.frame, &out.join(PARQUET_FILE))?;
                }
                Ok(())
            })
        });
        scope.spawn(|_| {
            warehouse_mappings = timed("warehouse mappings", || {
                if !wanted(Format::Warehouse) {
                    return Ok(None);
                }
                sinks::warehouse::write_mappings(&built.frame, &out.join(WAREHOUSE_DIR)).map(Some)
            })
        });
    });
    table?;
    // The warehouse's files as it lists them: the mappings dataset's partitions, then its tables.
    let warehouse = match (warehouse_mappings?, warehouse_tables) {
        (Some(mut mappings), Some(tables)) => {
            mappings.extend(tables);
            mappings
        }
        _ => Vec::new(),
    };
    let (layers, heatmaps) = navigator.unwrap_or_default();
    build.report.exports = Exports {
        attack_bundles: attack.bundles.iter().map(|b| b.path.display().to_string()).collect(),
        stix: stix.unwrap_or_default(),
        navigator: layers,
        heatmaps,
        warehouse,
    };
    timed("report", || build.report.write(&out.join(REPORT_FILE)))
}

/// Removes the `.{extension}` files of `dir` that are not in `keep`: exports of datasets no longer built.
fn remove_others<'a>(dir: &Path, extension: &str, keep: impl Iterator<Item = &'a str>) -> Result<()> {
    let keep: std::collections::BTreeSet<&str> = keep.collect();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::WriteOutput {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(&format!(".{extension}")) && !keep.contains(name.as_str()) {
            std::fs::remove_file(entry.path()).map_err(|e| Error::WriteOutput {
                path: entry.path(),
                reason: format!("removing a stale export: {e}"),
            })?;
        }
    }
    Ok(())
}
