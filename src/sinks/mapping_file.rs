//! Each derived dataset (`--carry-to`) as a mapping file in the Mappings Explorer's unified schema
//! (`derived/<dataset>.json`): a maintainer can review it and feed it to the site's own tools, and
//! `attackmap build` reads it back into the same rows, `carry` included.
//!
//! The unified schema has no field for "derived", so attackmap says it where the schema has free
//! text: `metadata.mapping_version` is `derived from ATT&CK <version> by attackmap`, `metadata.author`
//! says it is not an official mapping, and each mapping object's `author` says how it was carried
//! (`attackmap carry: replaced from T1002; moved_tactic`): [`marks`], which the reader takes back.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::model::{DatasetKey, Date, MappingRow};
use crate::transforms::carry::marks;

/// The directory of `out/` the derived mapping files go into.
pub const DERIVED_DIR: &str = "derived";

/// What a derived file's `creation_date` is when its rows carry none (rows read from pages): a
/// fixed day, never the clock (as STIX's undated objects).
const UNDATED: &str = "01/01/2000";

/// The mapping file of one derived dataset.
pub fn document(dataset: &DatasetKey, from: &str, rows: &[&MappingRow]) -> Value {
    // A mapping type key per distinct label: the canonical type, numbered when two labels share it.
    let mut type_keys: BTreeMap<&str, String> = BTreeMap::new();
    let mut mapping_types = Map::new();
    for row in rows {
        let (Some(canonical), Some(label)) = (row.mapping_type.as_deref(), row.mapping_type_label.as_deref()) else {
            continue;
        };
        if type_keys.contains_key(label) {
            continue;
        }
        let mut key = canonical.to_string();
        let mut n = 1;
        while mapping_types.contains_key(&key) {
            n += 1;
            key = format!("{canonical}_{n}");
        }
        mapping_types.insert(key.clone(), json!({"name": label, "description": ""}));
        type_keys.insert(label, key);
    }
    let mut capability_groups = Map::new();
    for row in rows {
        if let (Some(group), Some(name)) = (row.capability_group.as_deref(), row.capability_group_name.as_deref()) {
            capability_groups.insert(group.to_string(), json!(name));
        }
    }
    let created = rows.iter().find_map(|r| r.creation_date);
    let updated = rows.iter().find_map(|r| r.last_update);
    let is_date = Date::from_us_date(&dataset.framework_version.replace('.', "/")).is_some();
    let mut metadata = json!({
        "mapping_version": marks::mapping_version(from),
        "attack_version": dataset.attack_version,
        "technology_domain": dataset.domain,
        "creation_date": created.map_or_else(|| UNDATED.to_string(), Date::us_date),
        "mapping_framework": dataset.framework,
        "mapping_framework_version": dataset.framework_version,
        "mapping_framework_version_schema": if is_date { "ACCESS_DATE" } else { "FRAMEWORK_VERSION" },
        "author": marks::DERIVED_AUTHOR,
        "contact": null,
        "organization": null,
        "mapping_types": mapping_types,
        "capability_groups": capability_groups,
    });
    if let Some(updated) = updated {
        metadata["last_update"] = json!(updated.us_date());
    }
    // A mapping whose official repeats disagreed on the score is written once per score, in their
    // order: read back, the repeats collapse into the same row, the same `score_values` kept.
    let objects: Vec<Value> = rows
        .iter()
        .flat_map(|row| {
            let scores: Vec<Option<&str>> = if row.score_values.len() > 1 {
                row.score_values.iter().map(|s| Some(&**s)).collect()
            } else {
                vec![row.score_value.as_deref()]
            };
            scores.into_iter().map(move |score| (row, score))
        })
        .map(|(row, score_value)| {
            let mut object = json!({
                "author": row.carry.as_deref().map(marks::row_author),
                "author_contact": null,
                "author_organization": null,
                "attack_object_id": row.attack_object_id.as_deref(),
                "attack_object_name": row.attack_object_name.as_deref(),
                "attack_version": dataset.attack_version,
                "mapping_framework": dataset.framework,
                "mapping_framework_version": dataset.framework_version,
                "capability_id": row.capability_id.as_deref(),
                "capability_description": row.capability_description.as_deref(),
                "comments": (!row.comments.is_empty()).then(|| row.comments.join("\n\n")),
                "references": row.references.iter().map(|r| &**r).collect::<Vec<&str>>(),
                "mapping_type": row.mapping_type_label.as_deref().and_then(|l| type_keys.get(l)),
                "capability_group": row.capability_group.as_deref(),
                "technology_domain": dataset.domain,
                "score_category": row.score_category.as_deref(),
                "score_value": score_value,
                "related_score": row.related_score.as_deref(),
            });
            if let Some(status) = row.status.as_deref() {
                object["status"] = json!(status);
            }
            object
        })
        .collect();
    json!({"metadata": metadata, "mapping_objects": objects})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Carry, CarryKind};
    use crate::test_support::MappingRowBuilder;

    #[test]
    fn a_score_conflict_is_written_once_per_score_so_that_it_reads_back_alike() {
        let mut row = MappingRowBuilder::new("aws", "12.12.2024")
            .capability("aws_config")
            .technique("T1562")
            .mapping_type("technique_scores")
            .score("protect", "significant")
            .build();
        row.attack_version = "18.1".into();
        row.mapping_type_label = Some("technique_scores".into());
        row.score_values = vec!["partial".into(), "significant".into()];
        row.carry = Some(Box::new(Carry {
            kind: CarryKind::Unchanged,
            derived_from: "16.1".into(),
            original_technique: Some("T1562".into()),
            attack_changes: vec![],
        }));
        let document = document(&row.dataset(), "16.1", &[&row]);
        let scores: Vec<&Value> = document["mapping_objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| &o["score_value"])
            .collect();
        assert_eq!(scores, [&json!("partial"), &json!("significant")]);
        assert_eq!(document["metadata"]["mapping_framework_version_schema"], "ACCESS_DATE");
        assert_eq!(
            document["metadata"]["mapping_types"]["technique_scores"]["name"],
            "technique_scores"
        );
    }
}
