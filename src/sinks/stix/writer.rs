//! The STIX sink a dataset at a time: [`Writer`] writes each dataset's bundle as it is given and
//! keeps between datasets only its counts, the ledger entries of the objects written and the ATT&CK
//! objects formatted so far (shared by the bundles); [`write_all`] is the whole table through it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

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

/// Writes `<dir>/<dataset>.json` for every dataset of `rows`, in parallel, our objects versioned
/// against the previous ledger, and `<dir>/revoked.json` when objects published before are absent.
pub fn write_all(rows: &[MappingRow], catalog: &AttackCatalog, dir: &Path, versioning: &Versioning) -> Result<Written> {
    let datasets: Vec<(DatasetKey, Vec<&MappingRow>)> = crate::model::by_dataset(rows).into_iter().collect();
    let writer = Writer::new(catalog, dir, versioning);
    datasets
        .par_iter()
        .try_for_each(|(dataset, dataset_rows)| writer.add_dataset(dataset, dataset_rows).map(drop))?;
    writer.finish()
}
