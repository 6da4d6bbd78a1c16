//! The command line: its arguments, its exit codes, and each command handed to the module that runs it
//! (`build`, `fetch`, `publish_taxii`, `refresh`; `validate` in `printed`).

mod settings;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use settings::FetchArgs;

/// `println!`, with what the line carries from the data (an ANSI sequence, a carriage return, a
/// bidirectional override) shown as text by the terminal, never interpreted: [`crate::escape::terminal`].
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

mod build;
mod fetch;
mod printed;
mod publish_taxii;
mod refresh;

use build::BuildArgs;
use printed::run_validate;
use refresh::RefreshArgs;

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

impl Status {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::Failure => 1,
            Status::Usage => 2,
            Status::Warnings => 3,
            Status::NoChanges => 4,
            Status::Locked => 5,
        }
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
    Build(BuildArgs),
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
    Refresh(RefreshArgs),
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
        Command::Build(args) => build::run(args),
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
        } => publish_taxii::run(&api_root, collection, &bundles),
        Command::Fetch { fetch } => fetch::run(&fetch),
        Command::Refresh(args) => refresh::run(args),
    }
}

/// A value that cannot be used, said the way clap says it: exit 2.
fn usage_error(error: &dyn std::fmt::Display) -> Status {
    complain!("attackmap: error: {error}");
    Status::Usage
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
