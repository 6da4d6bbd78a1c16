//! The layer document around the techniques: name, description, versions, layout, gradient and
//! legend, and the words its titles are made of.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::LayerCounts;
use crate::frameworks;
use crate::model::DatasetKey;
use crate::site;

pub const LAYER_VERSION: &str = "4.5";
pub const NAVIGATOR_VERSION: &str = "5.1.0";
pub(super) const LOW_COLOR: &str = "#ffe766";
pub(super) const HIGH_COLOR: &str = "#ffaf66";

/// What a layer says about itself.
pub(super) struct Header {
    pub(super) name: String,
    pub(super) description: String,
    pub(super) attack_version: String,
    pub(super) domain: String,
    pub(super) metadata: Vec<Value>,
    pub(super) links: Vec<Value>,
}

impl Header {
    /// The header of a layer of one dataset: `{label} {version}{kind} — ATT&CK {version} {Domain}`.
    pub(super) fn of_dataset(dataset: &DatasetKey, kind: &str, what: &str) -> Header {
        let label = frameworks::label(&dataset.framework);
        Header {
            name: format!(
                "{label} {}{kind} — {}",
                dataset.framework_version,
                attack_title(dataset)
            ),
            description: format!(
                "ATT&CK techniques mapped by {label} {} {what}",
                dataset.framework_version
            ),
            attack_version: dataset.attack_version.clone(),
            domain: dataset.domain.clone(),
            metadata: vec![
                named("framework", &dataset.framework),
                named("framework version", &dataset.framework_version),
                named("ATT&CK version", &dataset.attack_version),
                named("domain", &dataset.domain),
            ],
            links: vec![json!({"label": format!("Mappings Explorer: {label}"), "url": site::framework_url(dataset)})],
        }
    }
}

/// The layer: `header` around the technique entries; the description ends by naming the
/// techniques left out (`left_out`: technique → why Navigator cannot place it).
pub(super) fn finish(
    mut header: Header,
    techniques: Vec<Value>,
    unit: &str,
    non_mappable_rows: usize,
    left_out: &BTreeMap<&str, String>,
) -> (Value, LayerCounts) {
    header.description.push_str(&super::left_out_note(left_out));
    let scores: Vec<usize> = techniques
        .iter()
        .filter_map(|t| t["score"].as_u64())
        .map(|s| s as usize)
        .collect();
    let min_score = scores.iter().copied().min().unwrap_or(0);
    let max_score = scores.iter().copied().max().unwrap_or(0);
    // Navigator needs maxValue > minValue: when every score is equal, the range ends at that score,
    // drawn in one color, and the legend shows that one score (not a "0" no cell has).
    let (low, high) = if max_score > min_score {
        (min_score, max_score)
    } else {
        (max_score.saturating_sub(1), max_score.max(1))
    };
    // Navigator clips a legend label at about 15 characters: "170 capabilities" would lose its end,
    // so capability counts read "170 mapped" (the description says what is counted).
    let label = |n: usize| match (unit, n) {
        ("capability", _) => format!("{n} mapped"),
        (_, 1) => format!("{n} {unit}"),
        _ => format!("{n} {}", plural_of(unit)),
    };
    let (colors, legend) = if max_score > min_score {
        (
            json!([LOW_COLOR, HIGH_COLOR]),
            json!([
                {"label": label(low), "color": LOW_COLOR},
                {"label": label(high), "color": HIGH_COLOR},
            ]),
        )
    } else {
        (
            json!([HIGH_COLOR, HIGH_COLOR]),
            json!([{"label": label(high), "color": HIGH_COLOR}]),
        )
    };
    let mut layer = json!({
        "name": header.name,
        "description": header.description,
        "domain": format!("{}-attack", header.domain),
        "versions": {
            "layer": LAYER_VERSION,
            "navigator": NAVIGATOR_VERSION,
            "attack": header.attack_version.split('.').next().unwrap_or(&header.attack_version),
        },
        "sorting": 3,
        "layout": {
            "layout": "side",
            "showID": true,
            "showName": true,
            "showAggregateScores": false,
            "countUnscored": false,
            "aggregateFunction": "average",
            "expandedSubtechniques": "annotated",
        },
        "hideDisabled": false,
        "techniques": Value::Null,
        "gradient": {"colors": colors, "minValue": low, "maxValue": high},
        "legendItems": legend,
        "metadata": Value::Null,
        "links": Value::Null,
        "showTacticRowBackground": false,
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
        "selectVisibleTechniques": false,
    });
    // `json!` serializes each value it is given (a deep copy): the technique entries, the metadata
    // and the links are moved in instead (same keys, same order).
    layer["techniques"] = Value::Array(techniques);
    layer["metadata"] = Value::Array(header.metadata);
    layer["links"] = Value::Array(header.links);
    let counts = LayerCounts {
        file: String::new(),
        techniques: scores.len(),
        min_score,
        max_score,
        non_mappable_rows,
        left_out: left_out.keys().map(|t| t.to_string()).collect(),
    };
    (layer, counts)
}

pub(super) fn named(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

pub(super) fn attack_title(dataset: &DatasetKey) -> String {
    let mut domain = dataset.domain.clone();
    if let Some(first) = domain.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    if domain == "Ics" {
        domain = "ICS".into();
    }
    format!("ATT&CK {} {domain}", dataset.attack_version)
}

fn plural_of(unit: &str) -> String {
    match unit.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{unit}s"),
    }
}
