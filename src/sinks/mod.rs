//! Sinks: one file per output format, each written whole or not at all.

pub mod csv;
pub mod navigator;
pub mod parquet;
pub mod report;
pub mod stix;

use std::fs::File;
use std::io::{BufWriter, Write};
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

/// Writes a JSON document, pretty-printed with a final newline, atomically.
pub fn write_json(path: &Path, document: &impl serde::Serialize) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(document).map_err(|e| Error::WriteOutput {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    bytes.push(b'\n');
    write_atomically(path, |file| file.write_all(&bytes).map_err(|e| e.to_string()))
}

fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}
