//! Builders of the STIX 2.1 objects of the profile: the publisher, the property extension,
//! capabilities, attack-patterns and relationships, each with a UUIDv5 id over its natural key.

use std::sync::LazyLock;

use serde_json::{json, Map, Value};

use crate::frameworks::{self, FrameworkKind};
use crate::model::{DatasetKey, MappingRow, PROJECT_NAMESPACE};
use crate::site;

/// `created` of the publisher identity, and of objects whose source carries no date (site pages):
/// a fixed instant, so that output never depends on the clock.
pub const UNDATED: &str = "2000-01-01T00:00:00.000Z";

/// A STIX id: `type--` + UUIDv5 in the project namespace over the natural key written as a JSON array.
pub fn stix_id(object_type: &str, natural_key: &[&str]) -> String {
    let key = Value::from(natural_key.to_vec()).to_string();
    format!(
        "{object_type}--{}",
        uuid::Uuid::new_v5(&PROJECT_NAMESPACE, key.as_bytes())
    )
}

/// The creation and modification instants of a dataset's objects.
#[derive(Debug, Clone)]
pub struct Stamps {
    pub created: String,
    pub modified: String,
}

impl Stamps {
    /// From the mapping file's `creation_date` and `last_update`; [`UNDATED`] where the source has none.
    pub fn of(rows: &[&MappingRow]) -> Stamps {
        let created = rows.iter().find_map(|r| r.creation_date);
        let updated = rows.iter().find_map(|r| r.last_update);
        let instant = |d: crate::model::Date| format!("{d}T00:00:00.000Z");
        let created_text = created.map_or_else(|| UNDATED.to_string(), instant);
        let modified = match (created, updated) {
            (Some(c), Some(u)) if u > c => instant(u),
            _ => created_text.clone(),
        };
        Stamps {
            created: created_text,
            modified,
        }
    }
}

static EXTENSION_ID: LazyLock<String> = LazyLock::new(|| {
    stix_id(
        "extension-definition",
        &["extension-definition", "attackmap", "mapping-properties"],
    )
});

/// The property extension that carries what STIX has no word for (framework, versions, domain,
/// groups, mapping types, scores, mapping ids): one object in each bundle, its id fixed.
pub fn extension_definition() -> Value {
    json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": *EXTENSION_ID,
        "created": UNDATED,
        "modified": UNDATED,
        "created_by_ref": *PUBLISHER_ID,
        "name": "attackmap mapping properties",
        "description": "Properties of the Mappings Explorer mappings that STIX 2.1 has no word for, written by attackmap on its capabilities and relationships.",
        "schema": "JSON Schema schemas/stix-extension.schema.json of attackmap: on capabilities framework, framework_version, attack_version, domain, capability_group, capability_group_name; on relationships framework, framework_version, attack_version, domain, mapping_types, mapping_type_labels, related_score, scores [{category, value}], mapping_ids.",
        "version": "1.0.0",
        "extension_types": ["property-extension"],
    })
}

/// Puts `properties` into the object as attackmap's property extension.
fn extend(object: &mut Map<String, Value>, mut properties: Map<String, Value>) {
    properties.insert("extension_type".into(), "property-extension".into());
    let mut extensions = Map::new();
    extensions.insert(EXTENSION_ID.clone(), Value::Object(properties));
    object.insert("extensions".into(), Value::Object(extensions));
}

/// The framework an object of ours belongs to, from its extension (`None` for ATT&CK's objects).
pub fn framework_of(object: &Value) -> Option<&str> {
    object["extensions"][EXTENSION_ID.as_str()]["framework"].as_str()
}

static PUBLISHER_ID: LazyLock<String> =
    LazyLock::new(|| stix_id("identity", &["identity", "Center for Threat-Informed Defense"]));

/// The publisher of the mappings, `created_by_ref` of every object we write.
pub fn publisher() -> Value {
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": *PUBLISHER_ID,
        "created": UNDATED,
        "modified": UNDATED,
        "name": "Center for Threat-Informed Defense",
        "identity_class": "organization",
        "description": "Publisher of the Mappings Explorer mappings; these objects were derived from them by attackmap.",
    })
}

/// Whether an object is one attackmap writes (the publisher, or created by it), not ATT&CK's.
pub fn is_ours(object: &Value) -> bool {
    object["id"] == PUBLISHER_ID.as_str() || object["created_by_ref"] == PUBLISHER_ID.as_str()
}

fn base(object_type: &str, id: String, stamps: &Stamps) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("type".into(), object_type.into());
    object.insert("spec_version".into(), "2.1".into());
    object.insert("id".into(), id.into());
    object.insert("created".into(), stamps.created.clone().into());
    object.insert("modified".into(), stamps.modified.clone().into());
    object.insert("created_by_ref".into(), PUBLISHER_ID.as_str().into());
    object
}

fn insert_some(object: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(value) = value.filter(|v| !v.is_empty()) {
        object.insert(key.into(), value.into());
    }
}

/// The STIX type a framework's capabilities take.
pub fn capability_type(framework: &str) -> &'static str {
    match frameworks::kind(framework) {
        FrameworkKind::Vulnerability => "vulnerability",
        FrameworkKind::Veris => "attack-pattern",
        _ => "course-of-action",
    }
}

/// The id of a capability's object: the capability as one dataset maps it, so its ATT&CK version and
/// domain are in the key. Its page, group and dates are that dataset's, and a STIX id names one
/// content in every bundle of a build: `id` + `modified` is a version to the systems that load us.
pub fn capability_id(dataset: &DatasetKey, capability_id: &str) -> String {
    let object_type = capability_type(&dataset.framework);
    stix_id(
        object_type,
        &[
            object_type,
            &dataset.framework,
            &dataset.framework_version,
            &dataset.attack_version,
            &dataset.domain,
            capability_id,
        ],
    )
}

/// A capability: course-of-action, vulnerability (KEV) or attack-pattern (VERIS).
pub fn capability(dataset: &DatasetKey, row: &MappingRow, capability_id: &str, stamps: &Stamps) -> Value {
    let object_type = capability_type(&dataset.framework);
    let id = self::capability_id(dataset, capability_id);
    let mut object = base(object_type, id, stamps);
    let name = row.capability_description.as_deref().unwrap_or(capability_id);
    object.insert("name".into(), name.into());
    let framework_reference = json!({
        "source_name": format!("{} {}", dataset.framework, dataset.framework_version),
        "external_id": capability_id,
        "url": site::capability_url(dataset, capability_id),
    });
    let references = match frameworks::kind(&dataset.framework) {
        // STIX reserves CVE ids for the `cve` source: the CVE reference leads, the framework's
        // reference keeps only the Mappings Explorer page.
        FrameworkKind::Vulnerability if capability_id.starts_with("CVE-") => vec![
            json!({"source_name": "cve", "external_id": capability_id}),
            json!({
                "source_name": framework_reference["source_name"],
                "url": framework_reference["url"],
            }),
        ],
        FrameworkKind::Veris => vec![
            framework_reference,
            json!({"source_name": "veris", "external_id": capability_id}),
        ],
        _ => vec![framework_reference],
    };
    object.insert("external_references".into(), references.into());
    let mut properties = dataset_properties(dataset);
    insert_some(&mut properties, "capability_group", row.capability_group.as_deref());
    insert_some(
        &mut properties,
        "capability_group_name",
        row.capability_group_name.as_deref(),
    );
    extend(&mut object, properties);
    Value::Object(object)
}

/// The dataset's key as extension properties.
fn dataset_properties(dataset: &DatasetKey) -> Map<String, Value> {
    let mut properties = Map::new();
    properties.insert("framework".into(), dataset.framework.clone().into());
    properties.insert("framework_version".into(), dataset.framework_version.clone().into());
    properties.insert("attack_version".into(), dataset.attack_version.clone().into());
    properties.insert("domain".into(), dataset.domain.clone().into());
    properties
}

/// A stand-in attack-pattern for a technique no ATT&CK bundle resolved: its id is ours, not ATT&CK's,
/// and keyed by the dataset, whose name for the technique and dates it carries.
pub fn minimal_attack_pattern(dataset: &DatasetKey, technique_id: &str, name: Option<&str>, stamps: &Stamps) -> Value {
    let dataset_key = dataset.to_string();
    let id = stix_id(
        "attack-pattern",
        &["attack-pattern", "mitre-attack", &dataset_key, technique_id],
    );
    let mut object = base("attack-pattern", id, stamps);
    object.insert("name".into(), name.unwrap_or(technique_id).into());
    object.insert(
        "external_references".into(),
        json!([{
            "source_name": "mitre-attack",
            "external_id": technique_id,
            "url": site::attack_technique_url(technique_id),
        }]),
    );
    Value::Object(object)
}

/// The relationship a row asserts, by framework kind: (type, whether the technique is the source).
pub fn relationship_kind(framework: &str, row: &MappingRow) -> (&'static str, bool) {
    let mapping_type = row.mapping_type.as_deref().unwrap_or_default();
    match frameworks::kind(framework) {
        FrameworkKind::Vulnerability => ("targets", true),
        FrameworkKind::Veris => ("related-to", false),
        FrameworkKind::SecurityStack => match row.score_category.as_deref() {
            Some("protect" | "respond") => ("mitigates", false),
            Some("detect") => ("detects", false),
            _ => ("related-to", false),
        },
        FrameworkKind::Control | FrameworkKind::Other if mapping_type == "mitigates" => ("mitigates", false),
        FrameworkKind::Control | FrameworkKind::Other => ("related-to", false),
    }
}

/// A source reference: a `url` when it is one, else kept as the reference's `description` (the data
/// has `[]`, `Ref: https://…`, URLs with spaces or a literal `\t` before them).
fn external_reference(reference: &str) -> Value {
    let is_url = (reference.starts_with("https://") || reference.starts_with("http://"))
        && !reference.chars().any(|c| c.is_whitespace() || c.is_control());
    if is_url {
        json!({"source_name": "reference", "url": reference})
    } else {
        json!({"source_name": "reference", "description": reference})
    }
}

/// One relationship for every row asserting the same edge: comments, references, scores and mapping
/// ids of all of them.
pub fn relationship(
    dataset: &DatasetKey,
    (relationship_type, source_ref, target_ref): (&str, &str, &str),
    rows: &[&MappingRow],
    stamps: &Stamps,
) -> Value {
    let id = stix_id(
        "relationship",
        &["relationship", relationship_type, source_ref, target_ref],
    );
    let mut object = base("relationship", id, stamps);
    object.insert("relationship_type".into(), relationship_type.into());
    object.insert("source_ref".into(), source_ref.into());
    object.insert("target_ref".into(), target_ref.into());

    let mut comments: Vec<&str> = Vec::new();
    let mut references: Vec<&str> = Vec::new();
    let mut scores = Vec::new();
    let mut mapping_ids = Vec::new();
    let mut mapping_types: Vec<&str> = Vec::new();
    let mut mapping_type_labels: Vec<&str> = Vec::new();
    for row in rows {
        for (list, word) in [
            (&mut mapping_types, row.mapping_type.as_deref()),
            (&mut mapping_type_labels, row.mapping_type_label.as_deref()),
        ] {
            if let Some(word) = word.filter(|w| !list.contains(w)) {
                list.push(word);
            }
        }
        for comment in &row.comments {
            if !comments.contains(&comment.as_str()) {
                comments.push(comment);
            }
        }
        for reference in &row.references {
            if !references.contains(&reference.as_str()) {
                references.push(reference);
            }
        }
        if let (Some(category), Some(value)) = (&row.score_category, &row.score_value) {
            scores.push(json!({"category": category, "value": value}));
        }
        mapping_ids.push(row.grain_key().mapping_id());
    }
    if !comments.is_empty() {
        object.insert("description".into(), comments.join("\n\n").into());
    }
    if !references.is_empty() {
        let references: Vec<Value> = references
            .iter()
            .map(|reference| external_reference(reference))
            .collect();
        object.insert("external_references".into(), references.into());
    }
    let mut properties = dataset_properties(dataset);
    if !mapping_types.is_empty() {
        properties.insert("mapping_types".into(), mapping_types.into());
    }
    if !mapping_type_labels.is_empty() {
        properties.insert("mapping_type_labels".into(), mapping_type_labels.into());
    }
    insert_some(&mut properties, "related_score", rows[0].related_score.as_deref());
    if !scores.is_empty() {
        properties.insert("scores".into(), scores.into());
    }
    properties.insert("mapping_ids".into(), mapping_ids.into());
    extend(&mut object, properties);
    Value::Object(object)
}
