//! Writes a build's outputs as its datasets are made: each dataset's files on the thread that made
//! it, its rows appended to the tables, then what needs every dataset.

use std::path::Path;

use polars::prelude::DataFrame;

use super::appenders::{close, on_its_own_thread, Finishing};
use super::OutputOptions;
use crate::error::{Error, Result};
use crate::fs::create_dir;
use crate::model::MappingRow;
use crate::pipeline::datasets::BuiltDataset;
use crate::pipeline::{
    timed, Build, Format, CSV_FILE, GAPS_FILE, HEATMAPS_DIR, NAVIGATOR_DIR, REPORT_FILE, REVIEW_FILE, STIX_DIR,
    WAREHOUSE_DIR,
};
use crate::sinks::heatmap::HeatmapCounts;
use crate::sinks::navigator::LayerCounts;
use crate::sinks::stix::BundleCounts;
use crate::sinks::warehouse::WarehouseFile;
use crate::sinks::{self, report::Exports};
use crate::transforms::carry::ReviewTechnique;
use crate::transforms::{carry, gaps};

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
    let stix = match wanted(Format::Stix) {
        true => Some(sinks::stix::Writer::new(attack, &dir(STIX_DIR)?, &versioning)),
        false => None,
    };
    let heatmaps_dir = out.join(HEATMAPS_DIR);
    let draw = |file: &str, layer: &sinks::navigator::Layer| sinks::heatmap::write(file, layer, attack, &heatmaps_dir);
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

    // The tables, appended in the table's order, each by its own thread.
    let schema = crate::table::schema_of(crate::table::COLUMNS);
    let gaps_schema = crate::table::schema_of(gaps::GAP_COLUMNS);
    let table_file = build.table_file(out, formats);
    let datasets_made = build.datasets_made();
    let mut bundles: Vec<BundleCounts> = Vec::new();
    let mut derived_files: Vec<String> = Vec::new();
    let mut charts = sinks::report_html::TacticCharts::default();
    let mut table_rows = 0;
    let (warehouse_mappings, across) = std::thread::scope(|scope| -> Result<_> {
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

        // mappings.csv and gaps.csv, each appended on its own thread.
        let csv_table = |file: &str, schema: polars::prelude::SchemaRef| {
            let path = out.join(file);
            wanted(Format::Csv).then(|| {
                on_its_own_thread(
                    scope,
                    move || sinks::csv::Appender::new(&path, &schema, csv),
                    sinks::csv::Appender::append,
                    sinks::csv::Appender::finish,
                )
            })
        };
        let table_csv = csv_table(CSV_FILE, schema.clone());
        let gaps_csv = csv_table(GAPS_FILE, gaps_schema);
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
        // Every feed is closed: the tables write their last rows on their threads while what needs
        // every dataset is written here, side by side (the ledger and revoked.json, the layers
        // across frameworks and their heatmaps, the warehouse's dimension tables).
        let (table_csv, gaps_csv, parquet, mappings) = (
            table_csv.map(close),
            gaps_csv.map(close),
            close(parquet),
            mappings.map(close),
        );
        let across = made.is_ok().then(|| {
            timed("outputs across datasets", || {
                write_across(out, &build.review, stix, bundles, navigator, tables)
            })
        });
        // Every table finishes whatever came before, so that a table's own error, not a closed
        // feed, is told.
        let (table_csv, gaps_csv, parquet, mappings) = timed("tables finished", || {
            (
                table_csv.map(Finishing::join).transpose(),
                gaps_csv.map(Finishing::join).transpose(),
                parquet.join(),
                mappings.map(Finishing::join).transpose(),
            )
        });
        made?;
        table_csv?;
        gaps_csv?;
        parquet?;
        Ok((mappings?, across.expect("made when the datasets were")))
    })?;
    build.table_rows = table_rows;
    build.tactic_charts = charts.draw(attack);
    // The previous ledger (an entry per object ever published) is done with.
    drop(versioning);
    let (stix, navigator, tables) = (across.bundles?, across.layers?, across.tables?);
    // The warehouse's files as it lists them: the mappings dataset's partitions, then its tables.
    let warehouse = match (warehouse_mappings, tables) {
        (Some(mut files), Some(tables)) => {
            files.extend(tables);
            files
        }
        _ => Vec::new(),
    };
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

/// What [`write_across`] wrote, each part's outcome: the caller tells their errors in its order.
struct Across {
    /// The dataset bundles (STIX asked for).
    bundles: Result<Option<Vec<BundleCounts>>>,
    /// Every layer and its heatmap (Navigator asked for).
    layers: Result<Option<(Vec<LayerCounts>, Vec<HeatmapCounts>)>>,
    /// The warehouse's dimension tables (the warehouse asked for).
    tables: Result<Option<Vec<WarehouseFile>>>,
}

/// Writes into `out` what needs every dataset, side by side: the ledger and `revoked.json` (of the
/// dataset bundles written, `bundles`), the layers across frameworks and their heatmaps, the
/// warehouse's dimension tables; and removes the bundles and layers of earlier runs that this one
/// did not write.
fn write_across(
    out: &Path,
    review: &[ReviewTechnique],
    stix: Option<sinks::stix::Writer>,
    bundles: Vec<BundleCounts>,
    navigator: Option<sinks::navigator::Writer<HeatmapCounts>>,
    tables: Option<sinks::warehouse::TablesWriter>,
) -> Across {
    let finish_stix = || {
        stix.map(|stix| -> Result<_> {
            let written = stix.finish()?;
            let revoked = (written.revoked_bundle_objects > 0).then_some(sinks::stix::revoked::REVOKED_BUNDLE);
            let files = bundles.iter().map(|b| b.file.as_str()).chain(revoked);
            remove_others(&out.join(STIX_DIR), "json", files)?;
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
                remove_others(&out.join(NAVIGATOR_DIR), "json", layers.iter().map(|l| l.file.as_str()))?;
                remove_others(&out.join(HEATMAPS_DIR), "svg", heatmaps.iter().map(|h| h.file.as_str()))?;
                Ok((layers, heatmaps))
            })
            .transpose()
    };
    let finish_tables = || tables.map(|tables| tables.finish(review)).transpose();
    let (bundles, (layers, tables)) = rayon::join(finish_stix, || rayon::join(finish_navigator, finish_tables));
    Across {
        bundles,
        layers,
        tables,
    }
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
