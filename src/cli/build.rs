//! `attackmap build`: the table and its exports from the given pages and mapping files, published
//! into `--out` as a whole under its lock.

use std::path::PathBuf;

use super::{progress_bar, usage_error, CsvArgs, Status, QUIET};
use crate::escape;
use crate::pipeline::{self, CarryTo, Format, OutputOptions};
use crate::publish::{self, Lock, LockError};
use crate::refresh;
use crate::sinks;
use crate::sinks::csv::CsvOptions;
use crate::sinks::stix::Versioning;
use crate::sources::attack_stix::AttackCatalog;

// The variant's doc comment in `Command` is the command's help: none here, so that it stays whole.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Files or directories (walked recursively), recognized by content: technique, framework,
    /// all-data and capability pages, and mapping JSON files.
    #[arg(long = "input", short = 'i', required = true, num_args = 1..)]
    inputs: Vec<PathBuf>,
    /// Directory for mappings.csv, mappings.parquet, report.json, stix/ and navigator/.
    #[arg(long, short = 'o', default_value = "out")]
    out: PathBuf,
    /// ATT&CK STIX bundles (`enterprise-attack-16.1.json`, one per ATT&CK version and domain) that
    /// resolve technique ids to ATT&CK's own attack-pattern objects in the STIX exports. Bundles
    /// among the inputs are found by their content; one given here overrides a found one of the
    /// same domain and version.
    #[arg(long = "attack-stix", num_args = 1..)]
    attack_stix: Vec<PathBuf>,
    /// Output formats to write (repeat or comma-separate); the report is always written.
    #[arg(long = "format", value_enum, value_delimiter = ',', default_values_t = Format::ALL.to_vec())]
    formats: Vec<Format>,
    #[command(flatten)]
    csv: CsvArgs,
    /// Carry every dataset mapped to an older ATT&CK release to this one (18.1, or latest: the
    /// newest ATT&CK bundle among the inputs), as derived datasets marked as such.
    #[arg(long = "carry-to", env = "ATTACKMAP_CARRY_TO")]
    carry_to: Option<CarryTo>,
}

pub(super) fn run(args: BuildArgs) -> anyhow::Result<Status> {
    let BuildArgs {
        inputs,
        out,
        attack_stix,
        formats,
        csv,
        carry_to,
    } = args;
    if out.join(refresh::MANIFEST).exists() {
        return Ok(usage_error(&format!(
            "--out {}: `attackmap refresh` publishes this directory (it holds {}): a build there would leave refresh's manifest and changes beside other outputs, and the next refresh would neither see nor feed the change to the warehouse; build into another directory, or run `attackmap refresh`",
            out.display(),
            refresh::MANIFEST
        )));
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| anyhow::anyhow!("creating {}: {e}", parent.display()))?;
    }
    let _lock = match Lock::acquire(&publish::lock_path(&out)) {
        Ok(lock) => lock,
        Err(e @ LockError::Held { .. }) => {
            complain!("attackmap: {e}");
            return Ok(Status::Locked);
        }
        Err(e) => return Err(e.into()),
    };
    let progress = progress_bar();
    // The previous ledger is read and the staging directory seeded beside the inputs (neither
    // needs them); the build's error, if several fail, is the one told.
    let (build, versioning, staging) = std::thread::scope(|scope| {
        let versioning = scope.spawn(|| Versioning::from_published(&out, None));
        let staging = scope.spawn(|| publish::Staging::seed(&out));
        let build = AttackCatalog::load(&attack_stix)
            .and_then(|explicit| pipeline::build(&inputs, explicit, carry_to.as_ref(), &progress));
        (build, joined(versioning), joined(staging))
    });
    let mut build = build?;
    let attack = std::mem::take(&mut build.attack);
    let csv = CsvOptions {
        excel_safe: csv.csv_excel_safe.unwrap_or(false),
    };
    let options = OutputOptions {
        formats: &formats,
        attack: &attack,
        csv,
        versioning: versioning?,
    };
    pipeline::publish_outputs(&mut build, options, staging?)?;
    progress.finish_and_clear();
    if !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        print!("{}", escape::terminal(&build.report.summary()));
    }
    say!("wrote {} rows to {}", build.table_rows, out.display());
    say!("report: {}", out.join(sinks::report_html::REPORT_HTML).display());
    for warning in build.report.warnings() {
        complain!("attackmap: warning: {warning}");
    }
    let status = if build.report.has_warnings() {
        Status::Warnings
    } else {
        Status::Success
    };
    // The process ends with this command: its memory goes back whole at exit, where freeing
    // the catalogue object by object took a tenth of a build's wall time.
    std::mem::forget((build, attack));
    Ok(status)
}

/// What a thread gave; its panic raised again here.
fn joined<T>(thread: std::thread::ScopedJoinHandle<'_, T>) -> T {
    thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
