//! What changed since the previously published table, by `mapping_id`: rows added, removed, and
//! changed (with the columns that differ; `source`, where a row was read from, is not a change).

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use serde::Serialize;

use super::catalogue::CatalogueChange;
use crate::error::Result;
use crate::sinks::csv::CsvOptions;
use crate::sinks::write_json;

/// The columns that name a mapping in the change files, besides its id.
use crate::table::GRAIN_COLUMNS as KEY_COLUMNS;
const IGNORED_COLUMNS: &[&str] = &["source"];

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

/// Compares the previous table (if any) with the new one, as DataFrame operations: a full join of
/// the two tables' `mapping_id`s (with their row numbers) finds the rows added, removed and kept; each
/// column of the kept rows is then gathered from both tables and compared at once, column by column,
/// so memory grows with one column and a bit mask per row, never with a copy of every row as text.
pub fn compare(previous: Option<&DataFrame>, current: &DataFrame) -> PolarsResult<Changes> {
    compare_listing(previous, current, usize::MAX)
}

/// As [`compare`], with the counts of every kind but only the first `listed` changes of each kind
/// (by `mapping_id`) named, and no `source_only` list: what a report shows, at any table size.
pub fn compare_listing(previous: Option<&DataFrame>, current: &DataFrame, listed: usize) -> PolarsResult<Changes> {
    let empty;
    let previous = match previous {
        Some(frame) => frame,
        None => {
            empty = current.clear();
            &empty
        }
    };
    let numbered = |frame: &DataFrame, row: &str| -> PolarsResult<DataFrame> {
        frame.select(["mapping_id"])?.with_row_index(row.into(), None)
    };
    let pairs = numbered(current, NOW)?.join(
        &numbered(previous, BEFORE)?,
        ["mapping_id"],
        ["mapping_id"],
        JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
        None,
    )?;
    let now = pairs.column(NOW)?.idx()?;
    let before = pairs.column(BEFORE)?.idx()?;
    let (mut added, mut removed, mut kept_now, mut kept_before) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (now, before) in now.iter().zip(before.iter()) {
        match (now, before) {
            (Some(now), None) => added.push(now),
            (None, Some(before)) => removed.push(before),
            (Some(now), Some(before)) => {
                kept_now.push(now);
                kept_before.push(before);
            }
            (None, None) => {}
        }
    }

    // Which columns of each kept row differ: a bit per column of `current`.
    let columns: Vec<&str> = current
        .get_column_names()
        .into_iter()
        .map(|name| name.as_str())
        .filter(|name| *name != "mapping_id")
        .collect();
    polars_ensure!(columns.len() <= 64, ComputeError: "a table of more than 64 columns");
    let kept_now = IdxCa::from_vec("now".into(), kept_now);
    let kept_before = IdxCa::from_vec("before".into(), kept_before);
    let mut differing = vec![0u64; kept_now.len()];
    for (bit, name) in columns.iter().enumerate() {
        let now = current.column(name)?.as_materialized_series().take(&kept_now)?;
        let differs: BooleanChunked = match previous.column(name) {
            Ok(column) if column.dtype() == now.dtype() => {
                let before = column.as_materialized_series().take(&kept_before)?;
                now.not_equal_missing(&before)?
            }
            // A column the previous table lacks (or typed otherwise): changed where it holds a value
            // (a column added by a newer attackmap, null on the rows it does not concern, changes none).
            Err(_) => now.is_not_null(),
            Ok(_) => BooleanChunked::full("differs".into(), true, now.len()),
        };
        for (row, differs) in differing.iter_mut().zip(differs.iter()) {
            if differs == Some(true) {
                *row |= 1 << bit;
            }
        }
    }
    let ignored: u64 = columns
        .iter()
        .enumerate()
        .filter(|(_, name)| IGNORED_COLUMNS.contains(name))
        .map(|(bit, _)| 1u64 << bit)
        .sum();

    let keys_now = Keys::of(current)?;
    let keys_before = Keys::of(previous)?;
    let changed_rows: Vec<(IdxSize, u64)> = kept_now
        .iter()
        .zip(&differing)
        .filter(|(_, bits)| **bits & !ignored != 0)
        .map(|(row, bits)| (row.expect("kept rows are numbered"), bits & !ignored))
        .collect();
    let mut changes = Changes {
        added: added.len(),
        removed: removed.len(),
        changed: changed_rows.len(),
        ..Changes::default()
    };
    if listed == usize::MAX {
        changes.source_only = kept_now
            .iter()
            .zip(&differing)
            .filter(|(_, bits)| **bits != 0 && **bits & !ignored == 0)
            .map(|(row, _)| keys_now.mapping_id(row.expect("kept rows are numbered")))
            .collect();
        changes.source_only.sort();
    }
    for row in keys_now.first_by_id(added, listed) {
        changes
            .changes
            .push(keys_now.change(ChangeKind::Added, row, Vec::new()));
    }
    for row in keys_before.first_by_id(removed, listed) {
        changes
            .changes
            .push(keys_before.change(ChangeKind::Removed, row, Vec::new()));
    }
    let bits_of: std::collections::HashMap<IdxSize, u64> = changed_rows.iter().copied().collect();
    for row in keys_now.first_by_id(changed_rows.iter().map(|(row, _)| *row).collect(), listed) {
        let bits = bits_of[&row];
        let changed: Vec<String> = columns
            .iter()
            .enumerate()
            .filter(|(bit, _)| bits & (1 << bit) != 0)
            .map(|(_, name)| name.to_string())
            .collect();
        changes.changes.push(keys_now.change(ChangeKind::Changed, row, changed));
    }
    changes
        .changes
        .sort_by(|a, b| (a.change, &a.mapping_id).cmp(&(b.change, &b.mapping_id)));
    Ok(changes)
}

/// The row-number columns of the join.
const NOW: &str = "now_row";
const BEFORE: &str = "before_row";

/// A table's `mapping_id` and grain columns, to name the rows that changed.
struct Keys {
    ids: StringChunked,
    grain: Vec<(&'static str, Option<StringChunked>)>,
}

impl Keys {
    fn of(frame: &DataFrame) -> PolarsResult<Keys> {
        let ids = frame.column("mapping_id")?.str()?.clone();
        let grain = KEY_COLUMNS
            .iter()
            .map(|name| (*name, frame.column(name).ok().and_then(|c| c.str().ok().cloned())))
            .collect();
        Ok(Keys { ids, grain })
    }

    /// The first `listed` of `rows` by `mapping_id`.
    fn first_by_id(&self, mut rows: Vec<IdxSize>, listed: usize) -> Vec<IdxSize> {
        let id = |row: &IdxSize| self.ids.get(*row as usize).unwrap_or_default();
        if rows.len() > listed {
            rows.select_nth_unstable_by(listed, |a, b| id(a).cmp(id(b)));
            rows.truncate(listed);
        }
        rows
    }

    fn mapping_id(&self, row: IdxSize) -> String {
        self.ids.get(row as usize).unwrap_or_default().to_string()
    }

    fn change(&self, change: ChangeKind, row: IdxSize, columns: Vec<String>) -> Change {
        let key = self
            .grain
            .iter()
            .map(|(name, values)| {
                let value = values.as_ref().and_then(|v| v.get(row as usize)).map(String::from);
                (*name, value)
            })
            .collect();
        Change {
            change,
            mapping_id: self.mapping_id(row),
            key,
            columns,
            moved: None,
        }
    }
}

/// Writes `changes.json` and `changes.csv` (one line per change; changed columns `;`-separated).
pub fn write(changes: &Changes, json_path: &Path, csv_path: &Path, csv: CsvOptions) -> Result<()> {
    write_json(json_path, changes)?;
    let mut columns: Vec<Column> = vec![
        Series::new(
            "change".into(),
            changes.changes.iter().map(|c| c.change.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "mapping_id".into(),
            changes
                .changes
                .iter()
                .map(|c| c.mapping_id.as_str())
                .collect::<Vec<_>>(),
        )
        .into(),
    ];
    for key in KEY_COLUMNS {
        let values: Vec<Option<&str>> = changes.changes.iter().map(|c| c.key[*key].as_deref()).collect();
        columns.push(Series::new((*key).into(), values).into());
    }
    columns.push(
        Series::new(
            "changed_columns".into(),
            changes.changes.iter().map(|c| c.columns.join(";")).collect::<Vec<_>>(),
        )
        .into(),
    );
    columns.push(
        Series::new(
            "move".into(),
            changes
                .changes
                .iter()
                .map(|c| c.moved.map_or("", |m| m.as_str()))
                .collect::<Vec<_>>(),
        )
        .into(),
    );
    let frame = DataFrame::new(changes.changes.len(), columns)?;
    crate::sinks::csv::write(&frame, csv_path, csv)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::MappingRow;
    use crate::test_support::MappingRowBuilder;

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
    fn added_removed_and_changed_rows_are_found_by_mapping_id() {
        let before = crate::table::to_dataframe(&[row("AC-01", "same"), row("AC-02", "old")]).unwrap();
        let after = crate::table::to_dataframe(&[row("AC-02", "new"), row("AC-03", "x")]).unwrap();
        let changes = compare(Some(&before), &after).unwrap();
        assert_eq!((changes.added, changes.removed, changes.changed), (1, 1, 1));
        let changed = changes
            .changes
            .iter()
            .find(|c| c.change == ChangeKind::Changed)
            .unwrap();
        assert_eq!(changed.columns, ["comments"]);
        assert!(compare(Some(&after), &after).unwrap().is_empty());

        let moved = crate::table::to_dataframe(&[MappingRow {
            source: "elsewhere.html".into(),
            ..row("AC-03", "x")
        }])
        .unwrap();
        let changes = compare(Some(&after.head(Some(1)).vstack(&moved).unwrap()), &after).unwrap();
        assert!(changes.changes.is_empty(), "a new source alone is not a change");
        assert_eq!(changes.source_only.len(), 1);
        assert_eq!(
            changes.summary(),
            "0 added, 0 removed, 0 changed, 1 now read from another file"
        );
    }

    #[test]
    fn a_column_the_previous_table_lacks_changes_only_the_rows_that_hold_a_value_in_it() {
        let before = crate::table::to_dataframe(&[row("AC-01", "same")]).unwrap();
        let before = before.drop("carry").unwrap();
        let after = crate::table::to_dataframe(&[row("AC-01", "same")]).unwrap();
        assert!(
            compare(Some(&before), &after).unwrap().is_empty(),
            "the carry column, new and null on an official row, changes nothing"
        );
        let mut retyped = before.clone();
        retyped
            .with_column(polars::prelude::Column::new("carry".into(), [1u32]))
            .unwrap();
        let changes = compare(Some(&retyped), &after).unwrap();
        assert_eq!(changes.changed, 1, "a column typed otherwise before is a change");
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
