//! The warehouse's dimension tables, built from the index of the table's rows (and the ATT&CK bundles,
//! when given): capabilities, capability groups, techniques and frameworks, each with its columns named here.

mod index;

pub use index::DimensionIndex;

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;

use crate::frameworks;
use crate::model;
use crate::sources::attack_stix::AttackCatalog;
use crate::table::{
    column, frame_of, string_lists, Column,
    ColumnType::{Boolean, Int64, String as Text, StringList},
};
use index::First;

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

/// Every dimension table, by name, in a fixed order, from the index of every dataset of the table.
pub fn tables(index: &DimensionIndex, attack: &AttackCatalog) -> PolarsResult<Vec<(&'static str, DataFrame)>> {
    Ok(vec![
        (CAPABILITIES, capabilities(index)?),
        (CAPABILITY_GROUPS, capability_groups(index)?),
        (TECHNIQUES, techniques(index, attack)?),
        (FRAMEWORKS, framework_table(index)?),
    ])
}

fn text<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Series {
    Series::new(PlSmallStr::EMPTY, values.collect::<Vec<_>>())
}

fn counts(values: impl Iterator<Item = usize>) -> Series {
    Series::new(PlSmallStr::EMPTY, values.map(|n| n as i64).collect::<Vec<_>>())
}

/// The value the table gives first, if any.
fn first(value: &Option<First<model::Text>>) -> Option<&str> {
    value.as_ref().map(|first| &*first.value)
}

/// Capabilities by (framework, version, id), with the first description and group the table gives.
fn capabilities(index: &DimensionIndex) -> PolarsResult<DataFrame> {
    let keys = || index.capabilities.keys();
    let values = || index.capabilities.values();
    frame_of(
        CAPABILITY_COLUMNS,
        vec![
            text(keys().map(|k| Some(&*k.0))),
            text(keys().map(|k| Some(&*k.1))),
            text(keys().map(|k| Some(&*k.2))),
            text(values().map(|c| first(&c.description))),
            text(values().map(|c| first(&c.group))),
            counts(values().map(|c| c.mappings)),
        ],
    )
}

fn capability_groups(index: &DimensionIndex) -> PolarsResult<DataFrame> {
    let mut groups: BTreeMap<(&str, &str, &str), (Option<&str>, usize)> = BTreeMap::new();
    for ((framework, version, _), capability) in &index.capabilities {
        let Some(group) = first(&capability.group) else {
            continue;
        };
        let entry = groups.entry((framework, version, group)).or_default();
        entry.0 = entry.0.or(first(&capability.group_name));
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
fn techniques(index: &DimensionIndex, attack: &AttackCatalog) -> PolarsResult<DataFrame> {
    let cited: BTreeSet<(&str, &str, &str)> = index.cited.keys().map(|(v, d, id)| (&**v, &**d, &**id)).collect();
    let mut techniques: BTreeMap<(String, String, String), TechniqueRow> = BTreeMap::new();
    // A bundle named for its version comes before one that serves every version.
    let mut bundles: Vec<_> = attack.bundles.iter().collect();
    bundles.sort_by_key(|b| (b.version.is_none(), b.path.clone()));
    for bundle in bundles {
        let versions: Vec<String> = match &bundle.version {
            Some(version) => vec![version.clone()],
            None => index.attack_versions(&bundle.domain),
        };
        for version in versions {
            for (id, technique) in bundle.techniques() {
                let key = (version.clone(), bundle.domain.clone(), id.to_string());
                let cited_here = cited.contains(&(key.0.as_str(), key.1.as_str(), key.2.as_str()));
                if (technique.retired && !cited_here) || techniques.contains_key(&key) {
                    continue;
                }
                techniques.insert(
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
    for ((attack_version, domain, id), name) in &index.cited {
        let key = (attack_version.to_string(), domain.to_string(), id.to_string());
        if techniques.contains_key(&key) {
            continue;
        }
        // Cited from another domain (NIST 16.1 Enterprise cites the Mobile T1521.003): that domain's bundle.
        let other_bundle = attack
            .bundles_for(attack_version, domain)
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
            // The name the first row citing it gives.
            None => TechniqueRow {
                name: name.value.as_deref().map(String::from),
                tactics: Vec::new(),
                retired: false,
                stix_id: None,
                source: "mappings".to_string(),
            },
        };
        techniques.insert(key, technique);
    }

    let keys = || techniques.keys();
    let parent = |id: &str| id.split_once('.').map(|(parent, _)| parent.to_string());
    frame_of(
        TECHNIQUE_COLUMNS,
        vec![
            text(keys().map(|k| Some(k.0.as_str()))),
            text(keys().map(|k| Some(k.1.as_str()))),
            text(keys().map(|k| Some(k.2.as_str()))),
            text(techniques.values().map(|t| t.name.as_deref())),
            Series::new(PlSmallStr::EMPTY, keys().map(|k| parent(&k.2)).collect::<Vec<_>>()),
            Series::new(PlSmallStr::EMPTY, keys().map(|k| k.2.contains('.')).collect::<Vec<_>>()),
            string_lists("", techniques.values().map(|t| t.tactics.as_slice()))?,
            Series::new(
                PlSmallStr::EMPTY,
                techniques.values().map(|t| t.retired).collect::<Vec<_>>(),
            ),
            text(techniques.values().map(|t| t.stix_id.as_deref())),
            text(techniques.values().map(|t| Some(t.source.as_str()))),
        ],
    )
}

fn framework_table(index: &DimensionIndex) -> PolarsResult<DataFrame> {
    let ids = || index.frameworks.keys().map(|id| &**id);
    fn listed(set: &BTreeSet<model::Text>) -> Vec<&str> {
        set.iter().map(|v| &**v).collect()
    }
    let framework_versions: Vec<Vec<&str>> = index.frameworks.values().map(|v| listed(&v.framework)).collect();
    let attack_versions: Vec<Vec<&str>> = index.frameworks.values().map(|v| listed(&v.attack)).collect();
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
mod tests;
