//! The change list of a run, as plain data: the mappings added, removed and changed since the
//! previously published table, the frameworks that moved to a newer ATT&CK release, and the ATT&CK
//! catalogue's changes. `refresh` finds them (its `changes`, `moves` and `catalogue`); the sinks and
//! the report show them.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::table::GRAIN_COLUMNS;

/// What happened to a mapping between two runs (ordered as the change files list them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Changed,
    Removed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Changed => "changed",
            ChangeKind::Removed => "removed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub change: ChangeKind,
    pub mapping_id: String,
    /// The grain columns, by name.
    pub key: ChangeKey,
    /// For `changed`: the columns whose values differ.
    pub columns: Vec<String>,
    /// For a mapping of a framework that moved to a newer ATT&CK release: what the move did to it
    /// (`carried`, `changed`, `added`, `removed`; see [`Changes::moves`]).
    #[serde(rename = "move")]
    pub moved: Option<MoveRole>,
}

/// A changed mapping's grain columns ([`GRAIN_COLUMNS`]), serialized as an object by column name
/// (names sorted). A night lists every row of a first publish: the values are shared (`Arc`), since
/// most repeat from row to row (a framework, an ATT&CK version, a technique).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeKey(Box<[Option<Arc<str>>]>);

impl ChangeKey {
    /// The key of the grain `values`, in [`GRAIN_COLUMNS`] order.
    pub fn new(values: impl IntoIterator<Item = Option<Arc<str>>>) -> ChangeKey {
        let values: Box<[Option<Arc<str>>]> = values.into_iter().collect();
        assert_eq!(values.len(), GRAIN_COLUMNS.len(), "one value per grain column");
        ChangeKey(values)
    }

    /// The value of the grain column `column` (None for a null or a column not of the grain).
    pub fn get(&self, column: &str) -> Option<&str> {
        let position = GRAIN_COLUMNS.iter().position(|name| *name == column)?;
        self.0[position].as_deref()
    }
}

impl Serialize for ChangeKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut by_name: Vec<(&str, Option<&str>)> = GRAIN_COLUMNS
            .iter()
            .copied()
            .zip(self.0.iter().map(Option::as_deref))
            .collect();
        by_name.sort_unstable_by_key(|(name, _)| *name);
        let mut map = serializer.serialize_map(Some(by_name.len()))?;
        for (name, value) in by_name {
            map.serialize_entry(name, &value)?;
        }
        map.end()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Changes {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub changes: Vec<Change>,
    /// Rows whose only difference is `source` (read from another file): not a change here, but the
    /// warehouse's change feed carries them as updates, so a MERGE reproduces the table exactly.
    #[serde(skip)]
    pub source_only: Vec<String>,
    /// Frameworks that moved to a newer ATT&CK release: the rows above list the retired dataset's
    /// mappings as removed and the new one's as added (their ids name the release); a move counts
    /// which of them the new release carried, changed, added and removed.
    pub moves: Vec<DatasetMove>,
    /// The ATT&CK catalogue's changes, as far as the outputs show them (a technique renamed in the
    /// bundle changes no row, but it changes the bundles, heatmaps and warehouse).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub catalogue: Vec<CatalogueChange>,
    /// The published files whose bytes changed since the previous publish (the manifest lists them
    /// all with their hashes).
    #[serde(skip)]
    pub outputs_changed: Vec<String>,
}

impl Changes {
    /// Of `removed` official mappings, those that are not a move's carried or changed mappings: what
    /// `--max-removed-share` weighs.
    pub fn removed_beyond_moves(&self, removed: usize) -> usize {
        removed.saturating_sub(self.moves.iter().map(DatasetMove::kept).sum())
    }

    /// True when nothing published changed: the table equals the previous one byte for byte, the
    /// catalogue is the same, and so is every output but the run's own files.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.source_only.is_empty()
            && self.catalogue.is_empty()
            && self.outputs_changed.is_empty()
    }

    pub fn summary(&self) -> String {
        if self.is_empty() {
            return "no changes".to_string();
        }
        let mut summary = format!(
            "{} added, {} removed, {} changed",
            self.added, self.removed, self.changed
        );
        if !self.source_only.is_empty() {
            summary.push_str(&format!(", {} now read from another file", self.source_only.len()));
        }
        if !self.catalogue.is_empty() {
            let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
            for change in &self.catalogue {
                *kinds.entry(change.change.as_str()).or_default() += 1;
            }
            let kinds: Vec<String> = kinds.iter().map(|(kind, n)| format!("{n} {kind}")).collect();
            summary.push_str(&format!("; ATT&CK techniques: {}", kinds.join(", ")));
        }
        if !self.outputs_changed.is_empty() {
            summary.push_str(&format!("; {} published files changed", self.outputs_changed.len()));
        }
        for moved in &self.moves {
            summary.push_str(&format!("; moved {}", moved.summary()));
        }
        summary
    }
}

/// One framework's datasets of one domain, moved from an older ATT&CK version to a newer one between
/// two runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetMove {
    pub framework: String,
    pub domain: String,
    pub from_attack_version: String,
    pub to_attack_version: String,
    /// The datasets the move retired (`kev-02.13.2025_attack-15.1-enterprise`).
    pub retired: Vec<String>,
    /// The datasets it published instead.
    pub published: Vec<String>,
    /// Mappings in both, the same in every column that describes the mapping.
    pub carried: usize,
    /// Mappings in both whose description changed (a name, a score, a comment, references …).
    pub changed: usize,
    /// Mappings only the new release has.
    pub added: usize,
    /// Mappings only the retired release had.
    pub removed: usize,
}

impl DatasetMove {
    /// The mappings the move keeps (carried or changed): not removals, whatever their ids.
    pub fn kept(&self) -> usize {
        self.carried + self.changed
    }

    /// `kev enterprise 15.1 → 16.1: 400 carried, 2 changed, 10 added, 5 removed`.
    pub fn summary(&self) -> String {
        format!(
            "{} {} {} → {}: {} carried, {} changed, {} added, {} removed",
            self.framework,
            self.domain,
            self.from_attack_version,
            self.to_attack_version,
            self.carried,
            self.changed,
            self.added,
            self.removed
        )
    }
}

/// What a move did to one mapping: carried over (`carried`, `changed`), or not (`added`, `removed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveRole {
    Carried,
    Changed,
    Added,
    Removed,
}

impl MoveRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MoveRole::Carried => "carried",
            MoveRole::Changed => "changed",
            MoveRole::Added => "added",
            MoveRole::Removed => "removed",
        }
    }
}

/// What happened to a technique of the ATT&CK catalogue between two publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogueChangeKind {
    Added,
    Removed,
    Renamed,
    /// Revoked or deprecated in this run's bundle.
    Retired,
    /// Another property: tactics, STIX id, parent.
    Changed,
}

impl CatalogueChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogueChangeKind::Added => "added",
            CatalogueChangeKind::Removed => "removed",
            CatalogueChangeKind::Renamed => "renamed",
            CatalogueChangeKind::Retired => "retired",
            CatalogueChangeKind::Changed => "changed",
        }
    }
}

/// One technique's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogueChange {
    pub change: CatalogueChangeKind,
    pub attack_version: String,
    pub domain: String,
    pub technique_id: String,
    /// Its name in the previous publish (absent when added).
    pub name_before: Option<String>,
    /// Its name in this run (absent when removed).
    pub name_after: Option<String>,
    /// For `renamed`, `retired` and `changed`: the columns whose values differ.
    pub columns: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_key_is_an_object_of_the_grain_columns_by_name() {
        let values = ["nist", "rev5", "16.1", "enterprise", "AC-02", "T1562", "protects", ""];
        let key = ChangeKey::new(values.map(|v| (!v.is_empty()).then(|| Arc::from(v))));
        assert_eq!(key.get("capability_id"), Some("AC-02"));
        assert_eq!(key.get("score_category"), None, "a null");
        assert_eq!(key.get("comments"), None, "not of the grain");
        assert_eq!(
            serde_json::to_string(&key).unwrap(),
            r#"{"attack_object_id":"T1562","attack_version":"16.1","capability_id":"AC-02","domain":"enterprise","framework":"nist","framework_version":"rev5","mapping_type":"protects","score_category":null}"#
        );
    }
}
