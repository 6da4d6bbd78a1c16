//! The build: inputs → sources → select → dedupe → table, with the report of what happened; then
//! the sinks ([`outputs`]).

mod carry;
mod outputs;

pub use carry::CarryTo;
pub use outputs::{publish_outputs, published_table, write_outputs, OutputOptions};

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use polars::prelude::DataFrame;

use crate::error::Result;
use crate::identifiers;
use crate::model::{self, DatasetKey, MappingRow, SourceKind};
use crate::sinks::report::*;
use crate::sources::attack_stix::AttackCatalog;
use crate::sources::{self, mapping_file, Input, InputFile, Outcome, RejectedRow};
use crate::transforms::carry::ReviewTechnique;
use crate::transforms::{dedupe, gaps, select};

/// The file names `build` writes into its output directory.
pub const CSV_FILE: &str = "mappings.csv";
pub const GAPS_FILE: &str = "gaps.csv";
/// With `--carry-to`: the review list of every derived dataset.
pub const REVIEW_FILE: &str = "review.csv";
pub const PARQUET_FILE: &str = "mappings.parquet";
pub const REPORT_FILE: &str = "report.json";
pub const STIX_DIR: &str = crate::sinks::stix::DIR;
pub const NAVIGATOR_DIR: &str = "navigator";
pub const HEATMAPS_DIR: &str = crate::sinks::heatmap::DIR;
pub const WAREHOUSE_DIR: &str = "warehouse";

/// An output format `build` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Parquet,
    Stix,
    Navigator,
    /// `warehouse/`: the hive-partitioned Parquet dataset and its dimension tables.
    Warehouse,
}

impl Format {
    pub const ALL: &[Format] = &[
        Format::Csv,
        Format::Parquet,
        Format::Stix,
        Format::Navigator,
        Format::Warehouse,
    ];
}

/// The table and the report of how it was made.
pub struct Build {
    /// The table's rows, until [`write_outputs`] has written what is written from rows and made
    /// them the `frame`: then empty, so that rows and frame are never held together with the sinks'
    /// own memory.
    pub rows: Vec<MappingRow>,
    /// The table as a DataFrame: empty until [`write_outputs`] makes it from the rows
    /// ([`Build::rows_to_frame`]).
    pub frame: DataFrame,
    /// report.html's charts of live techniques per tactic, drawn from the rows by [`write_outputs`].
    pub tactic_charts: Vec<(String, String)>,
    pub report: Report,
    /// Every file that was read, whatever it held.
    pub inputs: Vec<String>,
    /// The ATT&CK bundles found among the inputs.
    pub attack: AttackCatalog,
    /// Every dataset the inputs hold, selected or not.
    pub available: BTreeSet<DatasetKey>,
    /// The live techniques each dataset does not mention (with a catalogue for it).
    pub gaps: Vec<gaps::Gap>,
    /// With `--carry-to`: each derived dataset's review list.
    pub review: Vec<ReviewTechnique>,
}

/// Reads every input (files, or directories walked recursively) and builds the table.
/// `explicit` holds the ATT&CK bundles named with `--attack-stix`: they override bundles of the same
/// domain and version found among the inputs.
/// `carry_to` (`--carry-to`) derives datasets on a newer ATT&CK release ([`carry`]).
/// `progress` counts the inputs read (a bar on a terminal, hidden elsewhere).
pub fn build(
    inputs: &[PathBuf],
    explicit: AttackCatalog,
    carry_to: Option<&CarryTo>,
    progress: &indicatif::ProgressBar,
) -> Result<Build> {
    build_selected(inputs, &|available| available.clone(), explicit, carry_to, progress)
}

/// Which of the datasets the inputs hold a build keeps.
pub type Choose<'a> = dyn Fn(&BTreeSet<DatasetKey>) -> BTreeSet<DatasetKey> + 'a;

/// Like [`build`], keeping only the datasets `choose` picks from those the inputs hold; the others'
/// rows are counted as unselected.
pub fn build_selected(
    inputs: &[PathBuf],
    choose: &Choose,
    explicit: AttackCatalog,
    carry_to: Option<&CarryTo>,
    progress: &indicatif::ProgressBar,
) -> Result<Build> {
    let files = sources::discover(inputs)?;
    let read = timed("read", || read_in_two_passes(files, progress))?;
    timed("build", || build_from(read, choose, explicit, carry_to))
}

/// Reads the JSON files first, then the others: the datasets the mapping files supply let every page
/// of those datasets be reduced to its cross-check as it is read, so that pages never pile up in
/// memory (on the whole site, every page). The result is in the order of `files`.
fn read_in_two_passes(files: Vec<InputFile>, progress: &indicatif::ProgressBar) -> Result<Vec<Input>> {
    let (mut json, mut others): (Vec<InputFile>, Vec<InputFile>) =
        files.into_iter().partition(|f| f.name.ends_with(".json"));
    // Largest first, so that no large file is left for one core at the end (an ATT&CK bundle is tens
    // of megabytes, a mapping file a few; an all-data page is megabytes, a technique page a hundred
    // kilobytes).
    for files in [&mut json, &mut others] {
        files.sort_by_cached_key(|f| std::cmp::Reverse(std::fs::symlink_metadata(&f.path).map_or(0, |m| m.len())));
    }
    let mut read = sources::read_all(&json, progress, &sources::NothingSuperseded)?;
    let best = select::best_kinds(&read);
    read.extend(sources::read_all(&others, progress, &best)?);
    read.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(read)
}

/// Builds the table from inputs already read. Pure: no I/O.
pub fn build_from(
    inputs: Vec<Input>,
    choose: &Choose,
    explicit: AttackCatalog,
    carry_to: Option<&CarryTo>,
) -> Result<Build> {
    let all_sources: Vec<String> = inputs.iter().map(|i| i.path.display().to_string()).collect();
    let mut counts = InputCounts {
        files: inputs.len(),
        ..InputCounts::default()
    };
    let mut attack = AttackCatalog::default();
    let mut inputs_with_rows = Vec::with_capacity(inputs.len());
    for input in inputs {
        match input.outcome {
            Outcome::AttackBundle(bundle) => attack.bundles.push(*bundle),
            _ => inputs_with_rows.push(input),
        }
    }
    counts.attack_bundles = attack.bundles.len();
    let inputs = inputs_with_rows;
    let mut skipped = Vec::new();
    let mut without_mappings = Vec::new();
    let mut not_inputs = Vec::new();
    let mut rejected = Vec::new();
    let mut selectable = Vec::new();
    let mut bad_identifier_rows = 0;
    let sources: Vec<String> = inputs.iter().map(|i| i.name.clone()).collect();
    for (input, source) in inputs.into_iter().zip(&sources) {
        match input.outcome {
            Outcome::AttackBundle(_) => unreachable!("ATT&CK bundles were taken out above"),
            Outcome::Skipped(reason) => skipped.push(SkippedInput {
                path: source.clone(),
                reason,
            }),
            Outcome::NoMappings(reason) => without_mappings.push(SkippedInput {
                path: source.clone(),
                reason,
            }),
            Outcome::NotAnInput(kind) => {
                *counts.not_inputs.entry(kind).or_default() += 1;
                not_inputs.push(SkippedInput {
                    path: source.clone(),
                    reason: kind.description().to_string(),
                });
            }
            Outcome::Parsed(parsed) => {
                *counts.by_kind.entry(parsed.kind).or_default() += 1;
                rejected.extend(parsed.rejected);
                let bad = rows_with_bad_identifiers(source, parsed.kind, &parsed.rows);
                bad_identifier_rows += bad.iter().map(|r| r.rows).sum::<usize>();
                rejected.extend(bad);
                selectable.push(select::InputRows {
                    source,
                    kind: parsed.kind,
                    cut: parsed.cut,
                    rows: parsed.rows,
                    superseded: parsed.superseded,
                });
            }
        }
    }
    counts.skipped = skipped.len();
    counts.read = counts.files - skipped.len() - without_mappings.len() - not_inputs.len();
    // Rows rejected for their identifiers count as rejected, not as read.
    let rows_read: usize = selectable
        .iter()
        .map(|i| i.rows.len() + i.superseded.iter().map(|s| s.rows).sum::<usize>())
        .sum::<usize>()
        - bad_identifier_rows;

    let mut selection = timed("select", || select::select(selectable));
    selection
        .datasets
        .retain(|dataset, _| identifiers::check_dataset(dataset).is_ok());
    let available: BTreeSet<DatasetKey> = selection.datasets.keys().cloned().collect();
    let chosen = choose(&available);
    selection.datasets.retain(|dataset, _| chosen.contains(dataset));
    // Rows of a dataset whose identifiers failed are rejected (counted above); the others that
    // leave here are outside the selection.
    let mut unselected_rows = 0;
    let kept = &selection.datasets;
    selection.rows.retain(|row| {
        let dataset = row.dataset();
        let keep = kept.contains_key(&dataset);
        unselected_rows += usize::from(!keep && available.contains(&dataset));
        keep
    });
    let mut deduplicated = timed("dedupe", || dedupe::dedupe(selection.rows));
    let attack = attack.overridden_by(explicit);
    for row in &mut deduplicated.rows {
        if let Some(technique) = row.attack_object_id.as_deref() {
            row.technique_status = attack.status(&row.attack_version, &row.domain, technique);
        }
    }
    let mut carried = carry_to.map(|to| timed("carry", || carry::carry_forward(&deduplicated.rows, &attack, to)));
    if let Some(carried) = &mut carried {
        deduplicated.rows.append(&mut carried.rows);
        deduplicated.rows.sort_by(MappingRow::grain_cmp);
    }
    let mut techniques: BTreeMap<DatasetKey, Option<TechniqueStatuses>> = model::by_dataset(&deduplicated.rows)
        .into_iter()
        .map(|(key, rows)| (key, TechniqueStatuses::of(rows.into_iter())))
        .collect();
    let gaps = timed("gaps", || gaps::gaps(&deduplicated.rows, &attack));
    let mut gap_counts: BTreeMap<&DatasetKey, usize> = BTreeMap::new();
    for gap in &gaps {
        *gap_counts.entry(&gap.dataset).or_default() += 1;
    }

    let mut totals = Totals {
        rows_read,
        rejected_rows: rejected.iter().map(|r| r.rows).sum(),
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
            gaps: attack
                .covers(&key.attack_version, &key.domain)
                .then(|| gap_counts.get(&key).copied().unwrap_or(0)),
            techniques: techniques.remove(&key).flatten(),
            key,
            source,
            counts,
            derived_from: None,
        });
    }
    let (carry, review) = match carried {
        Some(carried) => (Some(carried.report), carried.review),
        None => (None, Vec::new()),
    };
    for derived in carry.iter().flat_map(|c| &c.derived) {
        let Some(official) = datasets.iter().find(|d| d.key == derived.source_key).cloned() else {
            continue;
        };
        let rows: Vec<&MappingRow> = deduplicated.rows.iter().filter(|r| r.is_of(&derived.key)).collect();
        datasets.push(DatasetReport {
            dataset: derived.dataset.clone(),
            key: derived.key.clone(),
            derived_from: Some(derived.derived_from.clone()),
            gaps: attack
                .covers(&derived.key.attack_version, &derived.key.domain)
                .then(|| gap_counts.get(&derived.key).copied().unwrap_or(0)),
            techniques: techniques.remove(&derived.key).flatten(),
            counts: dedupe::DedupeCounts {
                source_rows: official.counts.source_rows,
                mappings: rows.len(),
                non_mappable: rows.iter().filter(|r| r.is_non_mappable()).count(),
                ..dedupe::DedupeCounts::default()
            },
            ..official
        });
    }
    datasets.sort_by(|a, b| a.key.cmp(&b.key));
    totals.unselected_rows = unselected_rows;
    totals.superseded_rows = rows_read - totals.source_rows - unselected_rows;

    Ok(Build {
        inputs: all_sources,
        attack,
        available,
        gaps,
        review,
        rows: deduplicated.rows,
        frame: DataFrame::empty(),
        tactic_charts: Vec::new(),
        report: Report {
            tool: format!("attackmap {}", env!("CARGO_PKG_VERSION")),
            inputs: counts,
            totals,
            datasets,
            skipped,
            without_mappings,
            not_inputs,
            rejected,
            carry,
            exports: Exports::default(),
        },
    })
}

/// The rows of one input whose dataset key fails [`identifiers::check_dataset`], as rejected rows:
/// their framework, versions or domain would become file names. Rows that fail alike are one entry
/// (a mapping file's rows all share its metadata), naming the field where the input holds it.
fn rows_with_bad_identifiers(source: &str, kind: SourceKind, rows: &[MappingRow]) -> Vec<RejectedRow> {
    let mut failures: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    for row in rows {
        if let Err(bad) = identifiers::check_dataset(&row.dataset()) {
            *failures.entry((bad.field, bad.reason)).or_default() += 1;
        }
    }
    failures
        .into_iter()
        .map(|((field, reason), count)| RejectedRow {
            source: source.to_string(),
            element: match kind {
                SourceKind::MappingFile => format!("metadata.{}", mapping_file::metadata_field(field)),
                _ => format!("{count} rows: the {field} of their capability links"),
            },
            reason,
            rows: count,
        })
        .collect()
}

/// Runs one stage, logging its time and the process's peak memory so far at debug level (`-vv`).
fn timed<T>(stage: &str, work: impl FnOnce() -> T) -> T {
    let clock = std::time::Instant::now();
    let done = work();
    let (peak_mib, rss_mib) = memory_mib();
    tracing::debug!(
        stage,
        ms = clock.elapsed().as_millis() as u64,
        peak_mib,
        rss_mib,
        "stage done"
    );
    done
}

/// The process's peak resident memory so far and its resident memory now (Linux's `VmHWM` and
/// `VmRSS`), 0 where they are not known.
pub(crate) fn memory_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    (field("VmHWM:"), field("VmRSS:"))
}
