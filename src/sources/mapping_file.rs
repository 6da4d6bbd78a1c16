//! Reads an official mapping file (the Mappings Explorer unified schema) into normalized rows.
//!
//! Every field is checked against the schema's type, so a bad file is an error naming the element
//! (`mapping_objects[17].score_value`) and what was expected. The dataset (framework, versions, domain)
//! and the dates come from `metadata`: rows repeat them, sometimes wrongly (`[UNKNOWN_VERSION]`).
//! A derived dataset's file that attackmap wrote (`--carry-to`) gives its rows their `carry` back.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::{DatasetKey, Date, Interner, MappingRow, SourceKind, Text};
use crate::sources::{ParsedInput, RejectedRow};
use crate::transforms::carry::marks;
use crate::transforms::normalize;

/// The metadata field a mapping file holds a dataset key field in (`domain` → `technology_domain`).
pub fn metadata_field(dataset_field: &str) -> &'static str {
    match dataset_field {
        "framework" => "mapping_framework",
        "framework_version" => "mapping_framework_version",
        "attack_version" => "attack_version",
        _ => "technology_domain",
    }
}

/// Whether a JSON document looks like a mapping file (has `metadata` and `mapping_objects`).
pub fn looks_like_mapping_file(document: &Value) -> bool {
    document.get("metadata").is_some() && document.get("mapping_objects").is_some()
}

/// The dataset a mapping file supplies, read from its `metadata` without building its rows: what lets
/// a build read the mapping files one dataset at a time. `None` for anything [`read`] would not read
/// into rows of one dataset (not a mapping file, an ATT&CK bundle, bad metadata, no mapping objects):
/// such a file is read whole, and its error or outcome reported, as any other input.
pub fn peek_dataset(bytes: &[u8]) -> Option<DatasetKey> {
    #[derive(serde::Deserialize)]
    struct Peek {
        metadata: Map<String, Value>,
        mapping_objects: Vec<serde::de::IgnoredAny>,
        #[serde(rename = "type")]
        bundle_type: Option<serde::de::IgnoredAny>,
    }
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let peek: Peek = serde_json::from_slice(bytes).ok()?;
    if peek.bundle_type.is_some() || peek.mapping_objects.is_empty() {
        return None;
    }
    let meta = Metadata::read(&peek.metadata).ok()?;
    Some(DatasetKey {
        framework: meta.framework.to_string(),
        framework_version: meta.framework_version.to_string(),
        attack_version: meta.attack_version.to_string(),
        domain: meta.domain.to_string(),
    })
}

/// Reads a parsed mapping file into rows, all of one dataset; `name` is the rows' `source`.
pub fn read(path: &Path, name: &str, document: &Value) -> Result<ParsedInput> {
    let fail = |element: &str, reason: String| Error::MappingFile {
        path: path.to_path_buf(),
        element: element.to_string(),
        reason,
    };
    let root = document
        .as_object()
        .ok_or_else(|| fail("document", "expected a JSON object".into()))?;
    let metadata = root
        .get("metadata")
        .and_then(Value::as_object)
        .ok_or_else(|| fail("metadata", "expected an object".into()))?;
    let meta = Metadata::read(metadata).map_err(|(element, reason)| fail(&element, reason))?;
    let objects = root
        .get("mapping_objects")
        .and_then(Value::as_array)
        .ok_or_else(|| fail("mapping_objects", "expected an array".into()))?;

    let source = name.to_string();
    let mut shared = Interner::default();
    let source_text = shared.text(name);
    let mut rows = Vec::with_capacity(objects.len());
    let mut rejected = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        let element = format!("mapping_objects[{index}]");
        let object = object
            .as_object()
            .ok_or_else(|| fail(&element, "expected an object".into()))?;
        let row = meta
            .row(object, &source_text, &mut shared)
            .map_err(|(field, reason)| fail(&format!("{element}.{field}"), reason))?;
        // A technique id becomes a layer entry, a STIX external id and a file's rows: one that is
        // not ATT&CK's shape rejects its row (counted, reported), not the file.
        if let Some(id) = row
            .attack_object_id
            .as_deref()
            .filter(|id| !normalize::is_technique_id(id))
        {
            rejected.push(RejectedRow {
                source: source.clone(),
                element: format!("{element}.attack_object_id"),
                reason: format!(
                    "expected an ATT&CK technique id (T1562, T1562.001), found {}",
                    crate::identifiers::shown(id)
                ),
                rows: 1,
            });
            continue;
        }
        rows.push(row);
    }
    let mut parsed = ParsedInput::rows(SourceKind::MappingFile, rows);
    parsed.rejected = rejected;
    Ok(parsed)
}

type FieldError = (String, String);

struct Metadata {
    framework: Text,
    framework_version: Text,
    attack_version: Text,
    domain: Text,
    creation_date: Date,
    last_update: Option<Date>,
    /// mapping type key → display name
    mapping_types: BTreeMap<String, String>,
    /// capability group key → display name
    capability_groups: BTreeMap<String, String>,
    /// For a derived dataset's file written by attackmap (`--carry-to`): the ATT&CK version it was
    /// carried from, which its `mapping_version` says.
    derived_from: Option<String>,
}

impl Metadata {
    fn read(metadata: &Map<String, Value>) -> Result<Metadata, FieldError> {
        let required = |field: &str| -> Result<String, FieldError> {
            string_field(metadata, field)?
                .ok_or_else(|| (format!("metadata.{field}"), "required string is missing".into()))
        };
        let at = |field: &str, (_, reason): FieldError| (format!("metadata.{field}"), reason);
        let date = |field: &str, text: &str| {
            Date::from_us_date(text).ok_or_else(|| {
                (
                    format!("metadata.{field}"),
                    format!("expected a date MM/DD/YYYY, found {text:?}"),
                )
            })
        };
        // Checked with the other identifiers at ingest (`identifiers::check_dataset`): a bad one
        // rejects the file's rows, it does not fail the run.
        let domain = required("technology_domain")?;
        let mapping_version = required("mapping_version")?;
        let creation_date = date("creation_date", &required("creation_date")?)?;
        let last_update = match string_field(metadata, "last_update").map_err(|e| at("last_update", e))? {
            Some(text) => Some(date("last_update", &text)?),
            None => None,
        };

        let mut mapping_types = BTreeMap::new();
        let types = metadata
            .get("mapping_types")
            .and_then(Value::as_object)
            .ok_or_else(|| ("metadata.mapping_types".to_string(), "expected an object".to_string()))?;
        for (key, value) in types {
            let name = value.get("name").and_then(Value::as_str).ok_or_else(|| {
                (
                    format!("metadata.mapping_types.{key}.name"),
                    "expected a string".to_string(),
                )
            })?;
            mapping_types.insert(key.clone(), name.to_string());
        }
        let mut capability_groups = BTreeMap::new();
        let groups = metadata
            .get("capability_groups")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                (
                    "metadata.capability_groups".to_string(),
                    "expected an object".to_string(),
                )
            })?;
        for (key, value) in groups {
            let name = value.as_str().ok_or_else(|| {
                (
                    format!("metadata.capability_groups.{key}"),
                    "expected a string".to_string(),
                )
            })?;
            capability_groups.insert(key.clone(), name.to_string());
        }

        Ok(Metadata {
            framework: required("mapping_framework")?.into(),
            framework_version: normalize::framework_version(&required("mapping_framework_version")?).into(),
            attack_version: required("attack_version")?.into(),
            domain: domain.into(),
            creation_date,
            last_update,
            mapping_types,
            capability_groups,
            derived_from: marks::derived_from(&mapping_version).map(String::from),
        })
    }

    /// One mapping object's row; `shared` holds the text of the file's rows read so far.
    fn row(&self, object: &Map<String, Value>, source: &Text, shared: &mut Interner) -> Result<MappingRow, FieldError> {
        for field in REQUIRED_ROW_FIELDS {
            if !object.contains_key(*field) {
                return Err((field.to_string(), "required field is missing".into()));
            }
        }
        for field in STRING_OR_NULL_FIELDS.iter().chain(STRING_FIELDS) {
            str_field(object, field)?;
        }
        let text = |field: &str, shared: &mut Interner| {
            str_field(object, field).map(|v| shared.optional(v.and_then(normalize::optional_text).as_deref()))
        };
        // Free text as published: a comment's line breaks are its lists (M365's "License
        // Requirements:"). Only its ends are trimmed; identifiers are normalized as on the pages.
        // Borrowed from the document: a text the file repeats is not copied again.
        let published = |field: &str, shared: &mut Interner| {
            str_field(object, field).map(|v| shared.optional(v.map(str::trim).filter(|t| !t.is_empty())))
        };
        let status = enum_field(object, "status", &["complete", "in_progress", "non_mappable"])?;
        let score_category = enum_field(object, "score_category", &["protect", "detect", "respond"])?;
        let score_value = enum_field(object, "score_value", &["minimal", "partial", "significant"])?;

        let type_key = string_field(object, "mapping_type")?;
        let (mapping_type, mapping_type_label) = match type_key {
            Some(key) => {
                let label = self.mapping_types.get(&key).cloned().unwrap_or(key);
                (
                    Some(shared.text(&normalize::mapping_type(&label))),
                    Some(shared.text(&label)),
                )
            }
            None => (None, None),
        };
        let capability_group = string_field(object, "capability_group")?;
        let capability_group_name = capability_group
            .as_ref()
            .and_then(|key| self.capability_groups.get(key))
            .map(|name| shared.text(name));
        let capability_group = shared.optional(capability_group.as_deref());

        Ok(MappingRow {
            framework: self.framework.clone(),
            framework_version: self.framework_version.clone(),
            attack_version: self.attack_version.clone(),
            domain: self.domain.clone(),
            capability_id: text("capability_id", shared)?,
            capability_description: published("capability_description", shared)?,
            capability_group,
            capability_group_name,
            mapping_type,
            mapping_type_label,
            attack_object_id: text("attack_object_id", shared)?,
            attack_object_name: published("attack_object_name", shared)?,
            score_category: shared.optional(score_category.as_deref()),
            score_value: shared.optional(score_value.as_deref()),
            related_score: text("related_score", shared)?,
            status: shared.optional(status.as_deref()),
            comments: published("comments", shared)?.into_iter().collect(),
            references: references(object)?.iter().map(|r| shared.text(r)).collect(),
            creation_date: Some(self.creation_date),
            last_update: self.last_update,
            source_kind: Some(SourceKind::MappingFile),
            source: source.clone(),
            occurrences: 1,
            source_fingerprint: crate::model::json_fingerprint(object),
            technique_status: None,
            score_values: Vec::new(),
            carry: match (&self.derived_from, string_field(object, "author")?) {
                (Some(from), Some(author)) => marks::carry_of(&author, from).map(Box::new),
                _ => None,
            },
        })
    }
}

const REQUIRED_ROW_FIELDS: &[&str] = &["mapping_type", "capability_group"];
const STRING_FIELDS: &[&str] = &[
    "attack_version",
    "mapping_framework",
    "mapping_framework_version",
    "technology_domain",
];
const STRING_OR_NULL_FIELDS: &[&str] = &[
    "author",
    "author_contact",
    "author_organization",
    "attack_object_id",
    "attack_object_name",
    "capability_id",
    "capability_description",
    "comments",
    "mapping_type",
    "capability_group",
    "related_score",
];

/// A field that must be a string or null (or absent).
fn string_field(object: &Map<String, Value>, field: &str) -> Result<Option<String>, FieldError> {
    str_field(object, field).map(|text| text.map(String::from))
}

/// [`string_field`], borrowed from the document.
fn str_field<'a>(object: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, FieldError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err((
            field.to_string(),
            format!("expected a string or null, found {}", json_type(other)),
        )),
    }
}

fn enum_field(object: &Map<String, Value>, field: &str, allowed: &[&str]) -> Result<Option<String>, FieldError> {
    match string_field(object, field)? {
        None => Ok(None),
        Some(word) if allowed.contains(&word.as_str()) => Ok(Some(word)),
        Some(word) => Err((
            field.to_string(),
            format!("expected one of {} or null, found {word:?}", allowed.join(", ")),
        )),
    }
}

fn references(object: &Map<String, Value>) -> Result<Vec<String>, FieldError> {
    match object.get("references") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            let mut out: Vec<String> = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let text = item.as_str().ok_or_else(|| {
                    (
                        format!("references[{i}]"),
                        format!("expected a string, found {}", json_type(item)),
                    )
                })?;
                let text = text.trim();
                if !text.is_empty() && !out.iter().any(|r| r == text) {
                    out.push(text.to_string());
                }
            }
            Ok(out)
        }
        Some(other) => Err((
            "references".into(),
            format!("expected an array of strings or null, found {}", json_type(other)),
        )),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mapping file of KEV on ATT&CK 16.1 mobile, its framework version as the site writes it.
    fn mapping_file(objects: &str) -> String {
        format!(
            r#"{{"metadata": {{"mapping_version": "", "technology_domain": "mobile", "attack_version": "16.1",
            "mapping_framework": "kev", "mapping_framework_version": "02/13/2025", "creation_date": "01/02/2025",
            "mapping_types": {{"exploitation_technique": {{"name": "exploitation_technique"}}}},
            "capability_groups": {{}}}}, "mapping_objects": [{objects}]}}"#
        )
    }

    const OBJECT: &str = r#"{"capability_id": "CVE-2021-38000", "capability_group": "google",
        "mapping_type": "exploitation_technique", "attack_object_id": "T1521", "status": "complete"}"#;

    #[test]
    fn a_peeked_dataset_is_the_dataset_of_the_rows_read() {
        let text = mapping_file(OBJECT);
        let peeked = peek_dataset(format!("\u{feff}{text}").as_bytes()).expect("a mapping file");
        let document = strict_json_value(&text);
        let read = read(Path::new("kev.json"), "kev.json", &document).expect("it reads");
        assert_eq!(peeked, read.rows[0].dataset());
        assert_eq!(peeked.framework_version, "02.13.2025");
    }

    #[test]
    fn what_is_not_one_dataset_s_rows_is_not_peeked() {
        assert_eq!(peek_dataset(mapping_file("").as_bytes()), None, "no mapping objects");
        let no_date = mapping_file(OBJECT).replace(r#""creation_date": "01/02/2025","#, "");
        assert_eq!(peek_dataset(no_date.as_bytes()), None, "bad metadata");
        let bundle = mapping_file(OBJECT).replacen('{', r#"{"type": "bundle", "#, 1);
        assert_eq!(peek_dataset(bundle.as_bytes()), None, "a bundle");
        assert_eq!(peek_dataset(b"<html></html>"), None);
    }

    fn strict_json_value(text: &str) -> Value {
        crate::sources::strict_json::parse(text).expect("valid JSON")
    }
}
