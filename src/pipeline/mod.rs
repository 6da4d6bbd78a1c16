//! The build: inputs → sources → select → dedupe → table, with the report of what happened; then
//! the sinks ([`outputs`]).

mod carry;
mod datasets;
mod outputs;
mod plan;
mod stream;

pub use carry::CarryTo;
pub use outputs::{publish_outputs, published_table, write_outputs, OutputOptions};

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::error::Result;
use crate::model::DatasetKey;
use crate::sinks::report::*;
use crate::sources;
use crate::sources::attack_stix::AttackCatalog;
use crate::transforms::{self, carry::CarryPlan, carry::ReviewTechnique};

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

/// A build: what the inputs hold and which datasets it makes, then, once [`write_outputs`] has made
/// and written them one at a time, the report of how it went.
pub struct Build {
    /// Complete once [`write_outputs`] has run.
    pub report: Report,
    /// Every file that was read, whatever it held.
    pub inputs: Vec<String>,
    /// The ATT&CK bundles found among the inputs.
    pub attack: AttackCatalog,
    /// Every dataset the inputs hold, selected or not.
    pub available: BTreeSet<DatasetKey>,
    /// The datasets the build makes (besides those `--carry-to` derives).
    pub chosen: BTreeSet<DatasetKey>,
    /// With `--carry-to`: each derived dataset's review list, once written.
    pub review: Vec<ReviewTechnique>,
    /// report.html's charts of live techniques per tactic, once written.
    pub tactic_charts: Vec<(String, String)>,
    /// The rows of the table written.
    pub table_rows: usize,
    plan: plan::Plan,
    /// `--carry-to`: asked for, and its target and plan when the catalogue names a target.
    carry: Option<Option<(String, CarryPlan)>>,
    progress: indicatif::ProgressBar,
}

/// Reads every input (files, or directories walked recursively) and plans the build.
/// `explicit` holds the ATT&CK bundles named with `--attack-stix`: they override bundles of the same
/// domain and version found among the inputs.
/// `carry_to` (`--carry-to`) derives datasets on a newer ATT&CK release ([`carry`]).
/// `progress` counts the inputs read (a bar on a terminal, hidden elsewhere), until the datasets
/// are written.
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
    let mut plan = timed("read", || plan::first_pass(files, progress))?;
    let attack = std::mem::take(&mut plan.attack).overridden_by(explicit);
    let available = plan.available();
    let chosen: BTreeSet<DatasetKey> = choose(&available).intersection(&available).cloned().collect();
    let carry = carry_to.map(|to| {
        to.version(&attack).map(|target| {
            let plan = transforms::carry::plan(&chosen, &target, &|version, domain| attack.covers(version, domain));
            (target, plan)
        })
    });
    Ok(Build {
        report: Report {
            tool: format!("attackmap {}", env!("CARGO_PKG_VERSION")),
            inputs: InputCounts::default(),
            totals: Totals::default(),
            datasets: Vec::new(),
            skipped: Vec::new(),
            without_mappings: Vec::new(),
            not_inputs: Vec::new(),
            rejected: Vec::new(),
            carry: None,
            exports: Exports::default(),
        },
        inputs: plan::paths(&plan.files),
        attack,
        available,
        chosen,
        review: Vec::new(),
        tactic_charts: Vec::new(),
        table_rows: 0,
        plan,
        carry,
        progress: progress.clone(),
    })
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
