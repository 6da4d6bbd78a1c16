//! The warehouse's tables other than the mappings dataset, written from the datasets one at a time:
//! each dataset's rows leave behind only what the dimension tables hold, and its gaps, until
//! [`TablesWriter::finish`] writes every table.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use polars::prelude::*;

use super::dimensions::{self, DimensionIndex};
use super::{keep_only, write_table, WarehouseFile, GAPS, PART_FILE, REVIEW};
use crate::error::{Error, Result};
use crate::fs::create_dir;
use crate::model::{DatasetKey, MappingRow};
use crate::sources::attack_stix::AttackCatalog;
use crate::transforms::carry::{self, ReviewTechnique};
use crate::transforms::gaps::{self, Gap};

/// Writes the dimension tables, the gaps and the review list into a directory from datasets added one
/// at a time, in any order and from several threads at once: the files are the same whatever the order.
pub struct TablesWriter<'a> {
    attack: &'a AttackCatalog,
    dir: PathBuf,
    added: Mutex<Added>,
}

/// What the datasets added so far leave for the tables.
#[derive(Default)]
struct Added {
    dimensions: DimensionIndex,
    /// Every dataset added, with its gaps in the order given.
    gaps: BTreeMap<Arc<DatasetKey>, Vec<Arc<GapTechnique>>>,
    /// One copy of each gap's technique, however many datasets miss it.
    gap_techniques: HashSet<Arc<GapTechnique>>,
}

/// What a gap says besides its dataset.
#[derive(PartialEq, Eq, Hash)]
struct GapTechnique {
    technique_id: String,
    technique_name: String,
    tactics: Vec<String>,
}

impl<'a> TablesWriter<'a> {
    /// A writer into `dir` (created now), with the ATT&CK bundles the techniques table lists.
    pub fn new(attack: &'a AttackCatalog, dir: &Path) -> Result<TablesWriter<'a>> {
        create_dir(dir)?;
        Ok(TablesWriter {
            attack,
            dir: dir.to_path_buf(),
            added: Mutex::default(),
        })
    }

    /// Adds one dataset: its rows in table order and its gaps. Each dataset is added once.
    pub fn add_dataset(&self, dataset: &DatasetKey, rows: &[&MappingRow], gaps: &[&Gap]) -> Result<()> {
        let not_of_it = |what: String| Error::WriteOutput {
            path: self.dir.clone(),
            reason: format!("{what} was given as one of dataset {dataset}"),
        };
        if let Some(row) = rows.iter().find(|row| !row.is_of(dataset)) {
            return Err(not_of_it(format!("a row of dataset {}", row.dataset())));
        }
        if let Some(gap) = gaps.iter().find(|gap| gap.dataset != *dataset) {
            return Err(not_of_it(format!("a gap of dataset {}", gap.dataset)));
        }
        let dataset = Arc::new(dataset.clone());
        let index = DimensionIndex::of_dataset(&dataset, rows);

        let mut added = self.added.lock().map_err(|_| failed_midway(&self.dir))?;
        if added.gaps.contains_key(&dataset) {
            return Err(Error::WriteOutput {
                path: self.dir.clone(),
                reason: format!("dataset {dataset} was added twice"),
            });
        }
        added.dimensions.merge(index);
        let techniques = gaps.iter().map(|gap| added.gap_technique(gap)).collect();
        added.gaps.insert(dataset, techniques);
        Ok(())
    }

    /// Writes every table, replacing what an earlier build left, and returns the files in the order
    /// written: the dimension tables, the gaps, then `--carry-to`'s review list (empty without one).
    pub fn finish(self, review: &[ReviewTechnique]) -> Result<Vec<WarehouseFile>> {
        let added = self.added.into_inner().map_err(|_| failed_midway(&self.dir))?;
        let mut tables = dimensions::tables(&added.dimensions, self.attack)?;
        tables.push((GAPS, gaps_frame(&added.gaps)?));
        tables.push((REVIEW, carry::review_frame(review)?));
        let mut files = Vec::new();
        for (table, frame) in tables {
            let path = format!("{table}/{PART_FILE}");
            write_table(&frame, &self.dir.join(&path), table)?;
            keep_only(&self.dir.join(table), &[PathBuf::from(PART_FILE)].into())?;
            files.push(WarehouseFile {
                table: table.to_string(),
                path,
                rows: frame.height(),
            });
        }
        Ok(files)
    }
}

/// A thread panicked while adding a dataset: what was added is incomplete.
fn failed_midway(dir: &Path) -> Error {
    Error::WriteOutput {
        path: dir.to_path_buf(),
        reason: "adding a dataset to the warehouse tables failed midway".to_string(),
    }
}

impl Added {
    /// The shared copy of a gap's technique.
    fn gap_technique(&mut self, gap: &Gap) -> Arc<GapTechnique> {
        let technique = GapTechnique {
            technique_id: gap.technique_id.clone(),
            technique_name: gap.technique_name.clone(),
            tactics: gap.tactics.clone(),
        };
        if let Some(shared) = self.gap_techniques.get(&technique) {
            return shared.clone();
        }
        let shared = Arc::new(technique);
        self.gap_techniques.insert(shared.clone());
        shared
    }
}

/// The gaps table: every dataset's gaps, in dataset order (each dataset's as given).
fn gaps_frame(datasets: &BTreeMap<Arc<DatasetKey>, Vec<Arc<GapTechnique>>>) -> PolarsResult<DataFrame> {
    let mut frame = gaps::frame(&[])?;
    for (dataset, techniques) in datasets.iter().filter(|(_, techniques)| !techniques.is_empty()) {
        let gaps: Vec<Gap> = techniques
            .iter()
            .map(|technique| Gap {
                dataset: DatasetKey::clone(dataset),
                technique_id: technique.technique_id.clone(),
                technique_name: technique.technique_name.clone(),
                tactics: technique.tactics.clone(),
            })
            .collect();
        frame.vstack_mut(&gaps::frame(&gaps)?)?;
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::by_dataset;
    use crate::test_support::MappingRowBuilder;

    /// What the warehouse's tables are made of (its mappings dataset is the table: [`write_mappings`]).
    #[derive(Clone, Copy)]
    struct Contents<'a> {
        /// The table's rows, for the dimension tables.
        rows: &'a [MappingRow],
        gaps: &'a [Gap],
        /// `--carry-to`'s review list: empty without one.
        review: &'a [ReviewTechnique],
    }

    /// The oracle of the tests: writes the dimension tables, the gaps and the review list into `dir`, replacing what an earlier
    /// build left there. The mappings dataset is [`write_mappings`]'s; the change feed is not touched.
    fn write_tables(contents: Contents, attack: &AttackCatalog, dir: &Path) -> Result<Vec<WarehouseFile>> {
        let writer = TablesWriter::new(attack, dir)?;
        let mut datasets: BTreeMap<DatasetKey, (Vec<&MappingRow>, Vec<&Gap>)> = by_dataset(contents.rows)
            .into_iter()
            .map(|(dataset, rows)| (dataset, (rows, Vec::new())))
            .collect();
        for gap in contents.gaps {
            datasets.entry(gap.dataset.clone()).or_default().1.push(gap);
        }
        for (dataset, (rows, gaps)) in &datasets {
            writer.add_dataset(dataset, rows, gaps)?;
        }
        writer.finish(contents.review)
    }

    /// The fixture ATT&CK 17.1 Enterprise bundle (18 techniques).
    fn attack() -> AttackCatalog {
        let bundle = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/moved/data/attack/enterprise-attack-17.1.json"
        );
        AttackCatalog::load(&[PathBuf::from(bundle)]).unwrap()
    }

    /// A capability of `framework` mapped to a technique, in ATT&CK `attack_version` Enterprise.
    fn mapping(framework: &str, attack_version: &str, capability: &str, technique: &str) -> MappingRow {
        let row = MappingRowBuilder::new(framework, "v1")
            .capability(capability)
            .capability_group(&format!("{capability} group"))
            .technique(technique)
            .technique_name(&format!("{technique} as {framework} names it"))
            .build();
        MappingRow {
            attack_version: attack_version.into(),
            capability_description: Some(format!("{capability} as {framework} {attack_version} says").into()),
            ..row
        }
    }

    /// Five datasets, three of them with a bundle (and so with gaps), in table order.
    fn table() -> Vec<MappingRow> {
        let mut rows = vec![
            mapping("aws", "17.1", "GuardDuty", "T1562"),
            mapping("aws", "17.1", "GuardDuty", "T1562.001"),
            mapping("aws", "16.1", "GuardDuty", "T1078"),
            mapping("azure", "17.1", "Defender", "T1110"),
            mapping("azure", "17.1", "Sentinel", "T9999"),
            mapping("azure", "15.1", "Defender", "T1110"),
            mapping("nist_800_53", "17.1", "AC-2", "T1078"),
        ];
        rows.sort_by(MappingRow::grain_cmp);
        rows
    }

    /// Every file under `dir`, by path relative to it, with its bytes.
    fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        walkdir::WalkDir::new(dir)
            .into_iter()
            .map(Result::unwrap)
            .filter(|entry| entry.file_type().is_file())
            .map(|entry| {
                let path = entry.path().strip_prefix(dir).unwrap().to_path_buf();
                (path, std::fs::read(entry.path()).unwrap())
            })
            .collect()
    }

    #[test]
    fn datasets_added_in_reverse_from_threads_write_the_tables_the_whole_table_writes() {
        let (attack, rows) = (attack(), table());
        let gaps = gaps::gaps(&rows, &attack);
        let review = [ReviewTechnique {
            dataset: rows[0].dataset(),
            derived_from: "16.1".to_string(),
            technique_id: "T1562.012".to_string(),
            technique_name: "Disable or Modify Linux Audit System".to_string(),
            tactics: vec!["defense-evasion".to_string()],
        }];
        let whole = tempfile::tempdir().unwrap();
        let contents = Contents {
            rows: &rows,
            gaps: &gaps,
            review: &review,
        };
        let from_whole = write_tables(contents, &attack, whole.path()).unwrap();

        let by_datasets = tempfile::tempdir().unwrap();
        let writer = TablesWriter::new(&attack, by_datasets.path()).unwrap();
        let datasets: Vec<_> = by_dataset(&rows).into_iter().rev().collect();
        assert_eq!(datasets.len(), 5);
        std::thread::scope(|scope| {
            for (dataset, rows) in &datasets {
                let gaps: Vec<&Gap> = gaps.iter().filter(|gap| gap.dataset == *dataset).collect();
                let writer = &writer;
                scope.spawn(move || writer.add_dataset(dataset, rows, &gaps).unwrap());
            }
        });
        let from_datasets = writer.finish(&review).unwrap();

        assert_eq!(from_datasets, from_whole);
        let tables: Vec<&str> = from_whole.iter().map(|file| file.table.as_str()).collect();
        assert_eq!(
            tables,
            [
                "capabilities",
                "capability_groups",
                "techniques",
                "frameworks",
                "gaps",
                "review"
            ]
        );
        let rows_of = |table: &str| from_whole.iter().find(|file| file.table == table).unwrap().rows;
        assert_eq!(rows_of("capabilities"), 4);
        assert_eq!(rows_of("frameworks"), 3);
        // The bundle's 18 techniques, T1078 and T1110 in 15.1 and 16.1, and T9999 that no bundle names.
        assert_eq!(rows_of("techniques"), 18 + 2 + 1);
        // 18 live techniques in each of the three 17.1 datasets, less the ones each maps.
        assert_eq!(rows_of("gaps"), (18 - 2) + (18 - 1) + (18 - 1));
        assert_eq!(files_under(by_datasets.path()), files_under(whole.path()));
    }

    #[test]
    fn a_dataset_added_twice_or_given_another_datasets_rows_is_refused() {
        let (attack, rows) = (attack(), table());
        let dir = tempfile::tempdir().unwrap();
        let writer = TablesWriter::new(&attack, dir.path()).unwrap();
        let datasets = by_dataset(&rows);
        let (first, first_rows) = datasets.iter().next().unwrap();
        writer.add_dataset(first, first_rows, &[]).unwrap();
        let twice = writer.add_dataset(first, first_rows, &[]).unwrap_err().to_string();
        assert!(twice.contains("added twice"), "{twice}");

        let (second, _) = datasets.iter().nth(1).unwrap();
        let misfiled = writer.add_dataset(second, first_rows, &[]).unwrap_err().to_string();
        assert!(
            misfiled.contains(&format!(
                "a row of dataset {first} was given as one of dataset {second}"
            )),
            "{misfiled}"
        );
    }
}
