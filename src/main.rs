//! The attackmap binary: parses the command line and hands it to the library.

use std::process::ExitCode;

use clap::Parser;

use attackmap::cli::{self, Cli, Status};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match cli::run(Cli::parse()) {
        Ok(status) => status.into(),
        Err(error) => {
            let message = format!("attackmap: error: {error:#}");
            eprintln!("{}", attackmap::escape::terminal(&message));
            Status::Failure.into()
        }
    }
}
