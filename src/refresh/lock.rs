//! One refresh at a time: a lock file beside `out/` holding the owner's process id. A lock whose
//! process is gone (a run killed with SIGKILL) is stale and taken over.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A held lock; dropping it removes the file.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another refresh (process {pid}) holds {path}")]
    Held { pid: u32, path: PathBuf },
    #[error("taking the lock {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl Lock {
    pub fn acquire(path: &Path) -> Result<Lock, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        for _ in 0..2 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut file) => {
                    writeln!(file, "{}", std::process::id()).map_err(io)?;
                    return Ok(Lock {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_to_string(path)
                        .ok()
                        .and_then(|t| t.trim().parse::<u32>().ok());
                    match owner {
                        Some(pid) if is_alive(pid) => {
                            return Err(LockError::Held {
                                pid,
                                path: path.to_path_buf(),
                            })
                        }
                        _ => {
                            tracing::warn!(path = %path.display(), ?owner, "taking over a stale lock");
                            std::fs::remove_file(path).map_err(io)?;
                        }
                    }
                }
                Err(e) => return Err(io(e)),
            }
        }
        Err(io(std::io::Error::other("the lock kept reappearing")))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether a process with this id runs (on Linux, whether `/proc/<pid>` exists).
fn is_alive(pid: u32) -> bool {
    pid != 0 && Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_is_exclusive_and_a_stale_one_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.lock");
        let held = Lock::acquire(&path).unwrap();
        assert!(matches!(Lock::acquire(&path), Err(LockError::Held { .. })));
        drop(held);
        assert!(!path.exists());
        std::fs::write(&path, "4194304999\n").unwrap();
        let taken = Lock::acquire(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim(),
            std::process::id().to_string()
        );
        drop(taken);
    }
}
