//! Sinks: one file per output format, each written whole or not at all.

pub mod csv;
pub mod heatmap;
pub mod mapping_file;
pub mod navigator;
pub mod parquet;
pub mod report;
pub mod report_html;
pub mod stix;
pub mod warehouse;

use std::io::Write;
use std::path::Path;

use crate::error::Result;
/// Every output is written into a staging tree that is synced whole before it is published.
pub use crate::fs::write_staged;

/// `1 capability`, `2 capabilities`: a count and the word for it, for the texts of every output.
pub fn count_of(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `text` cut with an ellipsis to at most `chars` characters (at least 2), for the texts of every
/// output that has a width: a heatmap's cells, the 80-column summary.
pub fn cut_to(text: &str, chars: usize) -> String {
    let room = chars.max(2);
    if text.chars().count() <= room {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(room - 1).collect();
    cut.push('…');
    cut
}

/// Writes a JSON document, pretty-printed with a final newline, atomically: serialized straight into
/// the file's buffer, never whole in memory (a STIX bundle of the snapshot is megabytes).
pub fn write_json(path: &Path, document: &impl serde::Serialize) -> Result<()> {
    write_staged(path, |file| {
        serde_json::to_writer_pretty(&mut *file, document).map_err(|e| e.to_string())?;
        file.write_all(b"\n").map_err(|e| e.to_string())
    })
}

/// For `skip_serializing_if`: a count that is zero is left out (a key only some runs have).
pub fn is_zero(count: &usize) -> bool {
    *count == 0
}
