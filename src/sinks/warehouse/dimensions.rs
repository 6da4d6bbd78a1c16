//! The warehouse's dimension tables, built from the table's rows (and the ATT&CK bundles, when given):
//! capabilities, capability groups, techniques and frameworks, each with its columns named here.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;

use crate::frameworks;
use crate::model::MappingRow;
use crate::sources::attack_stix::AttackCatalog;
use crate::table::{
    column, frame_of, string_lists, Column,
    ColumnType::{Boolean, Int64, String as Text, StringList},
};

pub const CAPABILITIES: &str = "capabilities";
pub const CAPABILITY_GROUPS: &str = "capability_groups";
pub const TECHNIQUES: &str = "techniques";
pub const FRAMEWORKS: &str = "frameworks";

pub const CAPABILITY_COLUMNS: &[Column] = &[
    column("framework", Text, false, "Framework id: joins frameworks"),
    column("framework_version", Text, false, "Framework version"),
    column("capability_id", Text, false, "Control, capability or vulnerability id"),
    column(
        "capability_description",
        Text,
        true,
        "Its name or description (the first the table gives)",
    ),
    column(
        "capability_group",
        Text,
        true,
        "Key of its group: joins capability_groups with framework and framework_version",
    ),
    column(
        "mappings",
        Int64,
        false,
        "Rows of the mappings table that name this capability, over every ATT&CK version and domain",
    ),
];

pub const CAPABILITY_GROUP_COLUMNS: &[Column] = &[
    column("framework", Text, false, "Framework id: joins frameworks"),
    column("framework_version", Text, false, "Framework version"),
    column(
        "capability_group",
        Text,
        false,
        "Group key, as the mapping files write it",
    ),
    column("capability_group_name", Text, true, "Display name of the group"),
    column("capabilities", Int64, false, "Capabilities in the group"),
];

pub const TECHNIQUE_COLUMNS: &[Column] = &[
    column("attack_version", Text, false, "ATT&CK version"),
    column(
        "domain",
        Text,
        false,
        "ATT&CK domain of the mappings that cite it (enterprise, mobile, ics)",
    ),
    column(
        "technique_id",
        Text,
        false,
        "ATT&CK id (T1562, T1562.001): joins mappings.attack_object_id",
    ),
    column("technique_name", Text, true, "Its name"),
    column(
        "parent_technique_id",
        Text,
        true,
        "For a sub-technique, its parent (T1562); null otherwise",
    ),
    column("is_subtechnique", Boolean, false, "True for a sub-technique"),
    column(
        "tactics",
        StringList,
        false,
        "Tactic short names (defense-evasion) from the ATT&CK bundle; empty without one",
    ),
    column(
        "retired",
        Boolean,
        false,
        "Revoked or deprecated in this ATT&CK version (kept only when a mapping cites it)",
    ),
    column(
        "stix_id",
        Text,
        true,
        "ATT&CK's attack-pattern id; null without a bundle",
    ),
    column(
        "source",
        Text,
        false,
        "The ATT&CK bundle file it was read from, or `mappings` when only the table names it",
    ),
];

pub const FRAMEWORK_COLUMNS: &[Column] = &[
    column("framework", Text, false, "Framework id (nist_800_53, aws …)"),
    column("label", Text, false, "Display label (NIST 800-53)"),
    column(
        "kind",
        Text,
        false,
        "control, security_stack, vulnerability, veris or other",
    ),
    column(
        "framework_versions",
        StringList,
        false,
        "Framework versions in the table",
    ),
    column(
        "attack_versions",
        StringList,
        false,
        "ATT&CK versions they are mapped to",
    ),
];

/// Every dimension table, by name, in a fixed order.
pub fn tables(rows: &[MappingRow], attack: &AttackCatalog) -> PolarsResult<Vec<(&'static str, DataFrame)>> {
    Ok(vec![
        (CAPABILITIES, capabilities(rows)?),
        (CAPABILITY_GROUPS, capability_groups(rows)?),
        (TECHNIQUES, techniques(rows, attack)?),
        (FRAMEWORKS, framework_table(rows)?),
    ])
}

fn text<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Series {
    Series::new(PlSmallStr::EMPTY, values.collect::<Vec<_>>())
}

fn counts(values: impl Iterator<Item = usize>) -> Series {
    Series::new(PlSmallStr::EMPTY, values.map(|n| n as i64).collect::<Vec<_>>())
}

type CapabilityKey<'a> = (&'a str, &'a str, &'a str);

#[derive(Default)]
struct Capability<'a> {
    description: Option<&'a str>,
    group: Option<&'a str>,
    group_name: Option<&'a str>,
    mappings: usize,
}

/// Capabilities by (framework, version, id), with the first description and group the table gives.
fn capability_index(rows: &[MappingRow]) -> BTreeMap<CapabilityKey<'_>, Capability<'_>> {
    let mut index: BTreeMap<CapabilityKey, Capability> = BTreeMap::new();
    for row in rows {
        let Some(id) = row.capability_id.as_deref() else {
            continue;
        };
        let entry = index.entry((&row.framework, &row.framework_version, id)).or_default();
        entry.description = entry.description.or(row.capability_description.as_deref());
        entry.group = entry.group.or(row.capability_group.as_deref());
        entry.group_name = entry.group_name.or(row.capability_group_name.as_deref());
        entry.mappings += 1;
    }
    index
}

fn capabilities(rows: &[MappingRow]) -> PolarsResult<DataFrame> {
    let index = capability_index(rows);
    let keys = || index.keys();
    frame_of(
        CAPABILITY_COLUMNS,
        vec![
            text(keys().map(|k| Some(k.0))),
            text(keys().map(|k| Some(k.1))),
            text(keys().map(|k| Some(k.2))),
            text(index.values().map(|c| c.description)),
            text(index.values().map(|c| c.group)),
            counts(index.values().map(|c| c.mappings)),
        ],
    )
}

fn capability_groups(rows: &[MappingRow]) -> PolarsResult<DataFrame> {
    let mut groups: BTreeMap<CapabilityKey, (Option<&str>, usize)> = BTreeMap::new();
    for ((framework, version, _), capability) in capability_index(rows) {
        let Some(group) = capability.group else { continue };
        let entry = groups.entry((framework, version, group)).or_default();
        entry.0 = entry.0.or(capability.group_name);
        entry.1 += 1;
    }
    let keys = || groups.keys();
    frame_of(
        CAPABILITY_GROUP_COLUMNS,
        vec![
            text(keys().map(|k| Some(k.0))),
            text(keys().map(|k| Some(k.1))),
            text(keys().map(|k| Some(k.2))),
            text(groups.values().map(|g| g.0)),
            counts(groups.values().map(|g| g.1)),
        ],
    )
}

/// One row of the techniques table.
struct TechniqueRow {
    name: Option<String>,
    tactics: Vec<String>,
    retired: bool,
    stix_id: Option<String>,
    source: String,
}

/// Every technique of the given ATT&CK bundles (retired ones only when a mapping cites them), and
/// every technique the table cites that no bundle names, keyed by (ATT&CK version, domain, id).
fn techniques(rows: &[MappingRow], attack: &AttackCatalog) -> PolarsResult<DataFrame> {
    let cited: BTreeSet<(&str, &str, &str)> = rows
        .iter()
        .filter_map(|r| Some((&*r.attack_version, &*r.domain, r.attack_object_id.as_deref()?)))
        .collect();
    let table_versions = |domain: &str| -> BTreeSet<&str> {
        rows.iter()
            .filter(|r| *r.domain == *domain)
            .map(|r| &*r.attack_version)
            .collect()
    };
    let mut index: BTreeMap<(String, String, String), TechniqueRow> = BTreeMap::new();
    // A bundle named for its version comes before one that serves every version.
    let mut bundles: Vec<_> = attack.bundles.iter().collect();
    bundles.sort_by_key(|b| (b.version.is_none(), b.path.clone()));
    for bundle in bundles {
        let versions: Vec<String> = match &bundle.version {
            Some(version) => vec![version.clone()],
            None => table_versions(&bundle.domain).into_iter().map(String::from).collect(),
        };
        for version in versions {
            for (id, technique) in bundle.techniques() {
                let key = (version.clone(), bundle.domain.clone(), id.to_string());
                let cited_here = cited.contains(&(key.0.as_str(), key.1.as_str(), key.2.as_str()));
                if (technique.retired && !cited_here) || index.contains_key(&key) {
                    continue;
                }
                index.insert(
                    key,
                    TechniqueRow {
                        name: Some(technique.name.clone()),
                        tactics: technique.tactics.clone(),
                        retired: technique.retired,
                        stix_id: Some(technique.stix_id.clone()),
                        source: bundle.file_name(),
                    },
                );
            }
        }
    }
    for row in rows {
        let Some(id) = row.attack_object_id.as_deref() else {
            continue;
        };
        let key = (row.attack_version.to_string(), row.domain.to_string(), id.to_string());
        if index.contains_key(&key) {
            continue;
        }
        // Cited from another domain (NIST 16.1 Enterprise cites the Mobile T1521.003): that domain's bundle.
        let other_bundle = attack
            .bundles_for(&row.attack_version, &row.domain)
            .into_iter()
            .find_map(|b| Some((b, b.technique(id)?)));
        let technique = match other_bundle {
            Some((bundle, technique)) => TechniqueRow {
                name: Some(technique.name.clone()),
                tactics: technique.tactics.clone(),
                retired: technique.retired,
                stix_id: Some(technique.stix_id.clone()),
                source: bundle.file_name(),
            },
            None => TechniqueRow {
                name: row.attack_object_name.as_deref().map(String::from),
                tactics: Vec::new(),
                retired: false,
                stix_id: None,
                source: "mappings".to_string(),
            },
        };
        index.insert(key, technique);
    }

    let keys = || index.keys();
    let parent = |id: &str| id.split_once('.').map(|(parent, _)| parent.to_string());
    frame_of(
        TECHNIQUE_COLUMNS,
        vec![
            text(keys().map(|k| Some(k.0.as_str()))),
            text(keys().map(|k| Some(k.1.as_str()))),
            text(keys().map(|k| Some(k.2.as_str()))),
            text(index.values().map(|t| t.name.as_deref())),
            Series::new(PlSmallStr::EMPTY, keys().map(|k| parent(&k.2)).collect::<Vec<_>>()),
            Series::new(PlSmallStr::EMPTY, keys().map(|k| k.2.contains('.')).collect::<Vec<_>>()),
            string_lists("", index.values().map(|t| t.tactics.as_slice()))?,
            Series::new(PlSmallStr::EMPTY, index.values().map(|t| t.retired).collect::<Vec<_>>()),
            text(index.values().map(|t| t.stix_id.as_deref())),
            text(index.values().map(|t| Some(t.source.as_str()))),
        ],
    )
}

/// The versions a framework appears with in the table.
#[derive(Default)]
struct Versions<'a> {
    framework: BTreeSet<&'a str>,
    attack: BTreeSet<&'a str>,
}

fn framework_table(rows: &[MappingRow]) -> PolarsResult<DataFrame> {
    let mut index: BTreeMap<&str, Versions> = BTreeMap::new();
    for row in rows {
        let entry = index.entry(&row.framework).or_default();
        entry.framework.insert(&row.framework_version);
        entry.attack.insert(&row.attack_version);
    }
    let ids = || index.keys().copied();
    let framework_versions: Vec<Vec<&str>> = index.values().map(|v| v.framework.iter().copied().collect()).collect();
    let attack_versions: Vec<Vec<&str>> = index.values().map(|v| v.attack.iter().copied().collect()).collect();
    frame_of(
        FRAMEWORK_COLUMNS,
        vec![
            text(ids().map(Some)),
            text(ids().map(|id| Some(frameworks::label(id)))),
            text(ids().map(|id| Some(frameworks::kind(id).as_str()))),
            string_lists("", framework_versions.iter().map(Vec::as_slice))?,
            string_lists("", attack_versions.iter().map(Vec::as_slice))?,
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::MappingRowBuilder;

    /// An AWS capability of the `detect` group mapped to a technique the row names.
    fn detects(capability: &str, technique: &str) -> MappingRow {
        MappingRowBuilder::new("aws", "v1")
            .capability(capability)
            .capability_group("detect")
            .technique(technique)
            .technique_name(&format!("name of {technique}"))
            .build()
    }

    #[test]
    fn dimensions_have_one_row_per_key_and_count_what_they_summarize() {
        let rows = [
            detects("GuardDuty", "T1562"),
            detects("GuardDuty", "T1562.001"),
            detects("Config", "T1562"),
            MappingRowBuilder::new("nist_800_53", "v1")
                .technique("T1078")
                .technique_name("name of T1078")
                .build(),
        ];
        let tables = tables(&rows, &AttackCatalog::default()).unwrap();
        let height = |name: &str| tables.iter().find(|(n, _)| *n == name).unwrap().1.height();
        assert_eq!(height(CAPABILITIES), 2);
        assert_eq!(height(CAPABILITY_GROUPS), 1);
        assert_eq!(height(TECHNIQUES), 3);
        assert_eq!(height(FRAMEWORKS), 2);

        let techniques = &tables.iter().find(|(n, _)| *n == TECHNIQUES).unwrap().1;
        let parents: Vec<Option<&str>> = techniques
            .column("parent_technique_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(parents, [None, None, Some("T1562")]);
        let groups = &tables.iter().find(|(n, _)| *n == CAPABILITY_GROUPS).unwrap().1;
        assert_eq!(groups.column("capabilities").unwrap().i64().unwrap().get(0), Some(2));
    }
}
