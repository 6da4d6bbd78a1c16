//! What changed since the previously published table, by `mapping_id`: rows added, removed, and
//! changed (with the columns that differ; `source`, where a row was read from, is not a change).
//! Found by [`comparison`], written as `changes.json` and `changes.csv` by [`change_files`].

pub(super) mod change_files;
pub(super) mod comparison;

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::Serialize;

use super::catalogue::CatalogueChange;

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
    pub key: BTreeMap<&'static str, Option<String>>,
    /// For `changed`: the columns whose values differ.
    pub columns: Vec<String>,
    /// For a mapping of a framework that moved to a newer ATT&CK release: what the move did to it
    /// (`carried`, `changed`, `added`, `removed`; see [`Changes::moves`]).
    #[serde(rename = "move")]
    pub moved: Option<super::moves::MoveRole>,
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
    pub moves: Vec<super::moves::DatasetMove>,
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
    /// Names, on each listed change of a moved framework's mappings, what the move did to it.
    pub fn name_moves(&mut self, moves: Vec<super::moves::DatasetMove>) {
        for change in &mut self.changes {
            change.moved = super::moves::role_of(&moves, &change.key);
        }
        self.moves = moves;
    }

    /// Of `removed` official mappings, those that are not a move's carried or changed mappings: what
    /// `--max-removed-share` weighs.
    pub fn removed_beyond_moves(&self, removed: usize) -> usize {
        removed.saturating_sub(self.moves.iter().map(super::moves::DatasetMove::kept).sum())
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

/// The official mappings of `previous` (its `carry` null, or all of them in a table without the
/// column) and how many of them `changes` removes: what `--max-removed-share` guards. Rows of
/// derived datasets (`--carry-to`) come and go with the setting and with the official releases that
/// replace them: no data of the site is lost with them.
pub fn official_removal(previous: &DataFrame, changes: &Changes) -> PolarsResult<(usize, usize)> {
    let Ok(carry) = previous.column("carry") else {
        return Ok((changes.removed, previous.height()));
    };
    let removed: std::collections::HashSet<&str> = changes
        .changes
        .iter()
        .filter(|c| c.change == ChangeKind::Removed)
        .map(|c| c.mapping_id.as_str())
        .collect();
    let ids = previous.column("mapping_id")?.str()?;
    let official = carry.is_null();
    let mut counts = (0, 0);
    for (id, official) in ids.iter().zip(official.iter()) {
        if official == Some(true) {
            counts.1 += 1;
            counts.0 += usize::from(id.is_some_and(|id| removed.contains(id)));
        }
    }
    Ok(counts)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::MappingRow;
    use crate::test_support::MappingRowBuilder;
    use comparison::compare;

    /// A NIST row of `capability` on T1562 with one comment (shared with the change feed's tests).
    pub(crate) fn row(capability: &str, comment: &str) -> MappingRow {
        MappingRowBuilder::new("nist_800_53", "rev5")
            .capability(capability)
            .technique("T1562")
            .comment(comment)
            .source(&format!("{capability}.html"))
            .build()
    }

    #[test]
    fn removing_derived_rows_is_no_removal_of_official_mappings() {
        let mut derived = row("AC-02", "carried");
        derived.carry = Some(Box::new(crate::model::Carry {
            kind: crate::model::CarryKind::Unchanged,
            derived_from: "15.1".into(),
            original_technique: Some("T1562".into()),
            attack_changes: vec![],
        }));
        let before = crate::table::to_dataframe(&[row("AC-01", "kept"), derived, row("AC-03", "gone")]).unwrap();
        let after = crate::table::to_dataframe(&[row("AC-01", "kept")]).unwrap();
        let changes = compare(Some(&before), &after).unwrap();
        assert_eq!(changes.removed, 2);
        assert_eq!(
            official_removal(&before, &changes).unwrap(),
            (1, 2),
            "AC-03 of the 2 official rows"
        );
        let without_column = before.drop("carry").unwrap();
        assert_eq!(official_removal(&without_column, &changes).unwrap(), (2, 3));
    }
}
