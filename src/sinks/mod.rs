//! Sinks: one file per output format, each written whole or not at all.

pub mod csv;
pub mod parquet;
pub mod report;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes a file through a temporary sibling and a rename, so a reader never sees half of it and a
/// failed write leaves the previous file in place.
pub fn write_atomically(path: &Path, write: impl FnOnce(&mut std::fs::File) -> Result<(), String>) -> Result<()> {
    let failed = |reason: String| Error::WriteOutput {
        path: path.to_path_buf(),
        reason,
    };
    let temporary = temporary_sibling(path);
    let outcome = (|| {
        let mut file =
            std::fs::File::create(&temporary).map_err(|e| format!("creating {}: {e}", temporary.display()))?;
        write(&mut file)?;
        file.flush().map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
        std::fs::rename(&temporary, path).map_err(|e| format!("renaming {} into place: {e}", temporary.display()))
    })();
    if outcome.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    outcome.map_err(failed)
}

fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}
