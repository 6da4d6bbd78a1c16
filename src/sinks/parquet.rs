//! Writes the table as one Parquet file: zstd, full statistics, the documented Arrow types.

use std::path::Path;

use polars::prelude::*;

use crate::error::Result;
use crate::sinks::write_atomically;

pub fn write(frame: &DataFrame, path: &Path) -> Result<()> {
    write_atomically(path, |file| {
        let mut frame = frame.clone();
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .with_statistics(StatisticsOptions::full())
            .finish(&mut frame)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}
