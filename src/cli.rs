//! The command line: its arguments and what each command does with them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::pipeline;

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
        /// Directory for mappings.csv, mappings.parquet and report.json.
        #[arg(long, short = 'o', default_value = "out")]
        out: PathBuf,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<Status> {
    match cli.command {
        Command::Build { inputs, out } => {
            let build = pipeline::build(&inputs)?;
            pipeline::write_outputs(&build, &out)?;
            print!("{}", build.report.summary());
            println!("wrote {} rows to {}", build.frame.height(), out.display());
            Ok(if build.report.has_warnings() {
                Status::Warnings
            } else {
                Status::Success
            })
        }
    }
}
