//! The comparison of two tables by `mapping_id`, as DataFrame operations: which rows were added,
//! removed or changed, and in which columns.

use polars::prelude::*;

use std::collections::HashSet;
use std::sync::Arc;

use crate::changes::{Change, ChangeKey, ChangeKind, Changes};
use crate::table::Columns;

/// The columns that name a changed mapping, besides its id.
use crate::table::GRAIN_COLUMNS as KEY_COLUMNS;
/// Columns whose difference alone is no change (`source`: the row was read from another file).
const IGNORED_COLUMNS: &[&str] = &["source"];

/// Compares the previous table (if any) with the new one, as DataFrame operations: a full join of
/// the two tables' `mapping_id`s (with their row numbers) finds the rows added, removed and kept; each
/// column of the kept rows is then gathered from both tables and compared at once, column by column,
/// so memory grows with one column and a bit mask per row, never with a copy of every row as text.
pub fn compare(previous: Option<&dyn Columns>, current: &dyn Columns) -> PolarsResult<Changes> {
    compare_listing(previous, current, usize::MAX)
}

/// As [`compare`], with the counts of every kind but only the first `listed` changes of each kind
/// (by `mapping_id`) named, and no `source_only` list: what a report shows, at any table size. The
/// tables are read a column at a time ([`Columns`]): one column of each, the ids and a bit mask per
/// row are what is held, never either table whole.
pub fn compare_listing(previous: Option<&dyn Columns>, current: &dyn Columns, listed: usize) -> PolarsResult<Changes> {
    let mut keys_now = Keys::of(current)?;
    let Some(previous) = previous else {
        // A first publish: every row is added.
        let added: Vec<IdxSize> = (0..current.height() as IdxSize).collect();
        let mut changes = Changes {
            added: added.len(),
            ..Changes::default()
        };
        for row in keys_now.first_by_id(added, listed) {
            changes
                .changes
                .push(keys_now.change(ChangeKind::Added, row, Vec::new()));
        }
        changes.changes.sort_by(|a, b| a.mapping_id.cmp(&b.mapping_id));
        return Ok(changes);
    };
    let numbered = |table: &dyn Columns, row: &str| -> PolarsResult<DataFrame> {
        DataFrame::new(table.height(), vec![table.column("mapping_id")?])?.with_row_index(row.into(), None)
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
    drop(pairs);

    // Which columns of each kept row differ: a bit per column of `current`.
    let names = current.names();
    let columns: Vec<&str> = names
        .iter()
        .map(String::as_str)
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
            Err(PolarsError::ColumnNotFound(_)) => now.is_not_null(),
            Err(e) => return Err(e),
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

    let mut keys_before = Keys::of(previous)?;
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

/// A table's `mapping_id` and grain columns, to name the rows that changed; the grain values named
/// so far, each held once.
struct Keys {
    ids: StringChunked,
    grain: Vec<Option<StringChunked>>,
    values: HashSet<Arc<str>>,
}

impl Keys {
    fn of(frame: &dyn Columns) -> PolarsResult<Keys> {
        let ids = frame.column("mapping_id")?.str()?.clone();
        let grain = KEY_COLUMNS
            .iter()
            .map(|name| frame.column(name).ok().and_then(|c| c.str().ok().cloned()))
            .collect();
        Ok(Keys {
            ids,
            grain,
            values: HashSet::new(),
        })
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

    fn change(&mut self, change: ChangeKind, row: IdxSize, columns: Vec<String>) -> Change {
        let shared = &mut self.values;
        let key = ChangeKey::new(self.grain.iter().map(|values| {
            let value = values.as_ref().and_then(|v| v.get(row as usize))?;
            Some(match shared.get(value) {
                Some(known) => known.clone(),
                None => {
                    let new: Arc<str> = value.into();
                    shared.insert(new.clone());
                    new
                }
            })
        }));
        Change {
            change,
            mapping_id: self.mapping_id(row),
            key,
            columns,
            moved: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::row;
    use super::*;
    use crate::model::MappingRow;

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
}
