//! Builders of the STIX 2.1 objects of the profile: the publisher, the property extension,
//! capabilities, attack-patterns and relationships, each with a UUIDv5 id over its natural key.

use std::sync::LazyLock;

use crate::frameworks::{self, FrameworkKind};
use crate::model::{DatasetKey, MappingRow};
use crate::site;

use super::object::{Extension, ExternalReference, Properties, Score, StixObject};

/// `created` of the publisher identity, and of objects whose source carries no date (site pages):
/// a fixed instant, so that output never depends on the clock.
pub const UNDATED: &str = "2000-01-01T00:00:00.000Z";

/// A STIX id: `type--` + UUIDv5 in the project namespace over the natural key written as a JSON array.
pub fn stix_id(object_type: &str, natural_key: &[&str]) -> String {
    let key = serde_json::to_vec(natural_key).expect("strings always serialize");
    let uuid = crate::model::uuid_v5(&key);
    let mut id = String::with_capacity(object_type.len() + 2 + uuid::fmt::Hyphenated::LENGTH);
    id.push_str(object_type);
    id.push_str("--");
    id.push_str(uuid.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()));
    id
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
pub fn extension_definition() -> StixObject {
    StixObject {
        created: UNDATED.into(),
        created_by_ref: Some(PUBLISHER_ID.as_str()),
        description: Some("Properties of the Mappings Explorer mappings that STIX 2.1 has no word for, written by attackmap on its capabilities and relationships.".into()),
        extension_types: Some(["property-extension"]),
        id: EXTENSION_ID.clone(),
        modified: Some(UNDATED.into()),
        name: Some("attackmap mapping properties".into()),
        schema: Some("JSON Schema schemas/stix-extension.schema.json of attackmap: on capabilities framework, framework_version, attack_version, domain, capability_group, capability_group_name; on relationships framework, framework_version, attack_version, domain, mapping_types, mapping_type_labels, related_score, scores [{category, value}], mapping_ids."),
        spec_version: "2.1",
        object_type: "extension-definition",
        version: Some("1.0.0"),
        ..StixObject::default()
    }
}

/// `properties` as attackmap's property extension of an object.
fn extension(properties: Properties) -> Option<Extension> {
    Some(Extension {
        definition: EXTENSION_ID.as_str(),
        properties,
    })
}

static PUBLISHER_ID: LazyLock<String> =
    LazyLock::new(|| stix_id("identity", &["identity", "Center for Threat-Informed Defense"]));

/// The publisher of the mappings, `created_by_ref` of every object we write.
pub fn publisher() -> StixObject {
    StixObject {
        created: UNDATED.into(),
        description: Some(
            "Publisher of the Mappings Explorer mappings; these objects were derived from them by attackmap.".into(),
        ),
        id: PUBLISHER_ID.clone(),
        identity_class: Some("organization"),
        modified: Some(UNDATED.into()),
        name: Some("Center for Threat-Informed Defense".into()),
        spec_version: "2.1",
        object_type: "identity",
        ..StixObject::default()
    }
}

/// An object of ours, with the properties every one created by the publisher has.
fn base(object_type: &'static str, id: String, stamps: &Stamps) -> StixObject {
    StixObject {
        created: stamps.created.clone(),
        created_by_ref: Some(PUBLISHER_ID.as_str()),
        id,
        modified: Some(stamps.modified.clone()),
        spec_version: "2.1",
        object_type,
        ..StixObject::default()
    }
}

/// A value that is there and not empty (the sources write `""` for missing groups and scores).
fn present(value: Option<&str>) -> Option<String> {
    value.filter(|v| !v.is_empty()).map(String::from)
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
pub fn capability(dataset: &DatasetKey, row: &MappingRow, capability_id: &str, stamps: &Stamps) -> StixObject {
    let object_type = capability_type(&dataset.framework);
    let mut object = base(object_type, self::capability_id(dataset, capability_id), stamps);
    object.name = Some(
        row.capability_description
            .as_deref()
            .unwrap_or(capability_id)
            .to_string(),
    );
    let source_name = format!("{} {}", dataset.framework, dataset.framework_version);
    let url = Some(site::capability_url(dataset, capability_id));
    let named = |source_name: &str| ExternalReference {
        source_name: source_name.to_string(),
        external_id: Some(capability_id.to_string()),
        ..ExternalReference::default()
    };
    object.external_references = match frameworks::kind(&dataset.framework) {
        // STIX reserves CVE ids for the `cve` source: the CVE reference leads, the framework's
        // reference keeps only the Mappings Explorer page.
        FrameworkKind::Vulnerability if capability_id.starts_with("CVE-") => vec![
            named("cve"),
            ExternalReference {
                source_name,
                url,
                ..ExternalReference::default()
            },
        ],
        FrameworkKind::Veris => vec![
            ExternalReference {
                url,
                ..named(&source_name)
            },
            named("veris"),
        ],
        _ => vec![ExternalReference {
            url,
            ..named(&source_name)
        }],
    };
    object.extensions = extension(Properties {
        capability_group: present(row.capability_group.as_deref()),
        capability_group_name: present(row.capability_group_name.as_deref()),
        derived_from: row.carry.as_ref().map(|c| c.derived_from.clone()),
        ..dataset_properties(dataset)
    });
    object
}

/// The note a derived dataset's bundle carries: what it is derived from and how, about `object_refs`
/// (its capabilities and relationships).
pub fn derived_note(dataset: &DatasetKey, from: &str, object_refs: Vec<String>, stamps: &Stamps) -> StixObject {
    let mut object = base(
        "note",
        stix_id("note", &["note", "derived", &dataset.to_string()]),
        stamps,
    );
    object.summary = Some(format!(
        "Derived by attackmap from ATT&CK {from}: not an official mapping"
    ));
    object.content = Some(format!(
        "These objects are not an official Mappings Explorer mapping. attackmap (--carry-to) carried the official mapping of {} {} to ATT&CK {from} {} onto ATT&CK {}: techniques live in both releases are unchanged, techniques revoked since name the live technique their revoked-by chain ends at (original_attack_object_ids), deprecated techniques and revoked ones without a live replacement were dropped. attack_changes flags ATT&CK's own moves of tactic, into sub-techniques and renames. Techniques new in ATT&CK {} were never mapped: review.csv lists them for review.",
        dataset.framework, dataset.framework_version, dataset.domain, dataset.attack_version, dataset.attack_version
    ));
    object.object_refs = Some(object_refs);
    object.extensions = extension(Properties {
        derived_from: Some(from.to_string()),
        ..dataset_properties(dataset)
    });
    object
}

/// The dataset's key as extension properties.
fn dataset_properties(dataset: &DatasetKey) -> Properties {
    Properties {
        attack_version: dataset.attack_version.clone(),
        domain: dataset.domain.clone(),
        extension_type: "property-extension",
        framework: dataset.framework.clone(),
        framework_version: dataset.framework_version.clone(),
        ..Properties::default()
    }
}

/// A stand-in attack-pattern for a technique no ATT&CK bundle resolved: its id is ours, not ATT&CK's,
/// and keyed by the dataset, whose name for the technique and dates it carries.
pub fn minimal_attack_pattern(
    dataset: &DatasetKey,
    technique_id: &str,
    name: Option<&str>,
    stamps: &Stamps,
) -> StixObject {
    let dataset_key = dataset.to_string();
    let id = stix_id(
        "attack-pattern",
        &["attack-pattern", "mitre-attack", &dataset_key, technique_id],
    );
    let mut object = base("attack-pattern", id, stamps);
    object.name = Some(name.unwrap_or(technique_id).to_string());
    object.external_references = vec![ExternalReference {
        source_name: "mitre-attack".into(),
        external_id: Some(technique_id.to_string()),
        url: Some(site::attack_technique_url(technique_id)),
        ..ExternalReference::default()
    }];
    object
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

/// Adds `word` to `list` unless it is there.
fn push_new(list: &mut Vec<String>, word: &str) {
    if !list.iter().any(|w| w == word) {
        list.push(word.to_string());
    }
}

/// A source reference: a `url` when it is one, else kept as the reference's `description` (the data
/// has `[]`, `Ref: https://…`, URLs with spaces or a literal `\t` before them).
fn external_reference(reference: &str) -> ExternalReference {
    let is_url = (reference.starts_with("https://") || reference.starts_with("http://"))
        && !reference.chars().any(|c| c.is_whitespace() || c.is_control());
    let (url, description) = if is_url {
        (Some(reference.to_string()), None)
    } else {
        (None, Some(reference.to_string()))
    };
    ExternalReference {
        source_name: "reference".into(),
        url,
        description,
        ..ExternalReference::default()
    }
}

/// One relationship for every row asserting the same edge: comments, references, scores and mapping
/// ids of all of them.
pub fn relationship(
    dataset: &DatasetKey,
    (relationship_type, source_ref, target_ref): (&'static str, &str, &str),
    rows: &[&MappingRow],
    stamps: &Stamps,
) -> StixObject {
    let id = stix_id(
        "relationship",
        &["relationship", relationship_type, source_ref, target_ref],
    );
    let mut object = base("relationship", id, stamps);
    object.relationship_type = Some(relationship_type);
    object.source_ref = Some(source_ref.to_string());
    object.target_ref = Some(target_ref.to_string());

    let mut comments: Vec<&str> = Vec::new();
    let mut references: Vec<&str> = Vec::new();
    let mut properties = dataset_properties(dataset);
    let mut mapping_ids = Vec::with_capacity(rows.len());
    for row in rows {
        for (list, word) in [
            (&mut properties.mapping_types, row.mapping_type.as_deref()),
            (&mut properties.mapping_type_labels, row.mapping_type_label.as_deref()),
        ] {
            if let Some(word) = word.filter(|w| !list.iter().any(|listed| listed == w)) {
                list.push(word.to_string());
            }
        }
        for comment in &row.comments {
            if !comments.contains(&&**comment) {
                comments.push(comment);
            }
        }
        for reference in &row.references {
            if !references.contains(&&**reference) {
                references.push(reference);
            }
        }
        if let (Some(category), Some(value)) = (&row.score_category, &row.score_value) {
            properties.scores.push(Score {
                category: category.to_string(),
                value: value.to_string(),
            });
        }
        mapping_ids.push(row.mapping_id());
        if let Some(carry) = &row.carry {
            properties.derived_from = Some(carry.derived_from.clone());
            push_new(&mut properties.carry, carry.kind.as_str());
            for change in &carry.attack_changes {
                push_new(&mut properties.attack_changes, change.as_str());
            }
            if let Some(original) = carry.original_technique.as_deref() {
                if row.attack_object_id.as_deref() != Some(original) {
                    push_new(&mut properties.original_attack_object_ids, original);
                }
            }
        }
    }
    if !comments.is_empty() {
        object.description = Some(comments.join("\n\n"));
    }
    object.external_references = references
        .iter()
        .map(|reference| external_reference(reference))
        .collect();
    properties.related_score = present(rows[0].related_score.as_deref());
    properties.mapping_ids = Some(mapping_ids);
    object.extensions = extension(properties);
    object
}
