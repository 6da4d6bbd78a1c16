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

use crate::error::{Error, Result};
pub use crate::fs::write_atomically;

/// Writes a JSON document, pretty-printed with a final newline, atomically.
pub fn write_json(path: &Path, document: &impl serde::Serialize) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(document).map_err(|e| Error::WriteOutput {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    bytes.push(b'\n');
    write_atomically(path, |file| file.write_all(&bytes).map_err(|e| e.to_string()))
}
