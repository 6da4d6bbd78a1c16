//! A table read a column at a time: what compares two large tables without holding either whole.

use std::path::{Path, PathBuf};

use polars::prelude::*;

/// A table whose columns are asked for one at a time.
pub trait Columns: Sync {
    fn height(&self) -> usize;
    /// The column names, in the table's order.
    fn names(&self) -> Vec<String>;
    fn column(&self, name: &str) -> PolarsResult<Column>;
}

impl Columns for DataFrame {
    fn height(&self) -> usize {
        DataFrame::height(self)
    }

    fn names(&self) -> Vec<String> {
        self.get_column_names().into_iter().map(|n| n.to_string()).collect()
    }

    fn column(&self, name: &str) -> PolarsResult<Column> {
        DataFrame::column(self, name).cloned()
    }
}

/// The table's `names` columns (those it has), as a frame.
pub fn project(table: &dyn Columns, names: &[&str]) -> PolarsResult<DataFrame> {
    let present = table.names();
    let columns = names
        .iter()
        .filter(|name| present.iter().any(|p| p == *name))
        .map(|name| table.column(name))
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(table.height(), columns)
}

/// The rows of `table` at `positions`, every column, gathered a column at a time.
pub fn take_rows(table: &dyn Columns, positions: &IdxCa) -> PolarsResult<DataFrame> {
    let columns = table
        .names()
        .iter()
        .map(|name| table.column(name)?.take(positions))
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(positions.len(), columns)
}

/// Tables up to this many rows are read whole (a column's file read costs more than its memory);
/// larger ones a column at a time.
const READ_WHOLE_UP_TO: usize = 512 * 512;

/// A table in a Parquet file: read whole when small, else a column at a time as asked for.
pub enum StoredTable {
    Whole(DataFrame),
    ByColumn {
        path: PathBuf,
        height: usize,
        names: Vec<String>,
    },
}

impl StoredTable {
    pub fn open(path: &Path) -> PolarsResult<StoredTable> {
        let mut reader = ParquetReader::new(open(path)?);
        let height = reader.num_rows()?;
        if height <= READ_WHOLE_UP_TO {
            return reader.finish().map(StoredTable::Whole);
        }
        let names = reader.schema()?.iter_names().map(|n| n.to_string()).collect();
        Ok(StoredTable::ByColumn {
            path: path.to_path_buf(),
            height,
            names,
        })
    }
}

fn open(path: &Path) -> PolarsResult<std::fs::File> {
    std::fs::File::open(path).map_err(|e| polars_err!(ComputeError: "opening {}: {e}", path.display()))
}

impl Columns for StoredTable {
    fn height(&self) -> usize {
        match self {
            StoredTable::Whole(frame) => frame.height(),
            StoredTable::ByColumn { height, .. } => *height,
        }
    }

    fn names(&self) -> Vec<String> {
        match self {
            StoredTable::Whole(frame) => Columns::names(frame),
            StoredTable::ByColumn { names, .. } => names.clone(),
        }
    }

    fn column(&self, name: &str) -> PolarsResult<Column> {
        match self {
            StoredTable::Whole(frame) => Columns::column(frame, name),
            StoredTable::ByColumn { path, names, .. } => {
                polars_ensure!(names.iter().any(|n| n == name), ColumnNotFound: "{name}");
                let frame = ParquetReader::new(open(path)?)
                    .with_columns(Some(vec![name.to_string()]))
                    .finish()?;
                Columns::column(&frame, name)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_table_reads_a_column_at_a_time_the_values_a_small_one_reads_whole() {
        let height = READ_WHOLE_UP_TO + 3;
        let mut frame = df!(
            "id" => (0..height as u32).collect::<Vec<_>>(),
            "text" => (0..height).map(|n| format!("row {n}")).collect::<Vec<_>>(),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table.parquet");
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .finish(&mut frame)
            .unwrap();
        let stored = StoredTable::open(&path).unwrap();
        assert!(matches!(stored, StoredTable::ByColumn { .. }));
        assert_eq!(Columns::height(&stored), height);
        assert_eq!(Columns::names(&stored), ["id", "text"]);
        assert_eq!(stored.column("text").unwrap(), Columns::column(&frame, "text").unwrap());
        assert!(stored.column("absent").is_err());

        let mut small = frame.head(Some(10));
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .finish(&mut small)
            .unwrap();
        assert!(matches!(StoredTable::open(&path).unwrap(), StoredTable::Whole(_)));
    }
}
