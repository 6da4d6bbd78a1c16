//! The warehouse's mappings dataset, appended one dataset at a time: a partition (framework, ATT&CK
//! version, domain) is written whole as soon as its last dataset has come, so only the partitions
//! still waiting for a dataset are held.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::{
    keep_only, partition_dir, portable, write_table, WarehouseFile, MAPPINGS_TABLE, PARTITION_COLUMNS, PART_FILE,
};
use crate::error::{Error, Result};
use crate::fs::create_dir;
use crate::model::DatasetKey;

/// A partition's values: framework, ATT&CK version, domain.
type PartitionKey = [String; 3];

/// Writes the mappings dataset of `out/warehouse/` from the table's datasets, appended in table order.
pub struct MappingsAppender {
    /// `out/warehouse/`.
    dir: PathBuf,
    /// The partitions not written yet: how many of their datasets are still to come, and their rows
    /// so far in the warehouse's types, in table order.
    waiting: BTreeMap<PartitionKey, Partition>,
    written: Vec<(PartitionKey, WarehouseFile)>,
}

#[derive(Default)]
struct Partition {
    datasets_to_come: usize,
    chunks: Vec<DataFrame>,
}

impl MappingsAppender {
    /// The mappings dataset under `dir`, the warehouse's, for a table of `datasets`, each of which
    /// is appended whole, in one chunk.
    pub fn new<'a>(dir: &Path, datasets: impl IntoIterator<Item = &'a DatasetKey>) -> Result<MappingsAppender> {
        create_dir(&dir.join(MAPPINGS_TABLE))?;
        let mut waiting: BTreeMap<PartitionKey, Partition> = BTreeMap::new();
        for dataset in datasets {
            let key = [&dataset.framework, &dataset.attack_version, &dataset.domain].map(String::clone);
            waiting.entry(key).or_default().datasets_to_come += 1;
        }
        Ok(MappingsAppender {
            dir: dir.to_path_buf(),
            waiting,
            written: Vec::new(),
        })
    }

    /// Appends whole datasets of the table (one, or more), which come after every row appended
    /// before; writes the partitions they complete.
    pub fn append(&mut self, chunk: &DataFrame) -> Result<()> {
        let mut complete = Vec::new();
        for (key, offset, length) in dataset_runs(chunk)? {
            let expected = self.waiting.get(&key).is_some_and(|p| p.datasets_to_come > 0);
            if !expected {
                return Err(self.refused(&key));
            }
            let partition = self.waiting.get_mut(&key).expect("checked above");
            partition.datasets_to_come -= 1;
            partition.chunks.push(portable(&chunk.slice(offset as i64, length))?);
            if partition.datasets_to_come == 0 {
                complete.push(key);
            }
        }
        self.write(complete)
    }

    /// Writes the partitions still held (a dataset announced but without rows never came), removes
    /// the partitions of earlier builds not written now, and returns every partition's file, in the
    /// order of their (framework, ATT&CK version, domain).
    pub fn finish(mut self) -> Result<Vec<WarehouseFile>> {
        let held = self
            .waiting
            .iter()
            .filter(|(_, partition)| !partition.chunks.is_empty())
            .map(|(key, _)| key.clone())
            .collect();
        self.write(held)?;
        let in_the_table = |file: &WarehouseFile| {
            let path = Path::new(&file.path).strip_prefix(MAPPINGS_TABLE);
            path.expect("a partition's file is under its table").to_path_buf()
        };
        let written = self.written.iter().map(|(_, file)| in_the_table(file)).collect();
        keep_only(&self.dir.join(MAPPINGS_TABLE), &written)?;
        self.written.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(self.written.into_iter().map(|(_, file)| file).collect())
    }

    /// A dataset of a partition that expects no more.
    fn refused(&self, key: &PartitionKey) -> Error {
        Error::WriteOutput {
            path: self.dir.join(MAPPINGS_TABLE),
            reason: format!(
                "rows of framework {:?}, ATT&CK {:?}, domain {:?} came for a partition that expects no more datasets: \
                 each dataset of the table is appended once, whole",
                key[0], key[1], key[2]
            ),
        }
    }

    /// Writes the partitions `keys`, each whole, one writer thread per core.
    fn write(&mut self, keys: Vec<PartitionKey>) -> Result<()> {
        let mut parts = Vec::with_capacity(keys.len());
        for key in keys {
            let partition = self.waiting.remove(&key).unwrap_or_default();
            let mut chunks = partition.chunks.into_iter();
            let Some(mut frame) = chunks.next() else {
                continue;
            };
            for chunk in chunks {
                frame.vstack_mut(&chunk)?;
            }
            // The partition columns are in the directory names, not in the files.
            parts.push((key, frame.drop_many(PARTITION_COLUMNS)));
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let written = crate::parallel::map_in_order(&parts, cores, |(key, part)| -> Result<WarehouseFile> {
            let values: Vec<(&str, &str)> = PARTITION_COLUMNS
                .iter()
                .copied()
                .zip(key.iter().map(String::as_str))
                .collect();
            let path = Path::new(MAPPINGS_TABLE).join(partition_dir(&values)).join(PART_FILE);
            write_table(part, &self.dir.join(&path), MAPPINGS_TABLE)?;
            Ok(WarehouseFile {
                table: MAPPINGS_TABLE.to_string(),
                path: path.to_string_lossy().into_owned(),
                rows: part.height(),
            })
        });
        for ((key, _), file) in parts.into_iter().zip(written) {
            self.written.push((key, file?));
        }
        Ok(())
    }
}

/// The runs of one dataset's rows in `chunk`: their partition, first row and length.
pub(super) fn dataset_runs(chunk: &DataFrame) -> Result<Vec<(PartitionKey, usize, usize)>> {
    let columns = ["framework", "framework_version", "attack_version", "domain"]
        .map(|name| chunk.column(name).and_then(|c| c.str().cloned()));
    let [framework, framework_version, attack_version, domain] = columns;
    let (framework, framework_version, attack_version, domain) =
        (framework?, framework_version?, attack_version?, domain?);
    let mut runs: Vec<([&str; 4], usize, usize)> = Vec::new();
    let rows = framework
        .iter()
        .zip(framework_version.iter())
        .zip(attack_version.iter())
        .zip(domain.iter());
    for (row, (((framework, framework_version), attack_version), domain)) in rows.enumerate() {
        let dataset = [framework, framework_version, attack_version, domain].map(Option::unwrap_or_default);
        match runs.last_mut() {
            Some((current, _, length)) if *current == dataset => *length += 1,
            _ => runs.push((dataset, row, 1)),
        }
    }
    Ok(runs
        .into_iter()
        .map(|([framework, _, attack_version, domain], offset, length)| {
            ([framework, attack_version, domain].map(String::from), offset, length)
        })
        .collect())
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
        let datasets = by_dataset(&rows);
        let mut appender = MappingsAppender::new(by_datasets.path(), datasets.keys()).unwrap();
        for (dataset, rows) in &datasets {
            // aws 15.1's partition holds the datasets of v1 and v2: complete with v2's.
            let aws_complete = dataset.framework != "aws" || dataset.framework_version == "v2";
            appender.append(&chunk(rows)).unwrap();
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
    fn a_dataset_a_partition_does_not_expect_is_refused() {
        let rows = table();
        let datasets = by_dataset(&rows);
        let (first, first_rows) = datasets.iter().next().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut appender = MappingsAppender::new(dir.path(), [first]).unwrap();
        appender.append(&chunk(first_rows)).unwrap();
        let error = appender.append(&chunk(first_rows)).unwrap_err().to_string();
        assert!(error.contains(r#"framework "aws", ATT&CK "15.1""#), "{error}");
    }
}
