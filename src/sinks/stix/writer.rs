//! The STIX sink a dataset at a time: [`Writer`] writes each dataset's bundle as it is given and
//! keeps between datasets only its counts, the ledger entries of the objects written and the ATT&CK
//! objects formatted so far (shared by the bundles).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::attack_objects::AttackObjects;
use super::ledger::{Ledger, Versioning};
use super::{bundle, revoked, write_bundle, BundleCounts};
use crate::error::Result;
use crate::model::{DatasetKey, MappingRow};
use crate::sources::attack_stix::AttackCatalog;

/// What the STIX sink wrote.
pub struct Written {
    /// The datasets' bundles, in dataset order.
    pub bundles: Vec<BundleCounts>,
    /// This run's ledger: every object published so far, revoked ones included.
    pub ledger: Ledger,
    /// The objects of `revoked.json` (0: not written).
    pub revoked_bundle_objects: usize,
}

/// Writes `<dir>/<dataset>.json` for each dataset it is given ([`Writer::add_dataset`], from any
/// number of threads at once, in any order), our objects versioned against the previous ledger, and
/// at the end ([`Writer::finish`]) `<dir>/revoked.json` when objects published before are absent.
/// The files and the result do not depend on the order the datasets come in.
pub struct Writer<'a> {
    catalog: &'a AttackCatalog,
    dir: PathBuf,
    versioning: &'a Versioning,
    attack_objects: AttackObjects<'a>,
    /// Each bundle's entries join the ledger as soon as it is written: the entries of every bundle
    /// (1.7 million at 100 times the mapping files) are never held twice.
    ledger: Mutex<Ledger>,
    bundles: Mutex<BTreeMap<DatasetKey, BundleCounts>>,
}

impl<'a> Writer<'a> {
    /// A writer into `dir` (which exists), resolving techniques with `catalog`.
    pub fn new(catalog: &'a AttackCatalog, dir: &Path, versioning: &'a Versioning) -> Writer<'a> {
        Writer {
            catalog,
            dir: dir.to_path_buf(),
            versioning,
            attack_objects: AttackObjects::default(),
            ledger: Mutex::new(Ledger::default()),
            bundles: Mutex::new(BTreeMap::new()),
        }
    }

    /// Writes the bundle of `dataset` (`rows`: all its rows, in table order) and returns what it holds.
    ///
    /// # Panics
    /// When `dataset` was given before: its bundle would be written twice.
    pub fn add_dataset(&self, dataset: &DatasetKey, rows: &[&MappingRow]) -> Result<BundleCounts> {
        let attack = self.catalog.bundles_for(&dataset.attack_version, &dataset.domain);
        let (bundle, mut counts) = bundle(dataset, rows, &attack, &self.attack_objects);
        let file = format!("{dataset}.json");
        let entries = write_bundle(&crate::identifiers::file_in(&self.dir, &file)?, bundle, self.versioning)?;
        self.ledger
            .lock()
            .expect("no thread panics holding the ledger")
            .objects
            .extend(entries);
        counts.file = file;
        let earlier = self
            .bundles
            .lock()
            .expect("no thread panics holding the counts")
            .insert(dataset.clone(), counts.clone());
        assert!(earlier.is_none(), "the STIX bundle of {dataset} is written once");
        Ok(counts)
    }

    /// Writes `revoked.json` when objects published before are absent from every bundle, and returns
    /// the bundles in dataset order and this run's ledger.
    pub fn finish(self) -> Result<Written> {
        let mut ledger = self.ledger.into_inner().expect("no thread panics holding the ledger");
        let (revoked_objects, revoked_entries) = revoked::revoke_absent(self.versioning, &ledger)?;
        ledger.objects.extend(revoked_entries);
        let revoked_bundle_objects = revoked_objects.len();
        if revoked_bundle_objects > 0 {
            revoked::write(revoked_objects, &self.dir.join(revoked::REVOKED_BUNDLE))?;
        }
        let bundles = self.bundles.into_inner().expect("no thread panics holding the counts");
        Ok(Written {
            bundles: bundles.into_values().collect(),
            ledger,
            revoked_bundle_objects,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{files, MappingRowBuilder};
    use rayon::prelude::*;

    /// The oracle of the tests: writes `<dir>/<dataset>.json` for every dataset of `rows`, in parallel, our objects versioned
    /// against the previous ledger, and `<dir>/revoked.json` when objects published before are absent.
    pub fn write_all(
        rows: &[MappingRow],
        catalog: &AttackCatalog,
        dir: &Path,
        versioning: &Versioning,
    ) -> Result<Written> {
        let datasets: Vec<(DatasetKey, Vec<&MappingRow>)> = crate::model::by_dataset(rows).into_iter().collect();
        let writer = Writer::new(catalog, dir, versioning);
        datasets
            .par_iter()
            .try_for_each(|(dataset, dataset_rows)| writer.add_dataset(dataset, dataset_rows).map(drop))?;
        writer.finish()
    }

    /// Three datasets of two ATT&CK versions, in table order; the ATT&CK objects they reference are
    /// shared between bundles.
    fn rows() -> Vec<MappingRow> {
        let mut rows = vec![
            MappingRowBuilder::new("nist_800_53", "rev5")
                .capability("AC-02")
                .technique("T1562")
                .mapping_type("mitigates")
                .build(),
            MappingRowBuilder::new("nist_800_53", "rev5")
                .capability("AC-03")
                .technique("T1059")
                .mapping_type("mitigates")
                .build(),
            MappingRowBuilder::new("nist_800_53", "rev5")
                .capability("PM-01")
                .build(),
            MappingRowBuilder::aws_score("guardduty", "T1562", "detect", "partial"),
            MappingRowBuilder::new("aws", "12.12.2024")
                .capability("config")
                .technique("T1999")
                .technique_name("Not in ATT&CK")
                .mapping_type("technique_scores")
                .score("protect", "minimal")
                .build(),
        ];
        let mut older = MappingRowBuilder::new("nist_800_53", "rev4")
            .capability("AC-02")
            .technique("T1059")
            .mapping_type("mitigates")
            .build();
        older.attack_version = "15.1".into();
        rows.push(older);
        rows.sort_by(MappingRow::grain_cmp);
        rows
    }

    /// An Enterprise 16.1 release of two techniques, both created by one identity.
    fn catalog(dir: &Path) -> AttackCatalog {
        let technique = |id: &str, technique: &str| {
            serde_json::json!({"type": "attack-pattern", "id": id, "spec_version": "2.1", "name": technique,
                "created_by_ref": "identity--mitre", "x_mitre_domains": ["enterprise-attack"],
                "external_references": [{"source_name": "mitre-attack", "external_id": technique}]})
        };
        let bundle = serde_json::json!({"type": "bundle", "id": "bundle--attack", "objects": [
            {"type": "identity", "id": "identity--mitre", "spec_version": "2.1", "name": "The MITRE Corporation"},
            technique("attack-pattern--1", "T1562"),
            technique("attack-pattern--2", "T1059"),
        ]});
        let path = dir.join("enterprise-attack-16.1.json");
        std::fs::write(&path, bundle.to_string()).unwrap();
        AttackCatalog::load(&[path]).unwrap()
    }

    fn datasets(rows: &[MappingRow]) -> Vec<(DatasetKey, Vec<&MappingRow>)> {
        crate::model::by_dataset(rows).into_iter().collect()
    }

    /// What a run wrote: its files, its bundles' counts, its ledger and the objects revoked.
    type Run = (BTreeMap<String, Vec<u8>>, Vec<BundleCounts>, Ledger, usize);

    fn run(dir: &Path, written: Written) -> Run {
        (
            files(dir),
            written.bundles,
            written.ledger,
            written.revoked_bundle_objects,
        )
    }

    /// The datasets of `rows` given one by one, last dataset first.
    fn in_reverse(rows: &[MappingRow], catalog: &AttackCatalog, dir: &Path, versioning: &Versioning) -> Written {
        let writer = Writer::new(catalog, dir, versioning);
        for (dataset, dataset_rows) in datasets(rows).iter().rev() {
            writer.add_dataset(dataset, dataset_rows).unwrap();
        }
        writer.finish().unwrap()
    }

    /// The datasets of `rows` given each from its own thread, all at once.
    fn from_threads(rows: &[MappingRow], catalog: &AttackCatalog, dir: &Path, versioning: &Versioning) -> Written {
        let writer = Writer::new(catalog, dir, versioning);
        let datasets = datasets(rows);
        std::thread::scope(|scope| {
            for (dataset, dataset_rows) in datasets.iter().rev() {
                let writer = &writer;
                scope.spawn(move || writer.add_dataset(dataset, dataset_rows).unwrap());
            }
        });
        writer.finish().unwrap()
    }

    /// `rows` given last dataset first, then each dataset from its own thread: both runs are `expected`.
    fn assert_in_any_order(rows: &[MappingRow], catalog: &AttackCatalog, versioning: &Versioning, expected: &Run) {
        let [reversed, threaded] = [(); 2].map(|_| tempfile::tempdir().unwrap());
        let reversed_run = in_reverse(rows, catalog, reversed.path(), versioning);
        assert!(
            run(reversed.path(), reversed_run) == *expected,
            "given last dataset first"
        );
        let threaded_run = from_threads(rows, catalog, threaded.path(), versioning);
        assert!(run(threaded.path(), threaded_run) == *expected, "given from threads");
    }

    #[test]
    fn datasets_given_in_any_order_or_from_threads_give_the_bundles_and_ledger_of_write_all() {
        let attack = tempfile::tempdir().unwrap();
        let catalog = catalog(attack.path());
        let rows = rows();
        let versioning = Versioning::default();
        let whole = tempfile::tempdir().unwrap();
        let expected = run(
            whole.path(),
            write_all(&rows, &catalog, whole.path(), &versioning).unwrap(),
        );
        assert_eq!(expected.0.len(), 3, "a bundle per dataset: {:?}", expected.0.keys());
        let files: Vec<&str> = expected.1.iter().map(|b| b.file.as_str()).collect();
        assert_eq!(
            files,
            [
                "aws-12.12.2024_attack-16.1-enterprise.json",
                "nist_800_53-rev4_attack-15.1-enterprise.json",
                "nist_800_53-rev5_attack-16.1-enterprise.json"
            ],
            "in dataset order"
        );
        assert_eq!(expected.1[0].techniques_not_in_attack, ["T1999"]);
        assert_eq!(expected.1[2].attack_patterns_from_attack, 2);
        assert_in_any_order(&rows, &catalog, &versioning, &expected);
    }

    #[test]
    fn a_dataset_gone_since_the_last_run_is_revoked_at_finish_whatever_the_order() {
        let attack = tempfile::tempdir().unwrap();
        let catalog = catalog(attack.path());
        let mut rows = rows();
        let first = tempfile::tempdir().unwrap();
        let previous = write_all(&rows, &catalog, first.path(), &Versioning::default())
            .unwrap()
            .ledger;
        rows.retain(|row| &*row.framework != "aws");
        let versioning = Versioning {
            previous,
            now: Some("2026-12-05T00:00:00.000Z".into()),
            published: Some(first.path().to_path_buf()),
        };
        let whole = tempfile::tempdir().unwrap();
        let expected = run(
            whole.path(),
            write_all(&rows, &catalog, whole.path(), &versioning).unwrap(),
        );
        assert!(expected.3 > 0, "the aws objects are revoked");
        assert!(expected.0.contains_key(revoked::REVOKED_BUNDLE));
        assert_in_any_order(&rows, &catalog, &versioning, &expected);
    }
}
