//! The STIX objects attackmap writes, typed. Fields are declared in the order serde_json writes a
//! JSON object's keys (sorted), and absent ones are skipped, so an object serializes to the bytes of
//! the JSON value it stands for: bundles and the ledger's content hashes do not depend on the type.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// One of our objects: the publisher, the extension definition, a capability, a stand-in
/// attack-pattern or a relationship. Only the properties its type has are set.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StixObject {
    /// A note's summary.
    #[serde(rename = "abstract", skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// A note's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    pub created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by_ref: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension_types: Option<[&'static str; 1]>,
    /// attackmap's property extension, under the extension definition's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Extension>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_references: Vec<ExternalReference>,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_class: Option<&'static str>,
    /// `None` only while the ledger hashes the object's content, which leaves it out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The objects a note is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_refs: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationship_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
    pub spec_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_ref: Option<String>,
    #[serde(rename = "type")]
    pub object_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<&'static str>,
}

/// attackmap's property extension of an object: a JSON object of one entry, its properties under
/// the extension definition's id (a struct, not a map: an object carries one, built for every row).
#[derive(Debug, Clone, PartialEq)]
pub struct Extension {
    pub definition: &'static str,
    pub properties: Properties,
}

impl Serialize for Extension {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.definition, &self.properties)?;
        map.end()
    }
}

/// The properties of attackmap's extension on a capability or a relationship.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Properties {
    /// Relationships of a derived dataset: ATT&CK's own changes to the technique between releases.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attack_changes: Vec<String>,
    pub attack_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capability_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capability_group_name: Option<String>,
    /// Relationships of a derived dataset: how the rows behind it were carried.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub carry: Vec<String>,
    /// Objects of a derived dataset: the ATT&CK version of the official dataset it comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derived_from: Option<String>,
    pub domain: String,
    pub extension_type: &'static str,
    pub framework: String,
    pub framework_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mapping_type_labels: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mapping_types: Vec<String>,
    /// Relationships of a derived dataset whose technique was replaced: the technique the
    /// official rows name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub original_attack_object_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_score: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scores: Vec<Score>,
}

/// One row's score on a relationship.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub category: String,
    pub value: String,
}

/// An `external_references` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExternalReference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub source_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_typed_object_writes_the_bytes_of_the_json_value_it_stands_for() {
        let properties = Properties {
            attack_version: "16.1".into(),
            domain: "enterprise".into(),
            extension_type: "property-extension",
            framework: "nist_800_53".into(),
            framework_version: "rev5".into(),
            mapping_ids: Some(vec!["m1".into()]),
            mapping_types: vec!["mitigates".into()],
            scores: vec![Score {
                category: "protect".into(),
                value: "partial".into(),
            }],
            ..Properties::default()
        };
        let object = StixObject {
            created: "2025-01-02T00:00:00.000Z".into(),
            created_by_ref: Some("identity--1"),
            description: Some("a \"comment\"\n\nanother".into()),
            extensions: Some(Extension {
                definition: "extension-definition--2",
                properties,
            }),
            external_references: vec![ExternalReference {
                source_name: "reference".into(),
                url: Some("https://example.org/".into()),
                ..ExternalReference::default()
            }],
            id: "relationship--3".into(),
            modified: Some("2025-01-02T00:00:00.000Z".into()),
            relationship_type: Some("mitigates"),
            source_ref: Some("course-of-action--4".into()),
            spec_version: "2.1",
            target_ref: Some("attack-pattern--5".into()),
            object_type: "relationship",
            ..StixObject::default()
        };
        let value = json!({
            "type": "relationship", "spec_version": "2.1", "id": "relationship--3",
            "created": "2025-01-02T00:00:00.000Z", "modified": "2025-01-02T00:00:00.000Z",
            "created_by_ref": "identity--1", "relationship_type": "mitigates",
            "source_ref": "course-of-action--4", "target_ref": "attack-pattern--5",
            "description": "a \"comment\"\n\nanother",
            "external_references": [{"source_name": "reference", "url": "https://example.org/"}],
            "extensions": {"extension-definition--2": {
                "framework": "nist_800_53", "framework_version": "rev5", "attack_version": "16.1",
                "domain": "enterprise", "mapping_types": ["mitigates"], "mapping_ids": ["m1"],
                "scores": [{"category": "protect", "value": "partial"}],
                "extension_type": "property-extension"}},
        });
        assert_eq!(serde_json::to_string(&object).unwrap(), value.to_string());
        assert_eq!(
            serde_json::to_string_pretty(&object).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }
}
