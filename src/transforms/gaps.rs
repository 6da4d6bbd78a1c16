//! Coverage gaps: per dataset, the live techniques of its ATT&CK version and domain that it neither
//! maps nor lists as non-mappable — what its users ask when they ask what is not covered.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;

use crate::model::{by_dataset, DatasetKey, MappingRow};
use crate::sources::attack_stix::AttackCatalog;
use crate::table::{
    column, frame_of, string_lists, Column,
    ColumnType::{String as Text, StringList},
};

/// One technique a dataset does not mention.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Gap {
    pub dataset: DatasetKey,
    pub technique_id: String,
    pub technique_name: String,
    pub tactics: Vec<String>,
}

/// The gaps table's columns (`gaps.csv`, `warehouse/gaps/`).
pub const GAP_COLUMNS: &[Column] = &[
    column("framework", Text, false, "Framework id of the dataset"),
    column("framework_version", Text, false, "Framework version of the dataset"),
    column("attack_version", Text, false, "ATT&CK version"),
    column("domain", Text, false, "ATT&CK domain"),
    column(
        "technique_id",
        Text,
        false,
        "A live technique of that version and domain the dataset neither maps nor lists as non-mappable",
    ),
    column("technique_name", Text, false, "Its name in ATT&CK"),
    column("tactics", StringList, false, "Its tactics (short names)"),
];

/// Every dataset's gaps, by dataset and technique id. A dataset whose ATT&CK version and domain
/// have no bundle in the catalogue has none listed (nothing to compare with).
pub fn gaps(rows: &[MappingRow], attack: &AttackCatalog) -> Vec<Gap> {
    let mut gaps = Vec::new();
    for (dataset, rows) in by_dataset(rows) {
        let mentioned: BTreeSet<&str> = rows.iter().filter_map(|r| r.attack_object_id.as_deref()).collect();
        let mut live: BTreeMap<&str, Gap> = BTreeMap::new();
        for bundle in attack.own_bundles(&dataset.attack_version, &dataset.domain) {
            for (id, technique) in bundle.techniques() {
                if technique.retired || mentioned.contains(id) || live.contains_key(id) {
                    continue;
                }
                live.insert(
                    id,
                    Gap {
                        dataset: dataset.clone(),
                        technique_id: id.to_string(),
                        technique_name: technique.name.clone(),
                        tactics: technique.tactics.clone(),
                    },
                );
            }
        }
        gaps.extend(live.into_values());
    }
    gaps
}

/// The gaps as a table with [`GAP_COLUMNS`].
pub fn frame(gaps: &[Gap]) -> PolarsResult<DataFrame> {
    let text = |get: &dyn Fn(&Gap) -> &str| Series::new(PlSmallStr::EMPTY, gaps.iter().map(get).collect::<Vec<_>>());
    frame_of(
        GAP_COLUMNS,
        vec![
            text(&|g| &g.dataset.framework),
            text(&|g| &g.dataset.framework_version),
            text(&|g| &g.dataset.attack_version),
            text(&|g| &g.dataset.domain),
            text(&|g| &g.technique_id),
            text(&|g| &g.technique_name),
            string_lists("tactics", gaps.iter().map(|g| g.tactics.as_slice()))?,
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gaps_table_has_the_documented_columns_and_types_with_or_without_gaps() {
        let gap = Gap {
            dataset: DatasetKey {
                framework: "kev".into(),
                framework_version: "07.28.2025".into(),
                attack_version: "16.1".into(),
                domain: "mobile".into(),
            },
            technique_id: "T1404".into(),
            technique_name: "Exploitation for Privilege Escalation".into(),
            tactics: vec!["privilege-escalation".into()],
        };
        for gaps in [vec![gap], Vec::new()] {
            let table = frame(&gaps).unwrap();
            assert_eq!(table.schema(), &crate::table::schema_of(GAP_COLUMNS));
            assert_eq!(table.height(), gaps.len());
        }
    }
}
