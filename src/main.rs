//! The attackmap binary: parses the command line and hands it to the library.

use clap::Parser;

use attackmap::cli::{self, Cli, Status};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    without_transparent_huge_pages();
    let status = match cli::run(Cli::parse()) {
        Ok(status) => status,
        Err(error) => {
            let message = format!("attackmap: error: {error:#}");
            eprintln!("{}", attackmap::escape::terminal(&message));
            Status::Failure
        }
    };
    exit_at_once(status)
}

/// Ends the process with `status` once its output is flushed, without the exit handlers: mimalloc's
/// would purge every page it holds one `madvise` at a time (about 600 calls, 5-10 ms at the end of a
/// build of the 11 mapping files) just before the system takes the whole address space back anyway.
/// Every file is written and closed by then: the commands finish their work before they return.
fn exit_at_once(status: Status) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: _exit ends the process; nothing of it runs afterwards.
    unsafe { libc::_exit(i32::from(status.code())) }
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
