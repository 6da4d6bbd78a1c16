//! The command line: its arguments and what each command does with them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::pipeline::{self, Format};
use crate::sources::attack_stix::AttackCatalog;
use crate::validate;

/// How a run ended; the process exit code. Documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: outputs written, nothing needs attention.
    Success,
    /// 1: failed; the message names the input or output and what was wrong.
    Failure,
    /// 2: bad usage (clap's own code for argument errors).
    Usage,
    /// 3: outputs written, but inputs were skipped, rows rejected or a dataset is incomplete (see report.json).
    Warnings,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(match status {
            Status::Success => 0,
            Status::Failure => 1,
            Status::Usage => 2,
            Status::Warnings => 3,
        })
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "attackmap",
    version,
    about = "ETL for MITRE ATT&CK mappings from the Mappings Explorer"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
        /// resolve technique ids to ATT&CK's own attack-pattern objects in the STIX exports.
        #[arg(long = "attack-stix", num_args = 1..)]
        attack_stix: Vec<PathBuf>,
        /// Output formats to write (repeat or comma-separate); the report is always written.
        #[arg(long = "format", value_enum, value_delimiter = ',', default_values_t = Format::ALL.to_vec())]
        formats: Vec<Format>,
    },
    /// Check STIX bundles and Navigator layers (files or directories) against attackmap's schemas.
    /// Exit 0 when every one is valid, 1 otherwise.
    Validate {
        #[arg(required = true, num_args = 1..)]
        paths: Vec<PathBuf>,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<Status> {
    match cli.command {
        Command::Build {
            inputs,
            out,
            attack_stix,
            formats,
        } => {
            let attack = AttackCatalog::load(&attack_stix)?;
            let mut build = pipeline::build(&inputs)?;
            pipeline::write_outputs(&mut build, &formats, &attack, &out)?;
            print!("{}", build.report.summary());
            println!("wrote {} rows to {}", build.frame.height(), out.display());
            for warning in build.report.export_warnings() {
                eprintln!("attackmap: warning: {warning}");
            }
            Ok(if build.report.has_warnings() {
                Status::Warnings
            } else {
                Status::Success
            })
        }
        Command::Validate { paths } => {
            let checked = validate::validate_paths(&paths)?;
            let mut invalid = 0;
            let mut recognized = 0;
            for file in &checked {
                let Some(kind) = file.kind else {
                    println!(
                        "skipped {}: neither a STIX bundle nor a Navigator layer",
                        file.path.display()
                    );
                    continue;
                };
                recognized += 1;
                if file.problems.is_empty() {
                    println!("valid {} ({kind:?})", file.path.display());
                } else {
                    invalid += 1;
                    println!("INVALID {} ({kind:?})", file.path.display());
                    for problem in &file.problems {
                        println!("  {problem}");
                    }
                }
            }
            println!("{} valid, {invalid} invalid", recognized - invalid);
            if recognized == 0 {
                anyhow::bail!("no STIX bundle or Navigator layer found in {paths:?}");
            }
            Ok(if invalid == 0 { Status::Success } else { Status::Failure })
        }
    }
}
