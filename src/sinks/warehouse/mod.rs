//! The warehouse feed in `out/warehouse/`: the table as a hive-partitioned Parquet dataset, its
//! dimension tables, and (written by `refresh`) the change feed, all in portable Arrow types and
//! described by `schemas/warehouse.schema.json`.
//!
//! The partition columns live in the directory names only, as Hive, Spark, Trino and pyarrow write
//! them: a file that held them too would give pyarrow and pandas two types for one column.

pub mod dimensions;
mod mappings;
pub mod schema;
mod tables;

pub use mappings::MappingsAppender;
pub use tables::TablesWriter;

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::fs::create_dir;
use crate::model::DatasetKey;
use crate::table::COLUMNS;

/// The directories of `out/warehouse/`, one per table.
pub const MAPPINGS_TABLE: &str = "mappings";
pub const CHANGES_TABLE: &str = "changes";
/// The coverage gaps of each dataset (`transforms::gaps`).
pub const GAPS: &str = "gaps";
/// The review list of each derived dataset (`--carry-to`; `transforms::carry`): empty without one.
pub const REVIEW: &str = "review";
/// The one file of each partition (or unpartitioned table).
pub const PART_FILE: &str = "part-0.parquet";
/// The mappings dataset's partition columns, outermost first.
pub const PARTITION_COLUMNS: [&str; 3] = ["framework", "attack_version", "domain"];
/// The change feed's partition column.
pub const RUN_DATE: &str = "run_date";

/// One Parquet file of the warehouse and its rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WarehouseFile {
    pub table: String,
    /// Relative to `out/warehouse/`.
    pub path: String,
    pub rows: usize,
}

/// The table in the warehouse's types: unsigned integers widened (see [`crate::table::ColumnType::portable`]).
pub fn portable(frame: &DataFrame) -> PolarsResult<DataFrame> {
    let mut portable = frame.clone();
    for column in COLUMNS {
        let wanted = column.column_type.portable();
        if wanted != column.column_type {
            let cast = frame.column(column.name)?.cast(&wanted.polars_dtype())?;
            portable.replace(column.name, cast)?;
        }
    }
    Ok(portable)
}

/// Writes one Parquet file of the warehouse: zstd, full statistics, and the table's name and schema
/// version in the file's key-value metadata.
pub fn write_table(frame: &DataFrame, path: &Path, table: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    crate::sinks::parquet::write_with_metadata(frame, path, &table_metadata(table))
}

/// As [`write_table`], for a table of `height` rows of `schema` gathered a row group at a time by
/// `rows(start, count)`: the same bytes.
pub fn write_table_by_row_group(
    path: &Path,
    table: &str,
    schema: &SchemaRef,
    height: usize,
    rows: impl FnMut(usize, usize) -> Result<DataFrame>,
) -> Result<()> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    crate::sinks::parquet::write_by_row_group(path, schema, &table_metadata(table), height, rows)
}

/// The key-value metadata of a warehouse file: its table's name and the schema version.
fn table_metadata(table: &str) -> [(&str, &str); 2] {
    [
        ("attackmap.table", table),
        ("attackmap.schema_version", schema::VERSION),
    ]
}

/// `framework=aws/attack_version=16.1/domain=enterprise`: a partition's directory, values escaped
/// as Hive escapes them (`FileUtils.escapePathName`: control characters and `"#%'*/:=?\{[]^` as
/// `%XX`; the empty value as Hive's default partition). Identifiers are validated at ingest, so this
/// is the last line, not the first.
pub fn partition_dir(values: &[(&str, &str)]) -> PathBuf {
    values
        .iter()
        .map(|(column, value)| format!("{column}={}", escape_partition_value(value)))
        .collect()
}

fn escape_partition_value(value: &str) -> String {
    if value.is_empty() {
        return "__HIVE_DEFAULT_PARTITION__".to_string();
    }
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        let hive_escapes = c.is_ascii_control() || "\"#%'*/:=?\\{[]^".contains(c);
        if hive_escapes {
            escaped.push_str(&format!("%{:02X}", c as u32));
        } else {
            escaped.push(c);
        }
    }
    escaped
}

/// Splits the table by framework, ATT&CK version and domain and writes one file per partition.
/// Rows keep their table order within a partition.
pub fn write_mappings(frame: &DataFrame, dir: &Path) -> Result<Vec<WarehouseFile>> {
    // Each run of one dataset's rows is appended as a dataset of its partition.
    let runs = mappings::dataset_runs(frame)?;
    let datasets: Vec<DatasetKey> = runs
        .iter()
        .map(|([framework, attack_version, domain], _, _)| DatasetKey {
            framework: framework.clone(),
            framework_version: String::new(),
            attack_version: attack_version.clone(),
            domain: domain.clone(),
        })
        .collect();
    let mut appender = MappingsAppender::new(dir, &datasets)?;
    appender.append(frame)?;
    appender.finish()
}

/// Removes what a table's directory holds besides the files `written` (paths relative to `dir`):
/// what an earlier build left (a partition no longer built), links removed, never followed. Written
/// first and pruned after, a table's unchanged files are kept as they are ([`crate::fs::write_staged`]).
fn keep_only(dir: &Path, written: &std::collections::BTreeSet<PathBuf>) -> Result<()> {
    fn prune(root: &Path, dir: &Path, written: &std::collections::BTreeSet<PathBuf>) -> std::io::Result<bool> {
        let mut empty = true;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let kept = if entry.file_type()?.is_dir() {
                let emptied = prune(root, &path, written)?;
                if emptied {
                    std::fs::remove_dir(&path)?;
                }
                !emptied
            } else if written.contains(path.strip_prefix(root).unwrap_or(&path)) {
                true
            } else {
                std::fs::remove_file(&path)?;
                false
            };
            empty &= !kept;
        }
        Ok(empty)
    }
    prune(dir, dir, written).map(drop).map_err(|e| Error::WriteOutput {
        path: dir.to_path_buf(),
        reason: format!("removing what an earlier build left: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_are_escaped_as_hive_does() {
        assert_eq!(
            partition_dir(&[("framework", "aws"), ("attack_version", "16.1")]),
            Path::new("framework=aws/attack_version=16.1")
        );
        assert_eq!(
            partition_dir(&[("framework", "a/b=c d%")]),
            Path::new("framework=a%2Fb%3Dc d%25")
        );
        assert_eq!(
            partition_dir(&[("domain", "")]),
            Path::new("domain=__HIVE_DEFAULT_PARTITION__")
        );
    }

    #[test]
    fn a_table_keeps_the_files_written_and_loses_what_an_earlier_build_left() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("mappings");
        let written = Path::new("framework=aws/attack_version=16.1/part-0.parquet");
        for file in [
            written,
            Path::new("framework=aws/attack_version=15.1/part-0.parquet"),
            Path::new("framework=old/attack_version=16.1/part-0.parquet"),
            Path::new("framework=aws/stray.txt"),
        ] {
            std::fs::create_dir_all(table.join(file).parent().unwrap()).unwrap();
            std::fs::write(table.join(file), "rows").unwrap();
        }
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&outside, table.join("framework=link")).unwrap();
        keep_only(&table, &[written.to_path_buf()].into()).unwrap();
        let mut left: Vec<PathBuf> = walkdir::WalkDir::new(&table)
            .min_depth(1)
            .into_iter()
            .map(|e| e.unwrap().path().strip_prefix(&table).unwrap().to_path_buf())
            .collect();
        left.sort();
        let expected = [
            "framework=aws",
            "framework=aws/attack_version=16.1",
            written.to_str().unwrap(),
        ];
        assert_eq!(left, expected.map(PathBuf::from));
        assert!(outside.is_dir(), "a link is removed, what it points to stays");
    }
}
