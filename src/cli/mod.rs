//! The command line: its arguments, what each command does with them, and its exit codes.

mod settings;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::credentials::{self, BasicAuth};
use crate::escape;
use crate::identifiers;
use crate::model::Date;
use crate::pipeline::{self, CarryTo, Format, OutputOptions};
use crate::publish::{self, Lock, LockError};
use crate::refresh::{self, RefreshError, RefreshOptions};
use crate::sinks;
use crate::sinks::csv::CsvOptions;
use crate::sinks::stix::Versioning;
use crate::sources::attack_stix::AttackCatalog;
use crate::sources::http::crawl;
use crate::sources::http::Fetcher;
use crate::taxii;
use settings::{ConfigFile, FetchArgs};

/// `println!`, with what the line carries from the data (an ANSI sequence, a carriage return, a
/// bidirectional override) shown as text by the terminal, never interpreted: [`escape::terminal`].
/// Nothing on stdout under `--quiet`.
macro_rules! say {
    ($($arg:tt)*) => {
        if !crate::cli::QUIET.load(std::sync::atomic::Ordering::Relaxed) {
            println!("{}", crate::escape::terminal(&format!($($arg)*)))
        }
    };
}

/// `--quiet`: set once, before anything is printed.
pub(crate) static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `eprintln!`, escaped for the terminal as [`say!`] is.
macro_rules! complain {
    ($($arg:tt)*) => { eprintln!("{}", crate::escape::terminal(&format!($($arg)*))) };
}
mod printed;

use printed::{print_framework_releases, print_site_datasets, run_validate};

/// How a run ended; the process exit code. Documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: outputs written (refresh: published, with changes); nothing needs attention.
    Success,
    /// 1: failed; the message names the input, URL or output. A refresh keeps the previous `out/`.
    Failure,
    /// 2: bad usage (clap's own code for argument errors): an unknown flag, a value out of bounds, a
    /// config file that is missing, malformed or names an unknown setting.
    Usage,
    /// 3: outputs written, but inputs were skipped, rows rejected or a dataset is incomplete.
    Warnings,
    /// 4: refresh published, and nothing changed since the previous run.
    NoChanges,
    /// 5: not run: another build or refresh holds the lock on this `out/` (an error taking it is a
    /// failure, 1).
    Locked,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(match status {
            Status::Success => 0,
            Status::Failure => 1,
            Status::Usage => 2,
            Status::Warnings => 3,
            Status::NoChanges => 4,
            Status::Locked => 5,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Parser)]
#[command(
    name = "attackmap",
    version,
    about = "ETL for MITRE ATT&CK mappings from the Mappings Explorer"
)]
pub struct Cli {
    /// Logs on stderr: human-readable, or one JSON object per line for log collectors.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "ATTACKMAP_LOG_FORMAT",
        default_value = "human"
    )]
    pub log_format: LogFormat,
    /// Print nothing on stdout (no summary, no progress bar), as ripgrep's --quiet: the exit code
    /// says how the run went; warnings and errors still go to stderr.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Log more on stderr: -v what each stage did, -vv debug, -vvv trace (RUST_LOG, when set, wins).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a shell completion script: `attackmap completions bash > /etc/bash_completion.d/attackmap`,
    /// `attackmap completions zsh > "${fpath[1]}/_attackmap"`, `attackmap completions fish >
    /// ~/.config/fish/completions/attackmap.fish`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Build the normalized, deduplicated mapping table from pages and mapping files.
    Build {
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
    },
    /// Check STIX bundles and Navigator layers (files or directories) against attackmap's schemas.
    /// Exit 0 when every one is valid, 1 otherwise.
    Validate {
        #[arg(required = true, num_args = 1..)]
        paths: Vec<PathBuf>,
    },
    /// Download the selected part of the site into raw/: technique index → technique pages →
    /// framework pages → mapping files, with conditional requests.
    Fetch {
        #[command(flatten)]
        fetch: FetchArgs,
    },
    /// Post the objects of STIX bundles (default out/stix/) to a TAXII 2.1 collection: only the
    /// versions (id + modified) it does not list yet. Basic auth from ATTACKMAP_TAXII_USER and
    /// ATTACKMAP_TAXII_PASSWORD (https, or http to a loopback address). Exit 0 when the server's
    /// status accounts for every object as stored, 3 when some are still pending, 1 otherwise.
    PublishTaxii {
        /// The TAXII API root (https://taxii.example.org/api1/), without credentials.
        #[arg(long, env = "ATTACKMAP_TAXII_API_ROOT", hide_env_values = true)]
        api_root: String,
        /// The collection's id.
        #[arg(long, env = "ATTACKMAP_TAXII_COLLECTION")]
        collection: String,
        /// STIX bundles, or directories of them.
        #[arg(default_value = "out/stix")]
        bundles: Vec<PathBuf>,
    },
    /// The nightly job: fetch (unless --offline), build, export, validate, and publish atomically
    /// into out/ with a manifest and the changes since the previous run.
    Refresh {
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
    },
}

#[derive(Debug, Clone, Copy, clap::Args)]
pub struct CsvArgs {
    /// Make the CSV files safe to open in Excel: a text cell starting with = + - @, a tab or a
    /// carriage return gets a leading ', and the file a UTF-8 byte order mark. The default CSV is the
    /// data unaltered. `--csv-excel-safe=false` overrides the file.
    #[arg(long, env = "ATTACKMAP_CSV_EXCEL_SAFE", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    csv_excel_safe: Option<bool>,
}

pub fn run(cli: Cli) -> anyhow::Result<Status> {
    init_logging(cli.log_format, cli.verbose);
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    match cli.command {
        Command::Build {
            inputs,
            out,
            attack_stix,
            formats,
            csv,
            carry_to,
        } => {
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
            let mut build = pipeline::build(
                &inputs,
                AttackCatalog::load(&attack_stix)?,
                carry_to.as_ref(),
                &progress,
            )?;
            progress.finish_and_clear();
            let attack = std::mem::take(&mut build.attack);
            let csv = CsvOptions {
                excel_safe: csv.csv_excel_safe.unwrap_or(false),
            };
            let options = OutputOptions {
                formats: &formats,
                attack: &attack,
                csv,
                versioning: Versioning::from_published(&out, None)?,
            };
            pipeline::publish_outputs(&mut build, &options, &out)?;
            if !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
                print!("{}", escape::terminal(&build.report.summary()));
            }
            say!("wrote {} rows to {}", build.frame.height(), out.display());
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
            // the table and the catalogue object by object took a tenth of a build's wall time.
            std::mem::forget(options.versioning);
            std::mem::forget((build, attack));
            Ok(status)
        }
        Command::Validate { paths } => run_validate(&paths),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "attackmap", &mut std::io::stdout());
            Ok(Status::Success)
        }
        Command::PublishTaxii {
            api_root,
            collection,
            bundles,
        } => {
            let target = match BasicAuth::from_env(credentials::TAXII)
                .and_then(|auth| taxii::Target::new(&api_root, collection, auth))
            {
                Ok(target) => target,
                Err(e) => return Ok(usage_error(&e)),
            };
            let published = taxii::publish(&target, &bundles)?;
            say!(
                "posted {} objects in {} envelopes to collection {}, skipped {} already in it",
                published.posted,
                published.envelopes,
                target.collection,
                published.skipped
            );
            for taxii::Pending { status_url, count } in &published.pending {
                complain!(
                    "attackmap: warning: {count} object(s) still pending at {status_url}: the next \
                     publish posts again those the collection does not list by then"
                );
            }
            Ok(if published.pending.is_empty() {
                Status::Success
            } else {
                Status::Warnings
            })
        }
        Command::Fetch { fetch } => {
            let file = match ConfigFile::load(fetch.config.as_deref()) {
                Ok(file) => file,
                Err(e) => return Ok(usage_error(&e)),
            };
            let (settings, selection) = match (fetch.settings(&file), fetch.selection(&file)) {
                (Ok(settings), Ok(selection)) => (settings, selection),
                (Err(e), _) | (_, Err(e)) => return Ok(usage_error(&e)),
            };
            let fetcher = Fetcher::new(settings, fetch.raw(&file))?;
            let crawl = crawl::crawl(
                &fetcher,
                &selection,
                Date::of(std::time::SystemTime::now()),
                &progress_bar(),
            );
            let from_cache = crawl.fetched.iter().filter(|f| f.from_cache).count();
            say!(
                "fetched {} files into {} ({} unchanged, answered 304), {} datasets, {} failed",
                crawl.fetched.len(),
                fetcher.store.root.display(),
                from_cache,
                crawl.datasets.len(),
                crawl.failures.len()
            );
            say!("{}", crawl.night.describe());
            print_framework_releases(&crawl.framework_releases);
            print_site_datasets(&crawl.datasets);
            for failure in &crawl.failures {
                complain!("attackmap: failed {}: {}", failure.url, failure.reason);
            }
            for missing in &crawl.missing_catalogues {
                complain!(
                    "attackmap: warning: no ATT&CK bundle at {}: {} (its datasets export with stand-ins)",
                    missing.url,
                    missing.reason
                );
            }
            for refused in crawl.refused_links.iter().filter(|r| r.into_the_site) {
                complain!(
                    "attackmap: not followed: {} in {}: {}",
                    identifiers::shown(&refused.link),
                    refused.page,
                    refused.reason
                );
            }
            Ok(if crawl.failures.is_empty() {
                Status::Success
            } else {
                Status::Failure
            })
        }
        Command::Refresh {
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
        } => {
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
    }
}

/// A value that cannot be used, said the way clap says it: exit 2.
fn usage_error(error: &dyn std::fmt::Display) -> Status {
    complain!("attackmap: error: {error}");
    Status::Usage
}

/// A share between 0 and 1.
fn parse_share(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("expected a share from 0 to 1 (0.2 is 20 %), found {text:?}")),
    }
}

/// Logs to stderr: warnings and up by default, more with `-v`, `RUST_LOG` to choose.
fn init_logging(format: LogFormat, verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("attackmap={level}")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// A progress bar on a terminal; hidden in a pipe, a cron mail, a CI log and under `--quiet`.
fn progress_bar() -> indicatif::ProgressBar {
    let quiet = QUIET.load(std::sync::atomic::Ordering::Relaxed);
    if !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    }
}
