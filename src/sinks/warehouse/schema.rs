//! The warehouse's documented schema: every table's path, keys, joins and columns, as
//! `schemas/warehouse.schema.json` publishes them, and the version that changes with them.
//!
//! A change to a column's name, order, type or nullability must come with a new [`VERSION`] (a test
//! holds the file and this code to that): consumers pin a version and are told when it moves.

use serde_json::{json, Value};

use super::dimensions::*;
use super::{CHANGES_TABLE, GAPS, MAPPINGS_TABLE, PARTITION_COLUMNS, PART_FILE, REVIEW, RUN_DATE};
use crate::table::{column, Column, ColumnType, COLUMNS, GRAIN_COLUMNS};
use crate::transforms::carry::REVIEW_COLUMNS;
use crate::transforms::gaps::GAP_COLUMNS;

/// The warehouse schema's version (semver: a new column at the end is a minor change; a renamed,
/// removed, reordered or retyped one is a major change). Written into every file's metadata.
pub const VERSION: &str = "2.1.0";

/// The change feed's first column.
pub const OP_COLUMN: Column = column("op", ColumnType::String, false, "insert, update or delete");

/// The mappings table as the warehouse holds it: the table's columns in portable types.
pub fn mapping_columns() -> Vec<Column> {
    COLUMNS
        .iter()
        .map(|c| Column {
            column_type: c.column_type.portable(),
            ..*c
        })
        .collect()
}

/// The mappings dataset as its readers see it: the columns of its files, then the partition
/// columns read from the directory names, outermost first, as Spark, pyarrow and Polars list them
/// (DuckDB lists them last too, but alphabetically: the README's view puts them in this order).
pub fn partitioned_mapping_columns() -> Vec<Column> {
    let (mut in_path, in_files): (Vec<Column>, Vec<Column>) = mapping_columns()
        .into_iter()
        .partition(|c| PARTITION_COLUMNS.contains(&c.name));
    in_path.sort_by_key(|c| PARTITION_COLUMNS.iter().position(|p| *p == c.name));
    in_files.into_iter().chain(in_path).collect()
}

/// The change feed: `op`, then a mapping row (whole for insert and update; only its grain key and
/// `mapping_id` for delete, so every other column is nullable).
pub fn change_columns() -> Vec<Column> {
    let mut columns = vec![OP_COLUMN];
    columns.extend(mapping_columns().into_iter().map(|c| Column {
        nullable: c.nullable || !(c.name == "mapping_id" || GRAIN_COLUMNS.contains(&c.name)),
        ..c
    }));
    columns
}

/// One table of the warehouse.
pub struct WarehouseTable {
    pub name: &'static str,
    pub path: String,
    pub description: &'static str,
    pub primary_key: &'static [&'static str],
    pub partition_by: &'static [&'static str],
    /// (columns, referenced table, referenced columns).
    pub joins: Vec<(&'static [&'static str], &'static str, &'static [&'static str])>,
    pub columns: Vec<Column>,
}

pub fn tables() -> Vec<WarehouseTable> {
    let partitioned = PARTITION_COLUMNS.map(|c| format!("{c}={{{c}}}")).join("/");
    let single = |name: &str| format!("{name}/{PART_FILE}");
    vec![
        WarehouseTable {
            name: MAPPINGS_TABLE,
            path: format!("{MAPPINGS_TABLE}/{partitioned}/{PART_FILE}"),
            description: "The mapping table, one row per mapping; the partition columns are in the directory names only (Hive layout), so readers list them last",
            primary_key: &["mapping_id"],
            partition_by: &PARTITION_COLUMNS,
            joins: vec![
                (&["framework"], FRAMEWORKS, &["framework"]),
                (&["framework", "framework_version", "capability_id"], CAPABILITIES, &["framework", "framework_version", "capability_id"]),
                (&["attack_version", "domain", "attack_object_id"], TECHNIQUES, &["attack_version", "domain", "technique_id"]),
            ],
            columns: partitioned_mapping_columns(),
        },
        WarehouseTable {
            name: CAPABILITIES,
            path: single(CAPABILITIES),
            description: "Every capability the mappings name",
            primary_key: &["framework", "framework_version", "capability_id"],
            partition_by: &[],
            joins: vec![
                (&["framework"], FRAMEWORKS, &["framework"]),
                (&["framework", "framework_version", "capability_group"], CAPABILITY_GROUPS, &["framework", "framework_version", "capability_group"]),
            ],
            columns: CAPABILITY_COLUMNS.to_vec(),
        },
        WarehouseTable {
            name: CAPABILITY_GROUPS,
            path: single(CAPABILITY_GROUPS),
            description: "Capability groups of the mapping files",
            primary_key: &["framework", "framework_version", "capability_group"],
            partition_by: &[],
            joins: vec![(&["framework"], FRAMEWORKS, &["framework"])],
            columns: CAPABILITY_GROUP_COLUMNS.to_vec(),
        },
        WarehouseTable {
            name: TECHNIQUES,
            path: single(TECHNIQUES),
            description: "ATT&CK techniques: every one of the given ATT&CK bundles, and every one the mappings cite",
            primary_key: &["attack_version", "domain", "technique_id"],
            partition_by: &[],
            joins: vec![(&["attack_version", "domain", "parent_technique_id"], TECHNIQUES, &["attack_version", "domain", "technique_id"])],
            columns: TECHNIQUE_COLUMNS.to_vec(),
        },
        WarehouseTable {
            name: FRAMEWORKS,
            path: single(FRAMEWORKS),
            description: "The frameworks in the table",
            primary_key: &["framework"],
            partition_by: &[],
            joins: vec![],
            columns: FRAMEWORK_COLUMNS.to_vec(),
        },
        WarehouseTable {
            name: GAPS,
            path: single(GAPS),
            description: "Per dataset, the live ATT&CK techniques of its version and domain that it neither maps nor lists as non-mappable (datasets with an ATT&CK bundle only)",
            primary_key: &["framework", "framework_version", "attack_version", "domain", "technique_id"],
            partition_by: &[],
            joins: vec![
                (&["framework"], FRAMEWORKS, &["framework"]),
                (&["attack_version", "domain", "technique_id"], TECHNIQUES, &["attack_version", "domain", "technique_id"]),
            ],
            columns: GAP_COLUMNS.to_vec(),
        },
        WarehouseTable {
            name: REVIEW,
            path: single(REVIEW),
            description: "With --carry-to, per derived dataset the live ATT&CK techniques of the target version that did not exist in the version it was derived from: the official mapping could not have mapped them, a maintainer must review them (empty without --carry-to)",
            primary_key: &["framework", "framework_version", "attack_version", "domain", "technique_id"],
            partition_by: &[],
            joins: vec![
                (&["framework"], FRAMEWORKS, &["framework"]),
                (&["attack_version", "domain", "technique_id"], TECHNIQUES, &["attack_version", "domain", "technique_id"]),
            ],
            columns: REVIEW_COLUMNS.to_vec(),
        },
        WarehouseTable {
            name: CHANGES_TABLE,
            path: format!("{CHANGES_TABLE}/{RUN_DATE}={{{RUN_DATE}}}/{PART_FILE}"),
            description: "What each day's refreshes changed, to apply on mapping_id in run_date order: the day's net change from the table published before that day. run_date is in the path only: the day of a run is a fact of the run, not of the data",
            primary_key: &[RUN_DATE, "mapping_id"],
            partition_by: &[RUN_DATE],
            joins: vec![],
            columns: change_columns(),
        },
    ]
}

/// The `tables` member of `schemas/warehouse.schema.json`.
pub fn tables_document() -> Value {
    Value::Array(
        tables()
            .iter()
            .map(|t| {
                json!({
                    "name": t.name,
                    "path": t.path,
                    "description": t.description,
                    "primary_key": t.primary_key,
                    "partition_by": t.partition_by,
                    "joins": t.joins.iter().map(|(columns, table, references)| json!({
                        "columns": columns, "table": table, "references": references,
                    })).collect::<Vec<_>>(),
                    "columns": t.columns.iter().map(|c| json!({
                        "name": c.name,
                        "type": c.column_type.schema_name(),
                        "nullable": c.nullable,
                        "description": c.description,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// What a consumer's code depends on: every table's column names, order, types and nullability
/// (not the descriptions), as a SHA-256.
pub fn signature() -> String {
    let text: String = tables()
        .iter()
        .flat_map(|t| {
            t.columns.iter().map(move |c| {
                format!(
                    "{}.{}:{}:{}\n",
                    t.name,
                    c.name,
                    c.column_type.schema_name(),
                    if c.nullable { "null" } else { "not null" }
                )
            })
        })
        .collect();
    crate::fs::sha256_hex(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published() -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/warehouse.schema.json");
        serde_json::from_str(&std::fs::read_to_string(path).expect("schemas/warehouse.schema.json"))
            .expect("schemas/warehouse.schema.json is JSON")
    }

    #[test]
    fn the_published_schema_describes_the_tables_the_code_writes() {
        let expected = serde_json::to_string_pretty(&tables_document()).unwrap();
        assert!(
            published()["tables"] == tables_document(),
            "schemas/warehouse.schema.json's \"tables\" differ from what attackmap writes; they should read:\n{expected}"
        );
    }

    #[test]
    fn a_column_change_comes_with_a_new_schema_version() {
        let schema = published();
        let history = schema["history"].as_array().expect("a history array");
        let last = history.last().expect("at least one version in the history");
        assert_eq!(
            schema["version"], VERSION,
            "the file's version and schema::VERSION differ"
        );
        assert_eq!(
            last["version"], VERSION,
            "the history's last entry is not the current version"
        );
        assert_eq!(
            last["signature"],
            signature(),
            "the warehouse columns (name, order, type or nullability) changed but the schema version \
             did not: raise schema::VERSION and the file's \"version\" (major for a rename, removal, \
             reorder or retype; minor for a new column at the end), and append \
             {{\"version\": ..., \"signature\": \"{}\"}} to its history. Released entries never change.",
            signature()
        );
        let versions: Vec<Vec<u64>> = history
            .iter()
            .map(|h| {
                h["version"]
                    .as_str()
                    .expect("a version string")
                    .split('.')
                    .map(|n| n.parse().expect("semver numbers"))
                    .collect()
            })
            .collect();
        assert!(
            versions.windows(2).all(|w| w[0] < w[1]),
            "history versions must increase"
        );
        let signatures: std::collections::BTreeSet<&str> =
            history.iter().filter_map(|h| h["signature"].as_str()).collect();
        assert_eq!(signatures.len(), history.len(), "each version must change the columns");
    }
}
