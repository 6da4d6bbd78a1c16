//! The warehouse's mappings dataset, appended one chunk of the table at a time: a partition (framework,
//! ATT&CK version, domain) is complete when the table moves on to the next framework, so only one
//! framework's rows are held, and each of its partitions is written whole as soon as it is complete.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::{
    partition_dir, portable, replace_dir, write_table, WarehouseFile, MAPPINGS_TABLE, PARTITION_COLUMNS, PART_FILE,
};
use crate::error::{Error, Result};

/// The partition column that changes last in table order: its runs are whole partitions.
const FRAMEWORK: &str = PARTITION_COLUMNS[0];

/// Writes the mappings dataset of `out/warehouse/` from the table's rows appended in table order.
pub struct MappingsAppender {
    /// `out/warehouse/`.
    dir: PathBuf,
    /// The framework whose rows are held, and those rows in the warehouse's types, in table order.
    framework: Option<String>,
    chunks: Vec<DataFrame>,
    written: Vec<WarehouseFile>,
}

impl MappingsAppender {
    /// Empties (or creates) the mappings dataset's directory under `dir`, the warehouse's.
    pub fn new(dir: &Path) -> Result<MappingsAppender> {
        replace_dir(&dir.join(MAPPINGS_TABLE))?;
        Ok(MappingsAppender {
            dir: dir.to_path_buf(),
            framework: None,
            chunks: Vec::new(),
            written: Vec::new(),
        })
    }

    /// Appends rows of the table (one dataset's, or more), which come after every row appended before.
    pub fn append(&mut self, chunk: &DataFrame) -> Result<()> {
        let frameworks = chunk.column(FRAMEWORK)?.str()?;
        let mut runs: Vec<(&str, usize, usize)> = Vec::new();
        for (row, framework) in frameworks.iter().enumerate() {
            let framework = framework.unwrap_or_default();
            match runs.last_mut() {
                Some((current, _, length)) if *current == framework => *length += 1,
                _ => runs.push((framework, row, 1)),
            }
        }
        for (framework, offset, length) in runs {
            if self.framework.as_deref() != Some(framework) {
                self.start_framework(framework)?;
            }
            self.chunks.push(portable(&chunk.slice(offset as i64, length))?);
        }
        Ok(())
    }

    /// Writes the last framework's partitions and returns every partition's file, in the order of
    /// their (framework, ATT&CK version, domain).
    pub fn finish(mut self) -> Result<Vec<WarehouseFile>> {
        self.write_held()?;
        Ok(self.written)
    }

    /// Writes the held framework's partitions, complete now that `framework`'s rows begin.
    fn start_framework(&mut self, framework: &str) -> Result<()> {
        if let Some(held) = self.framework.as_deref().filter(|held| framework < *held) {
            return Err(Error::WriteOutput {
                path: self.dir.join(MAPPINGS_TABLE),
                reason: format!(
                    "rows of framework {framework:?} came after those of {held:?}: the table must be \
                     appended in table order"
                ),
            });
        }
        self.write_held()?;
        self.framework = Some(framework.to_string());
        Ok(())
    }

    /// Splits the held rows by partition and writes one file per partition, one writer thread per
    /// core. Rows keep their table order within a partition.
    fn write_held(&mut self) -> Result<()> {
        let mut chunks = std::mem::take(&mut self.chunks).into_iter();
        let Some(mut frame) = chunks.next() else {
            return Ok(());
        };
        for chunk in chunks {
            frame.vstack_mut(&chunk)?;
        }
        // One chunk per column: gathering each partition's rows from a frame stacked from many
        // chunks took four times as long (121 s against 28 s at 7 million rows in 521 chunks).
        frame.rechunk_mut_par();
        let mut partitions: BTreeMap<[&str; 3], Vec<IdxSize>> = BTreeMap::new();
        let keys = PARTITION_COLUMNS
            .iter()
            .map(|name| frame.column(name).and_then(|c| c.str().cloned()))
            .collect::<PolarsResult<Vec<_>>>()?;
        let mut key_iters: Vec<_> = keys.iter().map(|k| k.iter()).collect();
        for index in 0..frame.height() {
            let mut key = [""; 3];
            for (slot, values) in key.iter_mut().zip(key_iters.iter_mut()) {
                *slot = values.next().flatten().unwrap_or_default();
            }
            partitions.entry(key).or_default().push(index as IdxSize);
        }

        // The partition columns are in the directory names, not in the files.
        let in_files = frame.drop_many(PARTITION_COLUMNS);
        let partitions: Vec<([&str; 3], Vec<IdxSize>)> = partitions.into_iter().collect();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let written = crate::parallel::map_in_order(&partitions, cores, |(key, indices)| -> Result<WarehouseFile> {
            let values: Vec<(&str, &str)> = PARTITION_COLUMNS.iter().copied().zip(*key).collect();
            let path = Path::new(MAPPINGS_TABLE).join(partition_dir(&values)).join(PART_FILE);
            let part = in_files.take(&IdxCa::from_slice("index".into(), indices))?;
            write_table(&part, &self.dir.join(&path), MAPPINGS_TABLE)?;
            Ok(WarehouseFile {
                table: MAPPINGS_TABLE.to_string(),
                path: path.to_string_lossy().into_owned(),
                rows: part.height(),
            })
        });
        for file in written {
            self.written.push(file?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{by_dataset, MappingRow};
    use crate::sinks::warehouse::write_mappings;
    use crate::table::to_dataframe;
    use crate::test_support::MappingRowBuilder;

    fn mapping(framework: &str, framework_version: &str, attack_version: &str, technique: &str) -> MappingRow {
        MappingRow {
            attack_version: attack_version.into(),
            ..MappingRowBuilder::new(framework, framework_version)
                .capability("C1")
                .technique(technique)
                .build()
        }
    }

    /// Two frameworks, each with datasets of two framework versions over two ATT&CK versions: a
    /// partition's datasets are not next to each other in table order.
    fn table() -> Vec<MappingRow> {
        let mut rows = Vec::new();
        for framework in ["aws", "azure"] {
            for framework_version in ["v1", "v2"] {
                for attack_version in ["15.1", "16.1"] {
                    for technique in ["T1078", "T1110", "T1562"] {
                        rows.push(mapping(framework, framework_version, attack_version, technique));
                    }
                }
            }
        }
        rows.sort_by(MappingRow::grain_cmp);
        rows
    }

    /// One dataset's rows as the table's frame.
    fn chunk(rows: &[&MappingRow]) -> DataFrame {
        to_dataframe(&rows.iter().map(|row| (*row).clone()).collect::<Vec<_>>()).unwrap()
    }

    fn bytes(dir: &Path, files: &[WarehouseFile]) -> Vec<Vec<u8>> {
        files
            .iter()
            .map(|file| std::fs::read(dir.join(&file.path)).unwrap())
            .collect()
    }

    #[test]
    fn appended_a_dataset_at_a_time_the_partitions_are_the_whole_tables_and_written_when_complete() {
        let rows = table();
        let whole = tempfile::tempdir().unwrap();
        let from_whole = write_mappings(&to_dataframe(&rows).unwrap(), whole.path()).unwrap();

        let by_datasets = tempfile::tempdir().unwrap();
        let aws_15_1 = by_datasets
            .path()
            .join("mappings/framework=aws/attack_version=15.1/domain=enterprise")
            .join(PART_FILE);
        let mut appender = MappingsAppender::new(by_datasets.path()).unwrap();
        for (dataset, rows) in by_dataset(&rows) {
            let aws_complete = dataset.framework != "aws";
            appender.append(&chunk(&rows)).unwrap();
            assert_eq!(aws_15_1.exists(), aws_complete, "after {dataset}");
        }
        let from_datasets = appender.finish().unwrap();

        assert_eq!(from_datasets, from_whole);
        let partitions: Vec<(&str, usize)> = from_whole.iter().map(|f| (f.path.as_str(), f.rows)).collect();
        assert_eq!(
            partitions,
            [
                (
                    "mappings/framework=aws/attack_version=15.1/domain=enterprise/part-0.parquet",
                    6
                ),
                (
                    "mappings/framework=aws/attack_version=16.1/domain=enterprise/part-0.parquet",
                    6
                ),
                (
                    "mappings/framework=azure/attack_version=15.1/domain=enterprise/part-0.parquet",
                    6
                ),
                (
                    "mappings/framework=azure/attack_version=16.1/domain=enterprise/part-0.parquet",
                    6
                ),
            ]
        );
        assert_eq!(
            bytes(by_datasets.path(), &from_datasets),
            bytes(whole.path(), &from_whole)
        );
    }

    #[test]
    fn a_framework_appended_after_a_later_one_is_refused() {
        let rows = table();
        let datasets = by_dataset(&rows);
        let first_of = |framework: &str| datasets.iter().find(|(key, _)| key.framework == framework).unwrap().1;
        let dir = tempfile::tempdir().unwrap();
        let mut appender = MappingsAppender::new(dir.path()).unwrap();
        appender.append(&chunk(first_of("azure"))).unwrap();
        let error = appender.append(&chunk(first_of("aws"))).unwrap_err().to_string();
        assert!(
            error.contains(r#"rows of framework "aws" came after those of "azure""#),
            "{error}"
        );
    }
}
