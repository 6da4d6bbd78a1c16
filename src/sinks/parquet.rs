//! Writes a table as one Parquet file: zstd, full statistics, and the Arrow types every reader knows.
//!
//! Polars writes its strings as Arrow `string_view` and its lists as `large_list<string_view>` in the
//! Arrow schema it keeps in the file (`ARROW:schema`), and pandas, older pyarrow and Spark's Arrow
//! path cannot read those. The schema written here is Polars' oldest compatibility level instead:
//! `large_string` and `large_list<large_string>`. The Parquet columns themselves are the same
//! (UTF-8 byte arrays, lists): only the reader's Arrow type changes, and nothing is lost.

use std::path::Path;

use polars::prelude::*;

use crate::error::Result;
use crate::sinks::write_staged;

/// The key under which Parquet files carry their Arrow schema.
const ARROW_SCHEMA_KEY: &str = "ARROW:schema";

pub fn write(frame: &DataFrame, path: &Path) -> Result<()> {
    write_with_metadata(frame, path, &[])
}

/// Like [`write`], with key-value pairs in the file's footer. The frame is written as one chunk, so
/// the row groups (and so the bytes) do not depend on how the frame was assembled.
pub fn write_with_metadata(frame: &DataFrame, path: &Path, metadata: &[(&str, &str)]) -> Result<()> {
    let mut pairs = vec![(ARROW_SCHEMA_KEY.to_string(), portable_arrow_schema(frame))];
    pairs.extend(metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let metadata = KeyValueMetadata::from_static(pairs);
    write_staged(path, |file| {
        let mut frame = frame.clone();
        frame.rechunk_mut();
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .with_statistics(StatisticsOptions::full())
            .with_key_value_metadata(Some(metadata))
            .finish(&mut frame)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

/// The frame's Arrow schema at Polars' oldest compatibility level (`large_string`, `large_list`),
/// encoded as Parquet files carry it.
fn portable_arrow_schema(frame: &DataFrame) -> String {
    let schema = frame.schema().to_arrow(CompatLevel::oldest());
    polars_parquet::write::schema_to_metadata_key(&schema)
        .value
        .unwrap_or_default()
}
