//! The outputs of a build, written side by side into a staging directory and published whole.

use std::path::Path;

use polars::prelude::{DataFrame, ParquetReader, SerReader};

use super::datasets::BuiltDataset;
use crate::model::MappingRow;

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

/// Writes the outputs as a whole: into a staging directory beside `out`, seeded with the previous
/// outputs (so the formats not asked for and the change feed stay), then swapped into place. A
/// failure midway leaves `out` exactly as it was. The caller holds the lock ([`publish::Lock`]).
pub fn publish_outputs(build: &mut Build, options: OutputOptions, out: &Path) -> Result<()> {
    let (formats, attack) = (options.formats, options.attack);
    publish::check_out_is_ours(out)?;
    publish::remove_stale_staging(out);
    let staging = publish::staging_for(out);
    let _ = std::fs::remove_dir_all(&staging);
    let written = (|| {
        if out.is_dir() {
            publish::link_tree(out, &staging)?;
        }
        write_outputs(build, options, &staging)?;
        let table = build.stored_table(&staging, formats)?;
        // A build only lists its changes in report.html: an unreadable previous table is said, and
        // the build goes on (it replaces that table).
        let previous = published_table(out).unwrap_or_else(|e| {
            tracing::warn!("{e}: report.html lists no changes since it");
            None
        });
        let changes = timed("changes since the last publish", || {
            crate::refresh::compare_listing(
                previous.as_ref().map(|p| p as &dyn crate::table::Columns),
                &table,
                sinks::report_html::LISTED_CHANGES,
            )
        })?;
        drop(previous);
        let warnings = build.report.has_warnings();
        let run = RunFacts {
            command: "build",
            exit_status: if warnings { 3 } else { 0 },
            warnings: build.report.warnings(),
            refresh: None,
        };
        timed("report page", || {
            sinks::report_html::write(&build.report_page(&run, &changes, &table, attack), &staging)
        })?;
        drop(table);
        let scratch = staging.join(SCRATCH_TABLE);
        if scratch.exists() {
            std::fs::remove_file(&scratch).map_err(|e| Error::WriteOutput {
                path: scratch,
                reason: format!("removing the table read for the changes: {e}"),
            })?;
        }
        publish::swap_into_place(&staging, out)
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    written
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

/// Writes every output into `out`, each file atomically, as the datasets are made one at a time
/// ([`Build::make_datasets`]): each dataset's STIX bundle, Navigator layers and heatmaps, warehouse
/// dimensions and (derived) mapping file as soon as it is made; its rows appended, in the table's
/// order, to the CSV and Parquet tables, the gaps and the warehouse's mappings dataset (each on its
/// own thread); then what needs every dataset (the ledger, `revoked.json`, the layers across
/// frameworks, the review list, the dimension tables) and last the report, which lists the exports.
/// Files of earlier runs that this run did not write are removed from `stix/`, `navigator/`,
/// `derived/` and the warehouse's tables (its change feed is kept).
pub fn write_outputs(build: &mut Build, options: OutputOptions, out: &Path) -> Result<()> {
    let OutputOptions {
        formats,
        attack,
        csv,
        versioning,
    } = options;

    create_dir(out)?;
    let wanted = |format: Format| formats.contains(&format);
    let dir = |name: &str| -> Result<std::path::PathBuf> {
        let dir = out.join(name);
        create_dir(&dir)?;
        Ok(dir)
    };
    let stix_dir = out.join(STIX_DIR);
    let stix = match wanted(Format::Stix) {
        true => Some(sinks::stix::Writer::new(attack, &dir(STIX_DIR)?, &versioning)),
        false => None,
    };
    let heatmaps_dir = out.join(HEATMAPS_DIR);
    let draw = |file: &str, layer: &serde_json::Value| sinks::heatmap::write(file, layer, attack, &heatmaps_dir);
    let navigator_dir = out.join(NAVIGATOR_DIR);
    let navigator = match wanted(Format::Navigator) {
        true => {
            dir(HEATMAPS_DIR)?;
            Some(sinks::navigator::Writer::new(&dir(NAVIGATOR_DIR)?, &draw))
        }
        false => None,
    };
    let warehouse_dir = out.join(WAREHOUSE_DIR);
    let tables = match wanted(Format::Warehouse) {
        true => Some(sinks::warehouse::TablesWriter::new(attack, &warehouse_dir)?),
        false => None,
    };
    let derived_dir = out.join(sinks::mapping_file::DERIVED_DIR);
    if build.carries() {
        create_dir(&derived_dir)?;
    }

    // What each dataset is written as on the thread that made it: its bundle's counts, its rows and
    // gaps as tables.
    let write = |dataset: &BuiltDataset| -> Result<(Option<BundleCounts>, DataFrame, DataFrame)> {
        let key = &dataset.report.key;
        let rows: Vec<&MappingRow> = dataset.rows.iter().collect();
        let bundle = stix.as_ref().map(|stix| stix.add_dataset(key, &rows)).transpose()?;
        if let Some(navigator) = &navigator {
            navigator.add_dataset(key, &rows)?;
        }
        if let Some(tables) = &tables {
            tables.add_dataset(key, &rows, &dataset.gaps.iter().collect::<Vec<_>>())?;
        }
        if let Some((_, report, _)) = &dataset.derived {
            let file = format!("{key}.json");
            let document = sinks::mapping_file::document(key, &report.derived_from, &rows);
            sinks::write_json(&crate::identifiers::file_in(&derived_dir, &file)?, &document)?;
        }
        Ok((
            bundle,
            crate::table::to_dataframe(&dataset.rows)?,
            gaps::frame(&dataset.gaps)?,
        ))
    };

    // The tables, appended in the table's order, each by its own thread.
    let schema = crate::table::to_dataframe(&[])?.schema().clone();
    let gaps_schema = gaps::frame(&[])?.schema().clone();
    let table_file = build.table_file(out, formats);
    let datasets_made = build.datasets_made();
    let mut bundles: Vec<BundleCounts> = Vec::new();
    let mut derived_files: Vec<String> = Vec::new();
    let mut charts = sinks::report_html::TacticCharts::default();
    let mut table_rows = 0;
    let warehouse_mappings = std::thread::scope(|scope| -> Result<Option<Vec<WarehouseFile>>> {
        let table_csv = wanted(Format::Csv).then(|| {
            on_its_own_thread(
                scope,
                || sinks::csv::Appender::new(&out.join(CSV_FILE), &schema, csv),
                sinks::csv::Appender::append,
                sinks::csv::Appender::finish,
            )
        });
        let gaps_csv = wanted(Format::Csv).then(|| {
            on_its_own_thread(
                scope,
                || sinks::csv::Appender::new(&out.join(GAPS_FILE), &gaps_schema, csv),
                sinks::csv::Appender::append,
                sinks::csv::Appender::finish,
            )
        });
        let parquet = on_its_own_thread(
            scope,
            || sinks::parquet::Appender::new(&table_file, &schema),
            sinks::parquet::Appender::append,
            sinks::parquet::Appender::finish,
        );
        let mappings = wanted(Format::Warehouse).then(|| {
            on_its_own_thread(
                scope,
                || sinks::warehouse::MappingsAppender::new(&warehouse_dir, &datasets_made),
                sinks::warehouse::MappingsAppender::append,
                sinks::warehouse::MappingsAppender::finish,
            )
        });
        let made = timed("datasets", || {
            build.make_datasets(attack, &write, |dataset, (bundle, table, gaps)| {
                let key = &dataset.report.key;
                charts.add(key, &dataset.rows, attack);
                bundles.extend(bundle);
                if dataset.report.derived_from.is_some() {
                    derived_files.push(format!("{key}.json"));
                }
                table_rows += table.height();
                if let Some((feed, _)) = &table_csv {
                    feed.send(table.clone());
                }
                if let Some((feed, _)) = &mappings {
                    feed.send(table.clone());
                }
                parquet.0.send(table);
                if let Some((feed, _)) = &gaps_csv {
                    feed.send(gaps);
                }
                Ok(())
            })
        });
        // Every feed is closed, then every table finished whatever came before, so that a table's own
        // error, not a closed feed, is told.
        let (table_csv, gaps_csv, parquet, mappings) = (
            table_csv.map(close),
            gaps_csv.map(close),
            close(parquet),
            mappings.map(close),
        );
        let table_csv = table_csv.map(Finishing::join).transpose();
        let gaps_csv = gaps_csv.map(Finishing::join).transpose();
        let (parquet, mappings) = (parquet.join(), mappings.map(Finishing::join).transpose());
        made?;
        table_csv?;
        gaps_csv?;
        parquet?;
        mappings
    })?;
    build.table_rows = table_rows;
    build.tactic_charts = charts.draw(attack);

    // What needs every dataset, side by side: the ledger and revoked.json, the layers across
    // frameworks and their heatmaps, the warehouse's dimension tables.
    let review = &build.review;
    let finish_stix = || {
        stix.map(|stix| -> Result<_> {
            let written = stix.finish()?;
            let revoked = (written.revoked_bundle_objects > 0).then_some(sinks::stix::revoked::REVOKED_BUNDLE);
            remove_others(
                &stix_dir,
                "json",
                bundles.iter().map(|b| b.file.as_str()).chain(revoked),
            )?;
            sinks::stix::ledger::write(&written.ledger, &out.join(sinks::stix::ledger::LEDGER_FILE))?;
            Ok(bundles)
        })
        .transpose()
    };
    let finish_navigator = || {
        navigator
            .map(|navigator| -> Result<_> {
                let (layers, heatmaps): (Vec<LayerCounts>, Vec<HeatmapCounts>) =
                    navigator.finish(review)?.into_iter().unzip();
                remove_others(&navigator_dir, "json", layers.iter().map(|l| l.file.as_str()))?;
                remove_others(&heatmaps_dir, "svg", heatmaps.iter().map(|h| h.file.as_str()))?;
                Ok((layers, heatmaps))
            })
            .transpose()
    };
    let finish_warehouse = || -> Result<Vec<WarehouseFile>> {
        Ok(match (warehouse_mappings, tables) {
            (Some(mut files), Some(tables)) => {
                // The warehouse's files as it lists them: the mappings dataset's partitions, then its tables.
                files.extend(tables.finish(review)?);
                files
            }
            _ => Vec::new(),
        })
    };
    let (stix, (navigator, warehouse)) = timed("outputs across datasets", || {
        rayon::join(finish_stix, || rayon::join(finish_navigator, finish_warehouse))
    });
    // The previous ledger (an entry per object ever published) is done with.
    drop(versioning);
    let (stix, navigator, warehouse) = (stix?, navigator?, warehouse?);
    if build.carries() {
        remove_others(&derived_dir, "json", derived_files.iter().map(String::as_str))?;
    } else if derived_dir.is_dir() {
        remove_others(&derived_dir, "json", std::iter::empty())?;
    }
    if wanted(Format::Csv) {
        let review = out.join(REVIEW_FILE);
        if build.carries() {
            sinks::csv::write(&carry::review_frame(&build.review)?, &review, csv)?;
        } else if review.exists() {
            // A review list of an earlier run with --carry-to: this run derived nothing.
            std::fs::remove_file(&review).map_err(|e| Error::WriteOutput {
                path: review.clone(),
                reason: format!("removing a stale export: {e}"),
            })?;
        }
    }
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

/// The sending end of a table appended on its own thread.
struct Feed(std::sync::mpsc::SyncSender<DataFrame>);

impl Feed {
    /// Sends a chunk; a thread that stopped on an error says so when it is joined.
    fn send(&self, chunk: DataFrame) {
        let _ = self.0.send(chunk);
    }
}

/// Closes a table's feed: its thread finishes the table.
fn close<R>((feed, finishing): (Feed, Finishing<'_, R>)) -> Finishing<'_, R> {
    drop(feed);
    finishing
}

/// The thread appending a table, and what it gives once its feed is closed.
struct Finishing<'scope, R>(std::thread::ScopedJoinHandle<'scope, Result<R>>);

impl<R> Finishing<'_, R> {
    fn join(self) -> Result<R> {
        self.0.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

/// Appends the chunks sent to the returned feed, in order, on a thread of `scope`: `open` makes the
/// appender, `append` takes each chunk, `finish` completes the file once the feed is dropped.
fn on_its_own_thread<'scope, 'env, A: 'scope, R: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    open: impl FnOnce() -> Result<A> + Send + 'scope,
    append: fn(&mut A, &DataFrame) -> Result<()>,
    finish: fn(A) -> Result<R>,
) -> (Feed, Finishing<'scope, R>) {
    // Two chunks in flight at most: a slow writer holds the datasets back, not memory.
    let (sender, chunks) = std::sync::mpsc::sync_channel::<DataFrame>(2);
    let done = scope.spawn(move || {
        let mut appender = open()?;
        for chunk in chunks {
            append(&mut appender, &chunk)?;
        }
        finish(appender)
    });
    (Feed(sender), Finishing(done))
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
