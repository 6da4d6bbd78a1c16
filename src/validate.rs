//! `attackmap validate`: checks STIX bundles and Navigator layers against the schemas in `schemas/`
//! (compiled in, so no checkout is needed), and the rules a JSON Schema cannot state: a gradient's
//! maxValue above its minValue, and every `*_ref` of a bundle resolving inside it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::sinks::stix::references_of;

const LAYER_SCHEMA: &str = include_str!("../schemas/navigator-layer-4.5.schema.json");
const BUNDLE_SCHEMA: &str = include_str!("../schemas/stix-bundle.schema.json");

static LAYER_VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| compile(LAYER_SCHEMA));
static BUNDLE_VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| compile(BUNDLE_SCHEMA));

fn compile(schema: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(schema).expect("the compiled-in schema is JSON");
    jsonschema::validator_for(&schema).expect("the compiled-in schema is a valid JSON Schema")
}

/// What a checked file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    StixBundle,
    NavigatorLayer,
}

/// The verdict on one file: its kind (`None` when it is neither) and what is wrong with it.
#[derive(Debug)]
pub struct Checked {
    pub path: PathBuf,
    pub kind: Option<Kind>,
    pub problems: Vec<String>,
}

/// Checks every `.json` file named or found (recursively) under `paths`, side by side; the verdicts
/// in the order of the files.
pub fn validate_paths(paths: &[PathBuf]) -> Result<Vec<Checked>> {
    use rayon::prelude::*;
    let files: Vec<PathBuf> = crate::sources::discover(paths)?
        .into_iter()
        .filter(|f| !f.is_link && f.path.extension().is_some_and(|e| e == "json"))
        .map(|f| f.path)
        .collect();
    files.par_iter().map(|f| validate_file(f)).collect()
}

pub fn validate_file(path: &Path) -> Result<Checked> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadInput {
        path: path.to_path_buf(),
        source,
    })?;
    let checked = |kind, problems| Checked {
        path: path.to_path_buf(),
        kind,
        problems,
    };
    let document: Value = match serde_json::from_str(&text) {
        Ok(document) => document,
        Err(e) => return Ok(checked(None, vec![format!("not valid JSON: {e}")])),
    };
    Ok(match kind_of(&document) {
        Some(Kind::StixBundle) => checked(Some(Kind::StixBundle), bundle_problems(&document)),
        Some(Kind::NavigatorLayer) => checked(Some(Kind::NavigatorLayer), layer_problems(&document)),
        None => checked(None, Vec::new()),
    })
}

/// A bundle has `"type": "bundle"`; a layer has `versions.layer` or `techniques` beside a `domain`.
pub fn kind_of(document: &Value) -> Option<Kind> {
    if document["type"] == "bundle" {
        Some(Kind::StixBundle)
    } else if document.get("domain").is_some()
        && (document["versions"].get("layer").is_some() || document.get("techniques").is_some())
    {
        Some(Kind::NavigatorLayer)
    } else {
        None
    }
}

fn schema_problems(validator: &jsonschema::Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|e| format!("at {}: {e}", display_path(&e.instance_path().to_string())))
        .collect()
}

fn display_path(pointer: &str) -> String {
    if pointer.is_empty() {
        "/".to_string()
    } else {
        pointer.to_string()
    }
}

pub fn layer_problems(layer: &Value) -> Vec<String> {
    let mut problems = schema_problems(&LAYER_VALIDATOR, layer);
    let gradient = &layer["gradient"];
    if let (Some(min), Some(max)) = (gradient["minValue"].as_f64(), gradient["maxValue"].as_f64()) {
        if max <= min {
            problems.push(format!(
                "at /gradient: maxValue ({max}) must be greater than minValue ({min}), or Navigator rejects the layer"
            ));
        }
    }
    problems
}

pub fn bundle_problems(bundle: &Value) -> Vec<String> {
    let mut problems = schema_problems(&BUNDLE_VALIDATOR, bundle);
    let objects = bundle["objects"].as_array().map(Vec::as_slice).unwrap_or_default();
    let ids: HashSet<&str> = objects.iter().filter_map(|o| o["id"].as_str()).collect();
    if ids.len() != objects.len() {
        problems.push(format!(
            "at /objects: {} objects but {} distinct ids",
            objects.len(),
            ids.len()
        ));
    }
    for (index, object) in objects.iter().enumerate() {
        for reference in references_of(object) {
            if !ids.contains(reference.as_str()) {
                problems.push(format!(
                    "at /objects/{index}: reference {reference} resolves to no object of the bundle"
                ));
            }
        }
    }
    problems
}
