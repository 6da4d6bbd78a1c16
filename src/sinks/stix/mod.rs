//! STIX 2.1 bundles, one per dataset, in the profile of `shared/specs/stix-profile.md`:
//! capabilities as course-of-action / vulnerability / attack-pattern, one relationship per distinct
//! edge, and the ATT&CK attack-patterns they reference (with the objects those reference) included.
//! Deterministic: UUIDv5 ids, objects sorted by id, dates from the data.

pub mod ledger;
mod objects;

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::Result;
use crate::model::{DatasetKey, MappingRow};
use crate::sinks::write_json;
use crate::sources::attack_stix::{AttackBundle, AttackCatalog};

pub use ledger::{Ledger, Versioning};
pub use objects::stix_id;

/// What one bundle holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BundleCounts {
    pub file: String,
    pub objects: usize,
    pub capabilities: usize,
    pub relationships: BTreeMap<String, usize>,
    pub attack_patterns: usize,
    /// Attack-patterns taken from an ATT&CK bundle, with ATT&CK's own ids.
    pub attack_patterns_from_attack: usize,
    /// Techniques no ATT&CK bundle resolved: written as minimal attack-patterns with our ids.
    pub techniques_not_in_attack: Vec<String>,
    /// Rows with no capability (nothing to write) or no technique (the capability without a relationship).
    pub non_mappable_rows: usize,
}

/// Writes `<dir>/<dataset>.json` for every dataset of `rows`, in parallel, our objects versioned
/// against the previous ledger; counts in dataset order, and this run's ledger.
pub fn write_all(
    rows: &[MappingRow],
    catalog: &AttackCatalog,
    dir: &Path,
    versioning: &Versioning,
) -> Result<(Vec<BundleCounts>, Ledger)> {
    let datasets: Vec<(DatasetKey, Vec<&MappingRow>)> = crate::model::by_dataset(rows).into_iter().collect();
    let written: Vec<(BundleCounts, Vec<(String, ledger::Entry)>)> = datasets
        .par_iter()
        .map(|(dataset, dataset_rows)| {
            let attack = catalog.bundles_for(&dataset.attack_version, &dataset.domain);
            let (mut bundle, mut counts) = bundle(dataset, dataset_rows, &attack);
            let entries: Vec<(String, ledger::Entry)> = bundle["objects"]
                .as_array_mut()
                .expect("a bundle has objects")
                .iter_mut()
                .filter(|object| objects::is_ours(object))
                .filter_map(|object| versioning.version(object))
                .collect();
            let file = format!("{dataset}.json");
            write_json(&crate::identifiers::file_in(dir, &file)?, &bundle)?;
            counts.file = file;
            Ok((counts, entries))
        })
        .collect::<Result<_>>()?;
    let mut ledger = Ledger::default();
    let mut counts = Vec::with_capacity(written.len());
    for (bundle_counts, entries) in written {
        counts.push(bundle_counts);
        ledger.objects.extend(entries);
    }
    Ok((counts, ledger))
}

/// The bundle of one dataset.
pub fn bundle(dataset: &DatasetKey, rows: &[&MappingRow], attack: &[&AttackBundle]) -> (Value, BundleCounts) {
    let stamps = objects::Stamps::of(rows);
    let mut counts = BundleCounts::default();
    let mut all: BTreeMap<String, Value> = BTreeMap::new();
    let add = |object: Value, all: &mut BTreeMap<String, Value>| {
        let id = object["id"].as_str().expect("every object has an id").to_string();
        all.entry(id.clone()).or_insert(object);
        id
    };
    add(objects::publisher(), &mut all);
    add(objects::extension_definition(), &mut all);

    let mut edges: BTreeMap<(&str, String, String), Vec<&MappingRow>> = BTreeMap::new();
    let mut technique_ids: BTreeMap<&str, String> = BTreeMap::new();
    for row in rows {
        let Some(capability_id) = row.capability_id.as_deref() else {
            counts.non_mappable_rows += 1;
            continue;
        };
        let capability = objects::capability_id(dataset, capability_id);
        if !all.contains_key(&capability) {
            add(objects::capability(dataset, row, capability_id, &stamps), &mut all);
        }
        let technique_id = match row.attack_object_id.as_deref() {
            Some(technique_id) if !row.is_non_mappable() => technique_id,
            _ => {
                counts.non_mappable_rows += 1;
                continue;
            }
        };
        let attack_pattern = match technique_ids.get(technique_id) {
            Some(id) => id.clone(),
            None => {
                let id = attack_pattern(technique_id, row, attack, &stamps, &mut all, &mut counts);
                technique_ids.insert(technique_id, id.clone());
                id
            }
        };
        let (relationship_type, technique_is_source) = objects::relationship_kind(&dataset.framework, row);
        let (source, target) = if technique_is_source {
            (attack_pattern, capability)
        } else {
            (capability, attack_pattern)
        };
        edges.entry((relationship_type, source, target)).or_default().push(row);
    }
    counts.attack_patterns = technique_ids.len();
    for ((relationship_type, source, target), edge_rows) in &edges {
        *counts.relationships.entry(relationship_type.to_string()).or_default() += 1;
        let relationship = objects::relationship(dataset, (relationship_type, source, target), edge_rows, &stamps);
        add(relationship, &mut all);
    }
    counts.capabilities = all
        .values()
        .filter(|o| objects::framework_of(o).is_some() && o["type"] != "relationship")
        .count();
    counts.objects = all.len();

    let bundle = json!({
        "type": "bundle",
        "id": stix_id("bundle", &["bundle", &dataset.to_string()]),
        "objects": all.into_values().collect::<Vec<_>>(),
    });
    (bundle, counts)
}

/// The attack-pattern of a technique: ATT&CK's own object (and what it references) from the first
/// bundle that has it, else a minimal stand-in. Returns its id.
fn attack_pattern(
    technique_id: &str,
    row: &MappingRow,
    attack: &[&AttackBundle],
    stamps: &objects::Stamps,
    all: &mut BTreeMap<String, Value>,
    counts: &mut BundleCounts,
) -> String {
    if let Some((attack, technique)) = attack.iter().find_map(|b| b.technique(technique_id).map(|t| (b, t))) {
        include_with_references(attack, &technique.stix_id, all);
        counts.attack_patterns_from_attack += 1;
        return technique.stix_id.clone();
    }
    counts.techniques_not_in_attack.push(technique_id.to_string());
    let object =
        objects::minimal_attack_pattern(&row.dataset(), technique_id, row.attack_object_name.as_deref(), stamps);
    let id = object["id"].as_str().expect("an id").to_string();
    all.entry(id.clone()).or_insert(object);
    id
}

/// Adds an ATT&CK object unchanged, and every object its `*_ref` / `*_refs` properties name.
fn include_with_references(attack: &AttackBundle, stix_id: &str, all: &mut BTreeMap<String, Value>) {
    if all.contains_key(stix_id) {
        return;
    }
    let Some(object) = attack.object(stix_id) else { return };
    let references = references_of(&object);
    all.insert(stix_id.to_string(), object);
    for reference in references {
        include_with_references(attack, &reference, all);
    }
}

/// The ids an object refers to through `*_ref` and `*_refs` properties, at any depth.
pub fn references_of(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_references(value, &mut found);
    found
}

fn collect_references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if key.ends_with("_ref") {
                    if let Some(id) = item.as_str() {
                        found.push(id.to_string());
                    }
                } else if key.ends_with("_refs") {
                    found.extend(
                        item.as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(String::from),
                    );
                } else {
                    collect_references(item, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_references(item, found)),
        _ => {}
    }
}
