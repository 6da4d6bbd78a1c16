//! The attackmap binary: parses the command line and hands it to the library.

use std::process::ExitCode;

use clap::Parser;

use attackmap::cli::{self, Cli, Status};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    without_transparent_huge_pages();
    match cli::run(Cli::parse()) {
        Ok(status) => status.into(),
        Err(error) => {
            let message = format!("attackmap: error: {error:#}");
            eprintln!("{}", attackmap::escape::terminal(&message));
            Status::Failure.into()
        }
    }
}

/// Turns transparent huge pages off for this process. mimalloc asks for them on its arenas, and then
/// every first touch of 2 MiB zeroes all of it (often after compacting memory): a build of the 11
/// mapping files held 265-295 MB instead of 205-215 MB, and its system time swung from 0.1 to 0.6 s.
fn without_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
