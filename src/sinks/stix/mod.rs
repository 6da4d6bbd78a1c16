//! STIX 2.1 bundles, one per dataset, in the profile of `shared/specs/stix-profile.md`:
//! capabilities as course-of-action / vulnerability / attack-pattern, one relationship per distinct
//! edge, and the ATT&CK attack-patterns they reference (with the objects those reference) included.
//! Deterministic: UUIDv5 ids, objects sorted by id, dates from the data.

mod attack_objects;
mod item;
pub mod ledger;
mod object;
mod objects;
pub mod revoked;
mod writer;

use std::collections::{btree_map, BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::model::{DatasetKey, Interner, MappingRow};
use crate::sinks::write_staged;
use crate::sources::attack_stix::AttackBundle;
use attack_objects::{AttackObject, AttackObjects};
use item::ItemWriter;
use object::StixObject;

pub use ledger::{Ledger, Versioning};
pub use objects::stix_id;
pub use writer::{Writer, Written};

/// The directory of the bundles, in the output directory.
pub const DIR: &str = "stix";

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
    /// Rows of a derived dataset (`--carry-to`) whose technique was dropped: no relationship.
    #[serde(skip_serializing_if = "crate::sinks::is_zero")]
    pub dropped_rows: usize,
}

/// A dataset's bundle: its id and its objects by id (the order they are written in).
struct Bundle {
    id: String,
    objects: BTreeMap<String, BundleObject>,
}

/// An object of a bundle: one of ours, built for it, or one of ATT&CK's, formatted once for all.
enum BundleObject {
    Ours(Box<StixObject>),
    Attack(Arc<AttackObject>),
}

/// Writes a bundle, pretty-printed with a final newline, as serde_json would write it as one JSON
/// value (keys sorted: `id`, `objects`, `type`): our objects versioned as they are written, ATT&CK's
/// copied in already formatted. Returns the ledger entries of ours.
fn write_bundle(path: &Path, bundle: Bundle, versioning: &Versioning) -> Result<Vec<(String, ledger::Entry)>> {
    let mut entries = Vec::new();
    write_staged(path, |file| {
        let id = serde_json::to_string(&bundle.id).map_err(|e| e.to_string())?;
        let mut items = ItemWriter::default();
        let mut shared = Interner::default();
        let write = || -> std::io::Result<()> {
            write!(file, "{{\n  \"id\": {id},\n  \"objects\": [\n")?;
            for (i, object) in bundle.objects.into_values().enumerate() {
                if i > 0 {
                    file.write_all(b",\n")?;
                }
                match object {
                    BundleObject::Ours(object) => {
                        entries.push(versioning.write_versioned(*object, &mut items, &mut shared, file)?)
                    }
                    BundleObject::Attack(object) => file.write_all(&object.item)?,
                }
            }
            file.write_all(b"\n  ],\n  \"type\": \"bundle\"\n}\n")
        };
        write().map_err(|e| e.to_string())
    })?;
    Ok(entries)
}

/// The bundle of one dataset.
fn bundle<'a>(
    dataset: &DatasetKey,
    rows: &[&MappingRow],
    attack: &[&'a AttackBundle],
    attack_objects: &AttackObjects<'a>,
) -> (Bundle, BundleCounts) {
    let stamps = objects::Stamps::of(rows);
    let mut counts = BundleCounts::default();
    let mut all: BTreeMap<String, BundleObject> = BTreeMap::new();
    let add = |object: StixObject, all: &mut BTreeMap<String, BundleObject>| {
        if let btree_map::Entry::Vacant(entry) = all.entry(object.id.clone()) {
            entry.insert(BundleObject::Ours(Box::new(object)));
        }
    };
    add(objects::publisher(), &mut all);
    add(objects::extension_definition(), &mut all);

    // The ids of the capabilities and attack-patterns, each computed once, and the edges between
    // them by position in `ids`.
    let mut ids: Vec<String> = Vec::new();
    let mut capability_ids: HashMap<&str, usize> = HashMap::new();
    let mut technique_ids: HashMap<&str, usize> = HashMap::new();
    let mut edges: BTreeMap<(&str, usize, usize), Vec<&MappingRow>> = BTreeMap::new();
    for row in rows {
        if row.carry.as_ref().is_some_and(|c| !c.kind.is_kept()) {
            // A derived row whose technique is gone from the target release: in the report, not here.
            counts.dropped_rows += 1;
            continue;
        }
        let Some(capability_id) = row.capability_id.as_deref() else {
            counts.non_mappable_rows += 1;
            continue;
        };
        let capability = match capability_ids.get(capability_id) {
            Some(&capability) => capability,
            None => {
                let object = objects::capability(dataset, row, capability_id, &stamps);
                ids.push(object.id.clone());
                add(object, &mut all);
                capability_ids.insert(capability_id, ids.len() - 1);
                ids.len() - 1
            }
        };
        let technique_id = match row.attack_object_id.as_deref() {
            Some(technique_id) if !row.is_non_mappable() => technique_id,
            _ => {
                counts.non_mappable_rows += 1;
                continue;
            }
        };
        let attack_pattern = match technique_ids.get(technique_id) {
            Some(&attack_pattern) => attack_pattern,
            None => {
                let id = match attack_pattern(technique_id, row, attack, &stamps, &mut counts) {
                    AttackPattern::Attack(attack, stix_id) => {
                        include_with_references(attack, attack_objects, &stix_id, &mut all);
                        stix_id
                    }
                    AttackPattern::StandIn(object) => {
                        let id = object.id.clone();
                        add(*object, &mut all);
                        id
                    }
                };
                ids.push(id);
                technique_ids.insert(technique_id, ids.len() - 1);
                ids.len() - 1
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
    for (&(relationship_type, source, target), edge_rows) in &edges {
        *counts.relationships.entry(relationship_type.to_string()).or_default() += 1;
        let edge = (relationship_type, ids[source].as_str(), ids[target].as_str());
        add(objects::relationship(dataset, edge, edge_rows, &stamps), &mut all);
    }
    if let Some(from) = crate::model::derived_from(rows) {
        let about: Vec<String> = all
            .iter()
            .filter(|(_, o)| matches!(o, BundleObject::Ours(o) if o.extensions.is_some() && o.object_type != "extension-definition"))
            .map(|(id, _)| id.clone())
            .collect();
        if !about.is_empty() {
            add(objects::derived_note(dataset, from, about, &stamps), &mut all);
        }
    }
    counts.capabilities = all
        .values()
        .filter(|o| matches!(o, BundleObject::Ours(o) if o.extensions.is_some() && !matches!(o.object_type, "relationship" | "note")))
        .count();
    counts.objects = all.len();
    let bundle = Bundle {
        id: stix_id("bundle", &["bundle", &dataset.to_string()]),
        objects: all,
    };
    (bundle, counts)
}

/// Where a technique's attack-pattern comes from.
enum AttackPattern<'a> {
    /// ATT&CK's own object: the bundle that has it, and its id.
    Attack(&'a AttackBundle, String),
    /// A minimal stand-in of ours, for a technique no ATT&CK bundle resolved.
    StandIn(Box<StixObject>),
}

/// The attack-pattern of a technique: ATT&CK's own object from the first bundle that has it, else a
/// minimal stand-in.
fn attack_pattern<'a>(
    technique_id: &str,
    row: &MappingRow,
    attack: &[&'a AttackBundle],
    stamps: &objects::Stamps,
    counts: &mut BundleCounts,
) -> AttackPattern<'a> {
    if let Some((attack, technique)) = attack.iter().find_map(|b| b.technique(technique_id).map(|t| (*b, t))) {
        counts.attack_patterns_from_attack += 1;
        return AttackPattern::Attack(attack, technique.stix_id.clone());
    }
    counts.techniques_not_in_attack.push(technique_id.to_string());
    AttackPattern::StandIn(Box::new(objects::minimal_attack_pattern(
        &row.dataset(),
        technique_id,
        row.attack_object_name.as_deref(),
        stamps,
    )))
}

/// Adds an ATT&CK object unchanged, and every object its `*_ref` / `*_refs` properties name.
fn include_with_references<'a>(
    attack: &'a AttackBundle,
    attack_objects: &AttackObjects<'a>,
    stix_id: &str,
    all: &mut BTreeMap<String, BundleObject>,
) {
    if all.contains_key(stix_id) {
        return;
    }
    let Some(object) = attack_objects.get(attack, stix_id) else {
        return;
    };
    all.insert(stix_id.to_string(), BundleObject::Attack(Arc::clone(&object)));
    for reference in &object.references {
        include_with_references(attack, attack_objects, reference, all);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_bundle_is_written_byte_for_byte_as_serde_json_writes_it_whole() {
        let ours = StixObject {
            created: "2000-01-01T00:00:00.000Z".into(),
            description: Some("tab\there, a \\ and a control \u{1}".into()),
            extensions: Some(object::Extension {
                definition: "extension-definition--9",
                properties: object::Properties {
                    attack_version: "16.1".into(),
                    mapping_ids: Some(vec!["m1".into(), "m2".into()]),
                    scores: vec![object::Score {
                        category: "protect".into(),
                        value: "partial".into(),
                    }],
                    ..object::Properties::default()
                },
            }),
            id: "identity--1".into(),
            modified: Some("2001-02-03T00:00:00.000Z".into()),
            name: Some("a \"quoted\"\nname".into()),
            object_refs: Some(Vec::new()),
            spec_version: "2.1",
            object_type: "identity",
            ..StixObject::default()
        };
        let theirs = json!({"id": "attack-pattern--2", "type": "attack-pattern",
            "external_references": [{"source_name": "mitre-attack", "external_id": "T1562"}], "x": {}});
        let bundle = Bundle {
            id: "bundle--3".into(),
            objects: BTreeMap::from([
                (
                    "attack-pattern--2".to_string(),
                    BundleObject::Attack(Arc::new(AttackObject {
                        item: item::bundle_item(&theirs),
                        references: Vec::new(),
                    })),
                ),
                ("identity--1".to_string(), BundleObject::Ours(Box::new(ours.clone()))),
            ]),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.json");
        let entries = write_bundle(&path, bundle, &Versioning::default()).unwrap();
        let whole =
            json!({"type": "bundle", "id": "bundle--3", "objects": [theirs, serde_json::to_value(&ours).unwrap()]});
        let expected = serde_json::to_string_pretty(&whole).unwrap() + "\n";
        assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
        let mut content = serde_json::to_value(&ours).unwrap();
        content.as_object_mut().unwrap().remove("modified");
        let ledger_entry = ledger::Entry {
            sha256: ledger::Sha256::of(content.to_string().as_bytes()),
            modified: "2001-02-03T00:00:00.000Z".into(),
            revoked: false,
        };
        assert_eq!(entries, vec![("identity--1".to_string(), ledger_entry)]);
    }
}
