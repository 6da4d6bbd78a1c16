//! Writes a table as one Parquet file: zstd, full statistics, the documented Arrow types.

use std::path::Path;

use polars::prelude::*;

use crate::error::Result;
use crate::sinks::write_atomically;

pub fn write(frame: &DataFrame, path: &Path) -> Result<()> {
    write_with_metadata(frame, path, None)
}

/// Like [`write`], with key-value pairs in the file's footer. The frame is written as one chunk, so
/// the row groups (and so the bytes) do not depend on how the frame was assembled.
pub fn write_with_metadata(frame: &DataFrame, path: &Path, metadata: Option<KeyValueMetadata>) -> Result<()> {
    write_atomically(path, |file| {
        let mut frame = frame.clone();
        frame.rechunk_mut();
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .with_statistics(StatisticsOptions::full())
            .with_key_value_metadata(metadata)
            .finish(&mut frame)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}
