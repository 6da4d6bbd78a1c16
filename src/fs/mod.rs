//! File-system helpers: whole writes ([`whole`]), large inputs mapped ([`Mapped`]), a tree synced or
//! removed at once, process checks, digests and instants.

mod compared;
mod mapped;
mod whole;

pub use mapped::Mapped;
pub use whole::{temporary_writer, write_atomically, write_staged, Buffered, StagedFile};

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Puts every file written into the tree at `dir` ([`write_staged`]) on disk: `syncfs` of its file
/// system on Linux (one call however many files), elsewhere an fsync of each file.
pub fn sync_tree(dir: &Path) -> Result<()> {
    let failed = |e: std::io::Error| Error::WriteOutput {
        path: dir.to_path_buf(),
        reason: format!("putting the written files on disk: {e}"),
    };
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let handle = File::open(dir).map_err(failed)?;
        // SAFETY: a valid open descriptor; syncfs only flushes the file system it lives on.
        if unsafe { libc::syncfs(handle.as_raw_fd()) } != 0 {
            return Err(failed(std::io::Error::last_os_error()));
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        for entry in walkdir::WalkDir::new(dir) {
            let entry = entry.map_err(|e| failed(e.into()))?;
            if entry.file_type().is_file() {
                File::open(entry.path()).and_then(|f| f.sync_all()).map_err(failed)?;
            }
        }
        Ok(())
    }
}

/// Removes `dir` and everything in it, as `std::fs::remove_dir_all` does (links are removed, never
/// followed), its files unlinked on every core: an unlink of a large file frees its pages and
/// blocks in the kernel, and the outputs of the 11 mapping files (72 files, 55 MB) took 20-40 ms
/// to remove one after the other, at the end of every run.
pub fn remove_tree(dir: &Path) -> std::io::Result<()> {
    use rayon::prelude::*;
    fn walk(dir: &Path, files: &mut Vec<PathBuf>, dirs: &mut Vec<PathBuf>) -> std::io::Result<()> {
        dirs.push(dir.to_path_buf());
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                walk(&entry.path(), files, dirs)?;
            } else {
                files.push(entry.path());
            }
        }
        Ok(())
    }
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    walk(dir, &mut files, &mut dirs)?;
    files.par_iter().try_for_each(std::fs::remove_file)?;
    // Deepest first: each directory is empty when it is removed.
    dirs.iter().rev().try_for_each(std::fs::remove_dir)
}

/// Whether two paths name the same file (a hard link of it): never for a path that is absent, nor
/// where the system cannot tell.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
}

/// Creates a directory and any missing parents (nothing when it exists).
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::WriteOutput {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Whether a process of this id runs (on this system's process table). Where that cannot be told,
/// it is taken to run: a file of a live writer is never removed on a guess.
pub fn process_is_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        if pid <= 0 {
            return true;
        }
        // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
        let status = unsafe { libc::kill(pid, 0) };
        status == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// The SHA-256 of some bytes, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::of(bytes).to_string()
}

/// [`sha256_hex`] of a file's bytes, read a megabyte at a time: an output of hundreds of megabytes
/// (`mappings.csv` at scale) is never held whole to be hashed.
pub fn sha256_of_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut file = File::open(path)?;
    let mut sha256 = sha2::Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Ok(Sha256(sha256.finalize().into()).to_string()),
            Ok(read) => sha256.update(&buffer[..read]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A SHA-256 digest, written as 64 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256 {
        use sha2::Digest;
        Sha256(sha2::Sha256::digest(bytes).into())
    }
}

impl std::fmt::Display for Sha256 {
    /// Written whole, not a formatted byte at a time (a ledger writes one per object).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 64];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(self.0) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0xf)];
        }
        f.write_str(std::str::from_utf8(&hex).expect("hex digits are ASCII"))
    }
}

impl std::str::FromStr for Sha256 {
    type Err = String;

    /// Read a digit at a time (a ledger holds one per object ever published).
    fn from_str(hex: &str) -> Result<Sha256, String> {
        let digit = |b: u8| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        };
        let mut digest = [0u8; 32];
        let pairs = hex.as_bytes().chunks_exact(2);
        let read = hex.len() == 64
            && digest
                .iter_mut()
                .zip(pairs)
                .all(|(byte, pair)| match (digit(pair[0]), digit(pair[1])) {
                    (Some(high), Some(low)) => {
                        *byte = high << 4 | low;
                        true
                    }
                    _ => false,
                });
        match read {
            true => Ok(Sha256(digest)),
            false => Err(format!("expected a SHA-256 as 64 hex digits, found {hex:?}")),
        }
    }
}

impl serde::Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Sha256 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Sha256, D::Error> {
        let hex = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        hex.parse().map_err(serde::de::Error::custom)
    }
}

/// A UTC instant as RFC 3339 with milliseconds (`2026-11-28T03:08:58.123Z`).
pub fn rfc3339(instant: impl Into<chrono::DateTime<chrono::Utc>>) -> String {
    instant.into().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_is_removed_whole_and_a_link_in_it_is_removed_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let (tree, outside) = (dir.path().join("tree"), dir.path().join("outside"));
        std::fs::create_dir_all(tree.join("stix/deeper")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("kept.json"), b"{}").unwrap();
        for file in ["mappings.csv", "stix/a.json", "stix/deeper/b.json"] {
            std::fs::write(tree.join(file), file).unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(&outside, tree.join("stix/link")).unwrap();
        remove_tree(&tree).unwrap();
        assert!(!tree.exists());
        assert!(outside.join("kept.json").exists(), "what a link points to stays");
        assert!(
            remove_tree(&tree).is_err(),
            "an absent tree is an error, as for remove_dir_all"
        );
    }

    #[test]
    fn a_file_hashed_a_megabyte_at_a_time_hashes_as_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let bytes: Vec<u8> = (0..(5 << 19) + 7).map(|n: u32| (n % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(sha256_of_file(&path).unwrap(), sha256_hex(&bytes));
        assert!(sha256_of_file(&dir.path().join("absent")).is_err());
    }

    #[test]
    fn a_digest_reads_back_as_it_is_written_and_nothing_but_64_hex_digits_reads() {
        let digest = Sha256::of(b"attackmap");
        let hex = digest.to_string();
        assert_eq!(hex, "c1b609f93f25f89367243fa1d33b1ed816e91c7b33f5f1681be6c49312fc7b07");
        assert_eq!(hex.parse::<Sha256>(), Ok(digest));
        assert_eq!(hex.to_uppercase().parse::<Sha256>(), Ok(digest));
        let mut shifted = hex.clone();
        shifted.insert(0, '0');
        for bad in [
            &hex[..63],
            shifted.as_str(),
            &format!("{}g", &hex[..63]),
            &format!("{}é", &hex[..62]),
            "",
        ] {
            assert!(bad.parse::<Sha256>().is_err(), "{bad:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(process_is_alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_is_alive(pid));
    }
}
