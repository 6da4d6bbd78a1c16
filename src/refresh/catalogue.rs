//! What changed in the ATT&CK catalogue since the previous publish, as far as the outputs show it:
//! the techniques of the warehouse's `techniques` table (every technique of the run's ATT&CK bundles
//! and every one a mapping cites), previous against this run's, by (ATT&CK version, domain, id). A
//! technique renamed in the bundle changes no mapping row, but it changes the STIX bundles, the
//! heatmaps and the warehouse: a change, reported in `changes.json` and the report.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;

use crate::changes::{CatalogueChange, CatalogueChangeKind};

/// The columns that say where a technique was read from, not what it is.
const IGNORED_COLUMNS: &[&str] = &["source"];
const KEY_COLUMNS: [&str; 3] = ["attack_version", "domain", "technique_id"];

/// The techniques table of a warehouse directory (`warehouse/techniques/part-0.parquet`), if it reads.
pub fn techniques_of(warehouse: &Path) -> Option<DataFrame> {
    let path = warehouse
        .join(crate::sinks::warehouse::dimensions::TECHNIQUES)
        .join("part-0.parquet");
    ParquetReader::new(std::fs::File::open(path).ok()?).finish().ok()
}

/// The techniques added, removed, renamed, retired or otherwise changed from `previous` to
/// `current`, in key order. Without a previous table, nothing is reported (a first publish).
pub fn compare(previous: Option<&DataFrame>, current: Option<&DataFrame>) -> PolarsResult<Vec<CatalogueChange>> {
    let (Some(previous), Some(current)) = (previous, current) else {
        return Ok(Vec::new());
    };
    let before = rows_by_key(previous)?;
    let after = rows_by_key(current)?;
    let mut changes = Vec::new();
    let name = |row: &Row| row.get("technique_name").cloned().filter(|n| n != NULL);
    let change = |kind, key: &Key, before: Option<&Row>, after: Option<&Row>, columns| CatalogueChange {
        change: kind,
        attack_version: key.0.clone(),
        domain: key.1.clone(),
        technique_id: key.2.clone(),
        name_before: before.and_then(name),
        name_after: after.and_then(name),
        columns,
    };
    for (key, row) in &after {
        match before.get(key) {
            None => changes.push(change(CatalogueChangeKind::Added, key, None, Some(row), Vec::new())),
            Some(old) => {
                let columns: Vec<String> = row
                    .iter()
                    .filter(|(column, value)| {
                        !IGNORED_COLUMNS.contains(&column.as_str()) && old.get(*column) != Some(*value)
                    })
                    .map(|(column, _)| column.clone())
                    .collect();
                let kind = if columns.iter().any(|c| c == "technique_name") {
                    CatalogueChangeKind::Renamed
                } else if columns.iter().any(|c| c == "retired") && row.get("retired").is_some_and(|r| r == "true") {
                    CatalogueChangeKind::Retired
                } else if !columns.is_empty() {
                    CatalogueChangeKind::Changed
                } else {
                    continue;
                };
                changes.push(change(kind, key, Some(old), Some(row), columns));
            }
        }
    }
    for (key, row) in &before {
        if !after.contains_key(key) {
            changes.push(change(CatalogueChangeKind::Removed, key, Some(row), None, Vec::new()));
        }
    }
    changes.sort_by(|a, b| {
        (&a.attack_version, &a.domain, &a.technique_id).cmp(&(&b.attack_version, &b.domain, &b.technique_id))
    });
    Ok(changes)
}

type Key = (String, String, String);
/// A null value, as a row's text holds it.
const NULL: &str = "null";
type Row = BTreeMap<String, String>;

/// Every row of a techniques table as column → value text, by key.
fn rows_by_key(frame: &DataFrame) -> PolarsResult<BTreeMap<Key, Row>> {
    let names: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
    let mut rows = BTreeMap::new();
    for index in 0..frame.height() {
        let mut row = Row::new();
        for (name, column) in names.iter().zip(frame.columns()) {
            let text = match column.get(index)? {
                AnyValue::Null => NULL.to_string(),
                AnyValue::String(text) => text.to_string(),
                AnyValue::StringOwned(text) => text.to_string(),
                other => format!("{other}"),
            };
            row.insert(name.clone(), text);
        }
        let key_part = |name: &str| row.get(name).cloned().unwrap_or_default();
        let key = (
            key_part(KEY_COLUMNS[0]),
            key_part(KEY_COLUMNS[1]),
            key_part(KEY_COLUMNS[2]),
        );
        rows.insert(key, row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn techniques(rows: &[(&str, &str, bool)]) -> DataFrame {
        df!(
            "attack_version" => rows.iter().map(|_| "16.1").collect::<Vec<_>>(),
            "domain" => rows.iter().map(|_| "enterprise").collect::<Vec<_>>(),
            "technique_id" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "technique_name" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            "retired" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            "source" => rows.iter().map(|_| "enterprise-attack-16.1.json").collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn a_rename_an_addition_a_removal_and_a_retirement_are_each_reported() {
        let before = techniques(&[("T1", "Old", false), ("T2", "Two", false), ("T3", "Three", false)]);
        let after = techniques(&[("T1", "New", false), ("T3", "Three", true), ("T4", "Four", false)]);
        let changes = compare(Some(&before), Some(&after)).unwrap();
        let kinds: Vec<(&str, CatalogueChangeKind)> =
            changes.iter().map(|c| (c.technique_id.as_str(), c.change)).collect();
        assert_eq!(
            kinds,
            [
                ("T1", CatalogueChangeKind::Renamed),
                ("T2", CatalogueChangeKind::Removed),
                ("T3", CatalogueChangeKind::Retired),
                ("T4", CatalogueChangeKind::Added),
            ]
        );
        assert_eq!(changes[0].name_before.as_deref(), Some("Old"));
        assert_eq!(changes[0].name_after.as_deref(), Some("New"));
        assert!(compare(Some(&after), Some(&after)).unwrap().is_empty());
        assert!(compare(None, Some(&after)).unwrap().is_empty(), "a first publish");
    }
}
