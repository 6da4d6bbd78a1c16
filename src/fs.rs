//! File-system helpers: writes that are whole or not at all.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes a file through a temporary sibling and a rename, so a reader never sees half of it and a
/// failed write leaves the previous file in place.
pub fn write_atomically(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> Result<(), String>) -> Result<()> {
    let failed = |reason: String| Error::WriteOutput {
        path: path.to_path_buf(),
        reason,
    };
    let temporary = temporary_sibling(path);
    let outcome = (|| {
        let file = File::create(&temporary).map_err(|e| format!("creating {}: {e}", temporary.display()))?;
        let mut buffered = BufWriter::with_capacity(1 << 20, file);
        write(&mut buffered)?;
        let file = buffered.into_inner().map_err(|e| e.error().to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
        std::fs::rename(&temporary, path).map_err(|e| format!("renaming {} into place: {e}", temporary.display()))
    })();
    if outcome.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    outcome.map_err(failed)
}

/// Creates a directory and any missing parents (nothing when it exists).
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::WriteOutput {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })
}

fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// The SHA-256 of some bytes, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A UTC instant as RFC 3339 with milliseconds (`2026-11-28T03:08:58.123Z`).
pub fn rfc3339(instant: impl Into<chrono::DateTime<chrono::Utc>>) -> String {
    instant.into().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
