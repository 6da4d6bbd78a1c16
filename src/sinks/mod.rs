//! Sinks: one file per output format, each written whole or not at all.

pub mod csv;
pub mod heatmap;
pub mod navigator;
pub mod parquet;
pub mod report;
pub mod report_html;
pub mod stix;
pub mod warehouse;

use std::io::Write;
use std::path::Path;

use crate::error::Result;
pub use crate::fs::write_atomically;

/// Writes a JSON document, pretty-printed with a final newline, atomically: serialized straight into
/// the file's buffer, never whole in memory (a STIX bundle of the snapshot is megabytes).
pub fn write_json(path: &Path, document: &impl serde::Serialize) -> Result<()> {
    write_atomically(path, |file| {
        serde_json::to_writer_pretty(&mut *file, document).map_err(|e| e.to_string())?;
        file.write_all(b"\n").map_err(|e| e.to_string())
    })
}
