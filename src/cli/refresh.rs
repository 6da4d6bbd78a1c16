//! `attackmap refresh`: the nightly job's settings gathered (flags > variables > attackmap.toml >
//! defaults), the job run, and its outcome told as an exit code.

use std::path::PathBuf;

use super::printed::{print_framework_releases, print_site_datasets};
use super::settings::{ConfigFile, FetchArgs};
use super::{progress_bar, usage_error, CsvArgs, Status};
use crate::model::Date;
use crate::pipeline::CarryTo;
use crate::publish::LockError;
use crate::refresh::{self, RefreshError, RefreshOptions};
use crate::sinks::csv::CsvOptions;

// The variant's doc comment in `Command` is the command's help: none here, so that it stays whole.
#[derive(Debug, clap::Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    fetch: FetchArgs,
    /// Where the published outputs live (default out).
    #[arg(long, env = "ATTACKMAP_OUT")]
    out: Option<PathBuf>,
    /// Build from what raw/ holds; request nothing. `--offline=false` overrides `offline = true`
    /// in attackmap.toml.
    #[arg(long, env = "ATTACKMAP_OFFLINE", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    offline: Option<bool>,
    /// Publish even when some selected pages could not be fetched (default: fail, publish nothing).
    /// `--allow-partial=false` overrides the file.
    #[arg(long, env = "ATTACKMAP_ALLOW_PARTIAL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    allow_partial: Option<bool>,
    /// ATT&CK STIX bundles, as for build.
    #[arg(long = "attack-stix", env = "ATTACKMAP_ATTACK_STIX", value_delimiter = ',', num_args = 1..)]
    attack_stix: Vec<PathBuf>,
    #[command(flatten)]
    csv: CsvArgs,
    /// The change feed partition to write, YYYY-MM-DD (default: today, UTC): for backfills.
    #[arg(long, env = "ATTACKMAP_RUN_DATE")]
    run_date: Option<Date>,
    /// Accept a --run-date earlier than the newest published partition or more than a day
    /// ahead: this run rebuilds the change feed's history.
    #[arg(long)]
    rebuild_history: bool,
    /// Refuse to publish (exit 1) a run that removes more than this share of the published
    /// mappings, 0 to 1 (default 0.2): a site outage or a bad selection, not a real change. 1
    /// accepts any removal.
    #[arg(long, env = "ATTACKMAP_MAX_REMOVED_SHARE", value_parser = parse_share)]
    max_removed_share: Option<f64>,
    /// Carry every dataset mapped to an older ATT&CK release to this one, as for build; the
    /// target's bundles come from raw/ or --attack-stix.
    #[arg(long = "carry-to", env = "ATTACKMAP_CARRY_TO")]
    carry_to: Option<CarryTo>,
}

pub(super) fn run(args: RefreshArgs) -> anyhow::Result<Status> {
    let RefreshArgs {
        fetch,
        out,
        offline,
        allow_partial,
        attack_stix,
        csv,
        run_date,
        rebuild_history,
        max_removed_share,
        carry_to,
    } = args;
    let file = match ConfigFile::load(fetch.config.as_deref()) {
        Ok(file) => file,
        Err(e) => return Ok(usage_error(&e)),
    };
    // A flag or variable wins over the file, which wins over the default (false).
    let offline = offline.or(file.offline).unwrap_or(false);
    let settings = if offline {
        fetch.refuse_credentials_in_urls(&file).map(|()| None)
    } else {
        fetch.settings(&file).map(Some)
    };
    let (settings, selection) = match (settings, fetch.selection(&file)) {
        (Ok(settings), Ok(selection)) => (settings, selection),
        (Err(e), _) | (_, Err(e)) => return Ok(usage_error(&e)),
    };
    let max_removed_share = match max_removed_share.or(file.max_removed_share) {
        None => 0.2,
        Some(share) => match parse_share(&share.to_string()) {
            Ok(share) => share,
            Err(e) => return Ok(usage_error(&format!("max_removed_share: {e}"))),
        },
    };
    let carry_to = match (carry_to, &file.carry_to) {
        (Some(carry_to), _) => Some(carry_to),
        (None, Some(text)) => match text.parse::<CarryTo>() {
            Ok(carry_to) => Some(carry_to),
            Err(e) => return Ok(usage_error(&format!("carry_to: {e}"))),
        },
        (None, None) => None,
    };
    let mut selection = selection;
    if let Some(CarryTo::Version(target)) = &carry_to {
        selection.carried_to = vec![target.clone()];
    }
    let options = RefreshOptions {
        fetch: settings,
        selection,
        raw: fetch.raw(&file),
        out: out.or(file.out.clone()).unwrap_or_else(|| PathBuf::from("out")),
        attack_stix: if attack_stix.is_empty() {
            file.attack_stix.clone().unwrap_or_default()
        } else {
            attack_stix
        },
        allow_partial: allow_partial.or(file.allow_partial).unwrap_or(false),
        csv: CsvOptions {
            excel_safe: csv.csv_excel_safe.or(file.csv_excel_safe).unwrap_or(false),
        },
        run_date: run_date.unwrap_or_else(|| Date::of(std::time::SystemTime::now())),
        max_removed_share,
        rebuild_history,
        carry_to,
    };
    match refresh::refresh(&options, &progress_bar()) {
        Ok(done) => {
            say!(
                "published {} (run {}): {}",
                options.out.display(),
                done.manifest.run_id,
                done.changes.summary()
            );
            if let Some(cost) = &done.manifest.night_cost {
                say!("{}", cost.describe());
            }
            print_framework_releases(&done.manifest.framework_releases);
            print_site_datasets(&done.manifest.site_datasets);
            for warning in &done.manifest.export_warnings {
                complain!("attackmap: warning: {warning}");
            }
            Ok(if done.warnings {
                Status::Warnings
            } else if done.changes.is_empty() {
                Status::NoChanges
            } else {
                Status::Success
            })
        }
        Err(RefreshError::Locked(e @ LockError::Held { .. })) => {
            complain!("attackmap: {e}");
            Ok(Status::Locked)
        }
        Err(e @ (RefreshError::Selection(_) | RefreshError::Overlap(_) | RefreshError::RunDate { .. })) => {
            Ok(usage_error(&e))
        }
        Err(e) => {
            complain!(
                "attackmap: error: {e}\nattackmap: the previous {} is unchanged",
                options.out.display()
            );
            Ok(Status::Failure)
        }
    }
}

/// A share between 0 and 1.
fn parse_share(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("expected a share from 0 to 1 (0.2 is 20 %), found {text:?}")),
    }
}
