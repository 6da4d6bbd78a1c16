//! What changed since the previously published table, by `mapping_id`: rows added, removed, and
//! changed (with the columns that differ; `source`, where a row was read from, is not a change).

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use serde::Serialize;

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
    pub key: BTreeMap<String, Option<String>>,
    /// For `changed`: the columns whose values differ.
    pub columns: Vec<String>,
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
}

impl Changes {
    /// True when the new table equals the previous one, byte for byte.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.source_only.is_empty()
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
        summary
    }
}

/// Each row of a table as its values written out, keyed by `mapping_id`.
fn rows_by_id(frame: &DataFrame) -> PolarsResult<BTreeMap<String, BTreeMap<String, String>>> {
    let ids = frame.column("mapping_id")?.str()?.clone();
    let mut rows: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for column in frame.columns() {
        let series = column.as_materialized_series();
        for (index, id) in ids.iter().enumerate() {
            let value = series.get(index)?;
            let text = match value {
                AnyValue::Null => String::new(),
                AnyValue::String(s) => format!("s:{s}"),
                other => format!("v:{other}"),
            };
            rows.entry(id.unwrap_or_default().to_string())
                .or_default()
                .insert(column.name().to_string(), text);
        }
    }
    Ok(rows)
}

/// Compares the previous table (if any) with the new one.
pub fn compare(previous: Option<&DataFrame>, current: &DataFrame) -> PolarsResult<Changes> {
    let before = match previous {
        Some(frame) => rows_by_id(frame)?,
        None => BTreeMap::new(),
    };
    let after = rows_by_id(current)?;
    let key_of = |row: &BTreeMap<String, String>| -> BTreeMap<String, Option<String>> {
        KEY_COLUMNS
            .iter()
            .map(|c| {
                let value = row.get(*c).and_then(|v| v.strip_prefix("s:")).map(String::from);
                (c.to_string(), value)
            })
            .collect()
    };
    let mut changes = Changes::default();
    for (id, row) in &after {
        match before.get(id) {
            None => {
                changes.added += 1;
                changes.changes.push(Change {
                    change: ChangeKind::Added,
                    mapping_id: id.clone(),
                    key: key_of(row),
                    columns: Vec::new(),
                });
            }
            Some(old) if old != row => {
                let columns: Vec<String> = row
                    .iter()
                    .filter(|(column, value)| old.get(*column) != Some(*value))
                    .filter(|(column, _)| !IGNORED_COLUMNS.contains(&column.as_str()))
                    .map(|(column, _)| column.clone())
                    .collect();
                if columns.is_empty() {
                    changes.source_only.push(id.clone());
                    continue;
                }
                changes.changed += 1;
                changes.changes.push(Change {
                    change: ChangeKind::Changed,
                    mapping_id: id.clone(),
                    key: key_of(row),
                    columns,
                });
            }
            Some(_) => {}
        }
    }
    for (id, row) in &before {
        if !after.contains_key(id) {
            changes.removed += 1;
            changes.changes.push(Change {
                change: ChangeKind::Removed,
                mapping_id: id.clone(),
                key: key_of(row),
                columns: Vec::new(),
            });
        }
    }
    changes
        .changes
        .sort_by(|a, b| (a.change, &a.mapping_id).cmp(&(b.change, &b.mapping_id)));
    Ok(changes)
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
    let frame = DataFrame::new(changes.changes.len(), columns)?;
    crate::sinks::csv::write(&frame, csv_path, csv)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::MappingRow;

    /// A NIST row of `capability` on T1562 with one comment (shared with the change feed's tests).
    pub(crate) fn row(capability: &str, comment: &str) -> MappingRow {
        MappingRow {
            framework: "nist_800_53".into(),
            framework_version: "rev5".into(),
            attack_version: "16.1".into(),
            domain: "enterprise".into(),
            capability_id: Some(capability.into()),
            attack_object_id: Some("T1562".into()),
            comments: vec![comment.into()],
            source: format!("{capability}.html"),
            occurrences: 1,
            ..MappingRow::default()
        }
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
}
