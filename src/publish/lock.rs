//! One refresh at a time: an advisory lock (`flock` on Unix, `LockFileEx` on Windows, through the
//! standard library) on a file beside `out/`, held for the life of the process.
//!
//! The kernel releases the lock when its process ends, however it ends (`kill -9` included), so
//! there is no stale lock to detect or take over: what the file holds does not matter. The file
//! stays when the run ends; deleting it would let two runs lock two different files of one name.
//! The owner writes its process id into it, for a person who wonders who holds it.

use std::fs::{File, TryLockError};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds it: not a failure of this run (exit 5).
    #[error("another refresh ({owner}) holds the lock {path}")]
    Held { owner: String, path: PathBuf },
    /// The lock file could not be opened or locked (a read-only file system, say): a failure.
    #[error("taking the lock {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl Lock {
    /// Takes the lock at `path` without waiting, creating the file when missing.
    pub fn acquire(path: &Path) -> Result<Lock, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let owner = std::fs::read_to_string(path)
                    .ok()
                    .map(|text| text.trim().to_string())
                    .filter(|text| !text.is_empty() && text.len() < 32)
                    .map_or_else(|| "a process".to_string(), |pid| format!("process {pid}"));
                return Err(LockError::Held {
                    owner,
                    path: path.to_path_buf(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(Lock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_is_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.lock");
        let held = Lock::acquire(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim(),
            std::process::id().to_string()
        );
        assert!(matches!(Lock::acquire(&path), Err(LockError::Held { .. })));
        drop(held);
        let again = Lock::acquire(&path).unwrap();
        drop(again);
    }

    #[test]
    fn a_leftover_lock_file_does_not_block_whatever_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.lock");
        for content in ["1\n", "4194304999\n", "", "not a pid at all"] {
            std::fs::write(&path, content).unwrap();
            let lock = Lock::acquire(&path).unwrap_or_else(|e| panic!("{content:?}: {e}"));
            drop(lock);
        }
    }

    #[test]
    fn a_lock_that_cannot_be_created_is_an_error_not_a_held_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("out.lock");
        assert!(matches!(Lock::acquire(&path), Err(LockError::Io { .. })));
    }
}
