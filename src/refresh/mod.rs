//! The nightly refresh: fetch (unless offline) → build → export → validate → compare → publish.
//!
//! Everything is written into a staging directory beside `out/`, validated there, then swapped into
//! place ([`publish`]), so a failed or killed run leaves the previous `out/` exactly as it was. A lock
//! beside `out/` keeps runs from overlapping.

mod catalogue;
mod changes;
mod feed;
mod manifest;
mod moves;
mod paths;
mod staged_outputs;

use crate::escape::terminal;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use crate::changes::Changes;
use crate::error::Error;
use crate::model::Date;
use crate::pipeline::{self, Format, OutputOptions};
use crate::publish;
pub use crate::publish::{Lock, LockError};
use crate::sinks::csv::CsvOptions;
use crate::sinks::stix::Versioning;
use crate::sources::attack_stix::AttackCatalog;
use crate::sources::http::crawl::{self, Crawl, DatasetSelection, FetchState};
use crate::sources::http::{FetchFailure, FetchSettings, Fetcher};
use crate::table::Columns;
pub use changes::comparison::{compare, compare_listing};
pub use manifest::Manifest;
use staged_outputs::StagedOutputs;

/// What a refresh needs to know.
pub struct RefreshOptions {
    /// `None`: offline, build from what `raw/` holds.
    pub fetch: Option<FetchSettings>,
    pub selection: DatasetSelection,
    pub raw: PathBuf,
    pub out: PathBuf,
    pub attack_stix: Vec<PathBuf>,
    /// Publish even when some selected page could not be fetched (default: fail, publish nothing).
    pub allow_partial: bool,
    pub csv: CsvOptions,
    /// The change feed's partition (default: today, UTC).
    pub run_date: Date,
    /// The largest share of the published mappings one run may remove (0 to 1; default 0.2).
    pub max_removed_share: f64,
    /// `run_date` may be earlier than the newest published partition, or more than a day ahead of
    /// today: the user says this run rebuilds the change feed's history.
    pub rebuild_history: bool,
    /// `--carry-to`: derive datasets on this ATT&CK release.
    pub carry_to: Option<pipeline::CarryTo>,
}

/// How a refresh ended without failing.
#[derive(Debug)]
pub struct Refreshed {
    pub changes: Changes,
    /// Inputs skipped, rows rejected, incomplete datasets, unsafe site links refused, stale copies
    /// used for URLs that failed, or (with `allow_partial`) fetch failures.
    pub warnings: bool,
    pub manifest: Manifest,
}

/// Why a refresh failed; the previous `out/` is intact in every case.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Locked(#[from] LockError),
    #[error("{} of the selected pages could not be fetched{}; nothing was published:\n{}", .failures.len(), named(.datasets), list_failures(.failures))]
    Incomplete {
        failures: Vec<FetchFailure>,
        /// The datasets those pages belong to, each with the framework page that advertises it.
        datasets: Vec<String>,
    },
    #[error("the exports failed validation; nothing was published:\n{0}")]
    Invalid(String),
    /// A selector matches nothing: a usage error (exit 2), never an empty table published.
    #[error("{0}; nothing was published")]
    Selection(String),
    /// `raw/` and `out/` overlap: a usage error (exit 2), refused before anything is read or written.
    #[error("{0}; nothing was published")]
    Overlap(String),
    /// `--run-date` out of the feed's order: a usage error (exit 2).
    #[error("--run-date {run_date} {reason}: replaying the change feed in date order would no longer rebuild the table; nothing was published (pass --rebuild-history if this run rebuilds the feed's history)")]
    RunDate { run_date: Date, reason: String },
    #[error("this run would remove {removed} of the {previous} published mappings ({:.1} %), more than --max-removed-share {:.1} %; nothing was published (raise --max-removed-share to accept it)", *.removed as f64 * 100.0 / *.previous as f64, .max_share * 100.0)]
    TooManyRemoved {
        removed: usize,
        previous: usize,
        max_share: f64,
    },
    #[error(transparent)]
    Failed(#[from] Error),
}

fn named(datasets: &[String]) -> String {
    match datasets {
        [] => String::new(),
        [one] => format!(", so dataset {one} is missing"),
        many => format!(", so {} datasets are missing: {}", many.len(), many.join(", ")),
    }
}

fn list_failures(failures: &[FetchFailure]) -> String {
    failures
        .iter()
        .map(|f| format!("  {}: {}", f.url, f.reason))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn refresh(options: &RefreshOptions, progress: &indicatif::ProgressBar) -> Result<Refreshed, RefreshError> {
    let started = SystemTime::now();
    paths::check_apart(&options.raw, &options.out).map_err(RefreshError::Overlap)?;
    publish::check_out_is_ours(&options.out)?;
    if let Some(parent) = options.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::fs::create_dir(parent)?;
    }
    let _lock = Lock::acquire(&publish::lock_path(&options.out))?;
    publish::remove_stale_staging(&options.out);
    if !options.rebuild_history {
        check_run_date(options.run_date, &options.out, started)?;
    }
    // Read before the fetch: a ledger that does not read fails the run before it spends the night.
    let versioning = Versioning::from_published(&options.out, Some(format!("{}T00:00:00.000Z", options.run_date)))?;
    let mut manifest = Manifest::start(started, options);

    let clock = Instant::now();
    let mut crawl = Crawl::default();
    if let Some(settings) = &options.fetch {
        let fetcher = Fetcher::new(settings.clone(), options.raw.clone())?;
        crawl = crawl::crawl(&fetcher, &options.selection, options.run_date, progress);
        tracing::info!(
            fetched = crawl.fetched.len(),
            from_cache = crawl.fetched.iter().filter(|f| f.from_cache).count(),
            failed = crawl.failures.len(),
            "fetched"
        );
        for missing in &crawl.missing_catalogues {
            tracing::warn!(url = %terminal(&missing.url), reason = %terminal(&missing.reason), "no ATT&CK bundle: its datasets export with stand-ins");
        }
        for refused in crawl.refused_links.iter().filter(|r| r.into_the_site) {
            tracing::warn!(
                link = %crate::identifiers::shown(&refused.link),
                page = %terminal(&refused.page),
                reason = %terminal(&refused.reason),
                "site link not followed"
            );
        }
        for dataset in crawl.unadvertised_datasets() {
            tracing::warn!(
                dataset = %dataset.dataset,
                "technique pages link to a dataset that no framework page advertises"
            );
        }
        if !crawl.failures.is_empty() && !options.allow_partial {
            return Err(RefreshError::Incomplete {
                datasets: crawl.failed_datasets(),
                failures: crawl.failures,
            });
        }
        let reached = crawl.fetched.iter().map(|f| f.path.clone()).collect();
        manifest.retired_strays = fetcher.store.retire_strays(&reached)?;
        for path in &manifest.retired_strays {
            tracing::warn!(path = %terminal(path), "retired from raw/: no fetch put it there (it has no sidecar), and a refresh builds from what its crawl saw");
        }
        if crawl.failures.is_empty() {
            manifest.retired = fetcher.store.retire_unreached(&reached)?;
            for path in &manifest.retired {
                tracing::info!(path = %terminal(path), "retired: the site no longer links to it");
            }
        }
    }
    manifest.stage("fetch", clock);

    let clock = Instant::now();
    let explicit = AttackCatalog::load(&options.attack_stix)?;
    let selection = options.selection.clone();
    // A dataset that failed tonight is not chosen over its framework's older release: a move to a
    // newer ATT&CK version happens only once the new datasets arrived (with --allow-partial).
    let failed: BTreeSet<&str> = crawl
        .datasets
        .iter()
        .filter(|d| d.state == FetchState::Failed)
        .map(|d| d.dataset.as_str())
        .collect();
    let mut build = pipeline::build_selected(
        std::slice::from_ref(&options.raw),
        &|available| {
            let candidates = available
                .iter()
                .filter(|d| selection.includes(d) && !failed.contains(d.to_string().as_str()));
            selection.narrowed(candidates)
        },
        explicit,
        options.carry_to.as_ref(),
        progress,
    )?;
    let attack = std::mem::take(&mut build.attack);
    let unmatched = options.selection.unmatched(build.available.iter());
    if !unmatched.is_empty() {
        return Err(RefreshError::Selection(format!(
            "{} matches no dataset in {}",
            unmatched.join(", "),
            options.raw.display()
        )));
    }
    if build.chosen.is_empty() {
        return Err(RefreshError::Selection(format!(
            "the selection matches no dataset in {}",
            options.raw.display()
        )));
    }
    manifest.stage("build", clock);

    let clock = Instant::now();
    let staging = publish::staging_for(&options.out);
    let _ = std::fs::remove_dir_all(&staging);
    let outputs = OutputOptions {
        formats: Format::ALL,
        attack: &attack,
        csv: options.csv,
        versioning,
    };
    pipeline::write_outputs(&mut build, outputs, &staging)?;
    manifest.stage("export", clock);

    let clock = Instant::now();
    let problems = validation_problems(&staging)?;
    if !problems.is_empty() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(RefreshError::Invalid(problems));
    }
    manifest.stage("validate", clock);

    let clock = Instant::now();
    // Both tables are read a column at a time (whole when small): neither is held whole.
    let previous = match pipeline::published_table(&options.out) {
        Ok(previous) => previous,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e.into());
        }
    };
    let previous = previous.as_ref().map(|p| p as &dyn Columns);
    let table = build.stored_table(&staging, Format::ALL)?;
    let mut changes = compare(previous, &table).map_err(Error::from)?;
    if let Some(previous) = previous {
        moves::moves(previous, &table)
            .map_err(Error::from)?
            .name_in(&mut changes);
    }
    changes.catalogue = catalogue::compare(
        catalogue::techniques_of(&options.out.join(pipeline::WAREHOUSE_DIR)).as_ref(),
        catalogue::techniques_of(&staging.join(pipeline::WAREHOUSE_DIR)).as_ref(),
    )
    .map_err(Error::from)?;
    // Official mappings only: derived rows (--carry-to) are no data of the site; and a move's carried
    // mappings are kept, whatever their ids.
    let (official_removed, previous_rows) = match previous {
        Some(previous) => changes::official_removal(previous, &changes).map_err(Error::from)?,
        None => (0, 0),
    };
    let removed = changes.removed_beyond_moves(official_removed);
    if previous_rows > 0 && removed as f64 > options.max_removed_share * previous_rows as f64 {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(RefreshError::TooManyRemoved {
            removed,
            previous: previous_rows,
            max_share: options.max_removed_share,
        });
    }
    changes::change_files::write(
        &changes,
        &staging.join(CHANGES_JSON),
        &staging.join(CHANGES_CSV),
        options.csv,
    )?;
    let run_feed = feed::feed(previous, &table, &changes).map_err(Error::from)?;
    let feed_file = feed::publish(&run_feed, &options.out, &staging, options.run_date)?;
    // Every staged file is hashed once, here; report.html, written below, is hashed after it.
    let staged = StagedOutputs::hash(&staging)?;
    changes.outputs_changed = staged_outputs::changed_outputs(&options.out, &staged);
    manifest.stage("changes", clock);

    manifest.fill(&build, &crawl, &changes);
    let warnings = build.report.has_warnings()
        || !manifest.held_back.is_empty()
        || !crawl.failures.is_empty()
        || crawl.refused_links.iter().any(|r| r.into_the_site)
        || !crawl.unadvertised_datasets().is_empty()
        || !crawl.stale.is_empty()
        || !manifest.retired_strays.is_empty();
    let run = manifest.run_facts(if warnings {
        3
    } else if changes.is_empty() {
        4
    } else {
        0
    });
    let page = build.report_page(&run, &changes, &table, &attack);
    crate::sinks::report_html::write(&page, &staging)?;
    let staged = staged.relisted(&staging, &[crate::sinks::report_html::REPORT_HTML])?;
    manifest.write(&build, &changes, &feed_file, &staged, &staging)?;
    let clock = Instant::now();
    publish::swap_into_place(&staging, &options.out)?;
    manifest.stage("publish", clock);
    Ok(Refreshed {
        changes,
        warnings,
        manifest,
    })
}

/// A run date is the feed's next partition: not earlier than the newest one published (the same day
/// composes with it), and not more than a day after today (UTC, a day of slack for time zones).
fn check_run_date(run_date: Date, out: &Path, now: SystemTime) -> Result<(), RefreshError> {
    if let Some(newest) = feed::newest_partition(out) {
        if run_date < newest {
            return Err(RefreshError::RunDate {
                run_date,
                reason: format!("is earlier than the newest published partition, run_date={newest}"),
            });
        }
    }
    let tomorrow = Date::of(now + std::time::Duration::from_secs(24 * 60 * 60));
    if run_date > tomorrow {
        return Err(RefreshError::RunDate {
            run_date,
            reason: format!("is more than a day after today ({} UTC)", Date::of(now)),
        });
    }
    Ok(())
}

pub const CHANGES_JSON: &str = "changes.json";
pub const CHANGES_CSV: &str = "changes.csv";
pub const MANIFEST: &str = "manifest.json";

fn validation_problems(staging: &Path) -> Result<String, Error> {
    let checked =
        crate::validate::validate_paths(&[staging.join(pipeline::STIX_DIR), staging.join(pipeline::NAVIGATOR_DIR)])?;
    Ok(checked
        .iter()
        .filter(|c| !c.problems.is_empty())
        .map(|c| format!("  {}: {}", c.path.display(), c.problems.join("; ")))
        .collect::<Vec<_>>()
        .join("\n"))
}
