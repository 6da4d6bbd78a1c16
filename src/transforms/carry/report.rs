//! What carrying did, as `report.json` says it (`carry`): per derived dataset its rows by `carry`
//! value, ATT&CK's changes, the size of its review list and every replaced or dropped row; the
//! datasets the official release at the target won, and those not carried.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Derivation, Derived, FoldedRow, NotCarried, OfficialAtTarget};
use crate::model::{AttackChange, CarryKind, DatasetKey};

/// What carrying did, in `report.json` (`carry`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CarryReport {
    /// The ATT&CK version carried to; absent when `latest` found no bundle to name one.
    pub target: Option<String>,
    pub derived: Vec<DerivedReport>,
    pub official_at_target: Vec<OfficialAtTarget>,
    pub not_carried: Vec<NotCarried>,
}

impl CarryReport {
    /// What a person must look at: datasets that should have been carried and were not.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = self
            .not_carried
            .iter()
            .filter(|n| n.is_warning())
            .map(|n| format!("{} not carried: {}", n.dataset, n.reason))
            .collect();
        if self.target.is_none() {
            warnings.push("--carry-to latest: no ATT&CK bundle among the inputs names a version".into());
        }
        warnings
    }
}

/// One derived dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DerivedReport {
    pub dataset: String,
    #[serde(skip)]
    pub key: DatasetKey,
    #[serde(skip)]
    pub source_key: DatasetKey,
    /// The ATT&CK version of the official dataset it comes from.
    pub derived_from: String,
    pub source_dataset: String,
    /// Rows by `carry` value (every value, zeros included).
    pub rows: BTreeMap<CarryKind, usize>,
    /// Kept rows by ATT&CK's own change to their technique.
    pub attack_changes: BTreeMap<AttackChange, usize>,
    /// Techniques on its review list (`review.csv`).
    pub review: usize,
    /// Every row whose technique was replaced or dropped.
    pub replaced_or_dropped: Vec<CarriedRow>,
    /// Carried rows that became equal to another row and were folded into it.
    pub folded: Vec<FoldedRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CarriedRow {
    pub capability_id: Option<String>,
    pub mapping_type: Option<String>,
    pub original_technique: Option<String>,
    pub technique: Option<String>,
    pub carry: CarryKind,
}

/// The report of one derived dataset.
pub fn report_of(derivation: &Derivation, derived: &Derived, review: usize) -> DerivedReport {
    let mut rows: BTreeMap<CarryKind, usize> = CarryKind::ALL.iter().map(|k| (*k, 0)).collect();
    let mut attack_changes: BTreeMap<AttackChange, usize> = BTreeMap::new();
    let mut replaced_or_dropped = Vec::new();
    for row in &derived.rows {
        let Some(carry) = &row.carry else { continue };
        *rows.entry(carry.kind).or_default() += 1;
        for change in &carry.attack_changes {
            *attack_changes.entry(*change).or_default() += 1;
        }
        if carry.kind != CarryKind::Unchanged {
            replaced_or_dropped.push(CarriedRow {
                capability_id: row.capability_id.as_deref().map(String::from),
                mapping_type: row.mapping_type.as_deref().map(String::from),
                original_technique: carry.original_technique.clone(),
                technique: row.attack_object_id.as_deref().map(String::from),
                carry: carry.kind,
            });
        }
    }
    DerivedReport {
        dataset: derivation.derived.to_string(),
        key: derivation.derived.clone(),
        source_key: derivation.source.clone(),
        derived_from: derivation.source.attack_version.clone(),
        source_dataset: derivation.source.to_string(),
        rows,
        attack_changes,
        review,
        replaced_or_dropped,
        folded: derived.folded.clone(),
    }
}
