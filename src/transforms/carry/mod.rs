//! Carry forward (`--carry-to`): a dataset mapped to an older ATT&CK release yields a derived
//! dataset on the target release, each row saying how it was carried (`carry`), with ATT&CK's own
//! changes flagged and the review list of techniques it could not have mapped. Pure: rows and
//! releases in, rows and lists out.

mod catalogue;
pub mod marks;
mod report;
mod review;

pub use catalogue::{Release, ReleaseTechnique};
pub use report::{report_of, CarriedRow, CarryReport, DerivedReport};
pub use review::{frame as review_frame, review_list, ReviewTechnique, REVIEW_COLUMNS};

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::identifiers::compare_attack_versions;
use crate::model::{AttackChange, Carry, CarryKind, DatasetKey, MappingRow, Text};

/// Which datasets are carried, and why the others are not.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CarryPlan {
    pub derivations: Vec<Derivation>,
    /// Datasets the site already publishes at the target release: the official one wins.
    pub official_at_target: Vec<OfficialAtTarget>,
    pub not_carried: Vec<NotCarried>,
}

/// One derived dataset: `source` carried to `derived`'s ATT&CK version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Derivation {
    pub source: DatasetKey,
    pub derived: DatasetKey,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfficialAtTarget {
    pub dataset: String,
    /// The older ATT&CK versions of the same framework version and domain among the inputs, not
    /// carried because the official dataset at the target wins.
    pub older_versions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotCarried {
    pub dataset: String,
    pub reason: String,
}

impl NotCarried {
    /// Whether a person must look at it: a dataset that should have been carried and was not.
    pub fn is_warning(&self) -> bool {
        !self.reason.starts_with(NEWER_CARRIED)
    }
}

const NEWER_CARRIED: &str = "a newer release of it is carried";

/// Plans the carry of `datasets` to `target`: per framework version and domain, the official
/// dataset at the target wins; else the newest older release is carried, when `has_release` says
/// both its release and the target's (of the domain) are known.
pub fn plan<'a>(
    datasets: impl IntoIterator<Item = &'a DatasetKey>,
    target: &str,
    has_release: &dyn Fn(&str, &str) -> bool,
) -> CarryPlan {
    let mut groups: BTreeMap<(&str, &str, &str), Vec<&DatasetKey>> = BTreeMap::new();
    for key in datasets {
        groups
            .entry((&key.framework, &key.framework_version, &key.domain))
            .or_default()
            .push(key);
    }
    let mut plan = CarryPlan::default();
    for (_, mut keys) in groups {
        keys.sort_by(|a, b| compare_attack_versions(&b.attack_version, &a.attack_version));
        let older: Vec<&DatasetKey> = keys
            .iter()
            .copied()
            .filter(|k| compare_attack_versions(&k.attack_version, target).is_lt())
            .collect();
        if let Some(official) = keys.iter().find(|k| k.attack_version == target) {
            plan.official_at_target.push(OfficialAtTarget {
                dataset: official.to_string(),
                older_versions: older.iter().map(|k| k.attack_version.clone()).collect(),
            });
            continue;
        }
        let Some((newest, rest)) = older.split_first() else {
            continue;
        };
        let missing = [&newest.attack_version[..], target]
            .into_iter()
            .find(|version| !has_release(version, &newest.domain));
        match missing {
            Some(version) => plan.not_carried.push(NotCarried {
                dataset: newest.to_string(),
                reason: format!(
                    "no ATT&CK {version} {} bundle among the inputs or --attack-stix",
                    newest.domain
                ),
            }),
            None => plan.derivations.push(Derivation {
                source: (*newest).clone(),
                derived: DatasetKey {
                    attack_version: target.to_string(),
                    ..(*newest).clone()
                },
            }),
        }
        for superseded in rest {
            plan.not_carried.push(NotCarried {
                dataset: superseded.to_string(),
                reason: format!("{NEWER_CARRIED} ({newest})"),
            });
        }
    }
    plan
}

/// The rows of one derived dataset, and the carried rows that became equal to another (the same
/// capability, technique and mapping type after a replacement) and were folded into it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Derived {
    pub rows: Vec<MappingRow>,
    pub folded: Vec<FoldedRow>,
}

/// A carried row folded into an equal one: its comments and references are kept there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoldedRow {
    pub capability_id: Option<String>,
    pub original_technique: Option<String>,
    pub technique: Option<String>,
    pub mapping_type: Option<String>,
    pub carry: CarryKind,
}

/// Carries the rows of one official dataset from its `source` release to `target`: every row
/// once, in grain order, with its `carry`.
pub fn carry_dataset<'a>(
    rows: impl IntoIterator<Item = &'a MappingRow>,
    source: &Release,
    target: &Release,
) -> Derived {
    let version: Text = target.version.as_str().into();
    let mut carried: Vec<MappingRow> = rows
        .into_iter()
        .map(|row| carry_row(row, source, target, &version))
        .collect();
    let kind = |r: &MappingRow| r.carry.as_ref().map(|c| c.kind);
    carried.sort_by(|a, b| a.grain_cmp(b).then_with(|| kind(a).cmp(&kind(b))));
    let mut derived = Derived::default();
    for row in carried {
        match derived.rows.last_mut() {
            Some(kept) if kept.grain_cmp(&row).is_eq() => {
                fold_into(kept, &row);
                derived.folded.push(FoldedRow {
                    capability_id: row.capability_id.as_deref().map(String::from),
                    original_technique: row.carry.as_ref().and_then(|c| c.original_technique.clone()),
                    technique: row.attack_object_id.as_deref().map(String::from),
                    mapping_type: row.mapping_type.as_deref().map(String::from),
                    carry: kind(&row).unwrap_or(CarryKind::Unchanged),
                });
            }
            _ => derived.rows.push(row),
        }
    }
    derived
}

/// Keeps what `other` adds to `kept`: its distinct comments and references, its source rows.
fn fold_into(kept: &mut MappingRow, other: &MappingRow) {
    for comment in &other.comments {
        if !kept.comments.contains(comment) {
            kept.comments.push(comment.clone());
        }
    }
    for reference in &other.references {
        if !kept.references.contains(reference) {
            kept.references.push(reference.clone());
        }
    }
    kept.occurrences += other.occurrences;
}

/// One row carried: on the target version (`version`, the target's, shared by the dataset's rows),
/// naming the live technique it now maps.
fn carry_row(row: &MappingRow, source: &Release, target: &Release, version: &Text) -> MappingRow {
    let mut carried = MappingRow {
        attack_version: version.clone(),
        technique_status: None,
        ..row.clone()
    };
    let Some(original) = row.attack_object_id.as_deref() else {
        carried.carry = Some(Box::new(Carry {
            kind: CarryKind::Unchanged,
            derived_from: source.version.clone(),
            original_technique: None,
            attack_changes: Vec::new(),
        }));
        return carried;
    };
    let (kind, now) = resolve(original, target);
    let mut attack_changes = Vec::new();
    if kind.is_kept() {
        let then = source.technique(original);
        let now_technique = target.technique(now).expect("resolve names a technique of the target");
        if then.is_some_and(|t| t.tactics != now_technique.tactics) {
            attack_changes.push(AttackChange::MovedTactic);
        }
        if !original.contains('.') && now.contains('.') {
            attack_changes.push(AttackChange::BecameSubTechnique);
        }
        if now == original && then.is_some_and(|t| t.name != now_technique.name) {
            attack_changes.push(AttackChange::Renamed);
        }
        carried.attack_object_name = Some(now_technique.name.as_str().into());
        if now != original {
            carried.attack_object_id = Some(now.into());
        }
    }
    carried.carry = Some(Box::new(Carry {
        kind,
        derived_from: source.version.clone(),
        original_technique: Some(original.to_string()),
        attack_changes,
    }));
    carried
}

/// What `technique` is in `target`: live (unchanged), revoked with a `revoked-by` chain that ends
/// at a live technique (replaced, by it), revoked without one, deprecated, or absent.
fn resolve<'a>(technique: &'a str, target: &'a Release) -> (CarryKind, &'a str) {
    let Some(found) = target.technique(technique) else {
        return (CarryKind::DroppedUnknown, technique);
    };
    if found.is_live() {
        return (CarryKind::Unchanged, technique);
    }
    if !found.revoked {
        return (CarryKind::DroppedDeprecated, technique);
    }
    let mut seen = BTreeSet::from([technique]);
    let mut current = found;
    while let Some(next) = current.revoked_by.as_deref() {
        if !seen.insert(next) {
            break;
        }
        match target.technique(next) {
            Some(t) if t.is_live() => return (CarryKind::Replaced, next),
            Some(t) if t.revoked => current = t,
            _ => break,
        }
    }
    (CarryKind::DroppedRevoked, technique)
}

#[cfg(test)]
mod tests;
