//! The layer document ([`Layer`], typed: its fields serialize in the order of their names, as
//! Navigator's own files have them) around the techniques: name, description, versions, layout,
//! gradient and legend, and the words its titles are made of.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::LayerCounts;
use crate::frameworks;
use crate::model::DatasetKey;
use crate::site;

pub const LAYER_VERSION: &str = "4.5";
pub const NAVIGATOR_VERSION: &str = "5.1.0";
pub(super) const LOW_COLOR: &str = "#ffe766";
pub(super) const HIGH_COLOR: &str = "#ffaf66";

/// A text of a layer: most are fixed (colors, layout, metadata names), borrowed, never copied.
pub type Text = Cow<'static, str>;

/// A Navigator layer file (format 4.5), as attackmap writes it (and reads it back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    pub description: String,
    pub domain: String,
    pub gradient: Gradient,
    pub hide_disabled: bool,
    pub layout: Layout,
    pub legend_items: Vec<LegendItem>,
    pub links: Vec<Link>,
    pub metadata: Vec<Named>,
    pub name: String,
    pub select_subtechniques_with_parent: bool,
    pub select_techniques_across_tactics: bool,
    pub select_visible_techniques: bool,
    pub show_tactic_row_background: bool,
    /// 0 by name, 1 by name descending, 2 by score, 3 by score descending.
    pub sorting: u8,
    pub techniques: Vec<TechniqueEntry>,
    pub versions: Versions,
}

/// The colors a score takes, from `min_value` to `max_value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gradient {
    pub colors: Vec<Text>,
    pub max_value: usize,
    pub min_value: usize,
}

/// How Navigator lays the matrix out (the same in every layer attackmap writes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layout {
    pub aggregate_function: Text,
    pub count_unscored: bool,
    pub expanded_subtechniques: Text,
    pub layout: Text,
    pub show_aggregate_scores: bool,
    #[serde(rename = "showID")]
    pub show_id: bool,
    pub show_name: bool,
}

/// Side by side, ids and names shown, the sub-techniques the layer annotates expanded.
const SIDE_LAYOUT: Layout = Layout {
    aggregate_function: Cow::Borrowed("average"),
    count_unscored: false,
    expanded_subtechniques: Cow::Borrowed("annotated"),
    layout: Cow::Borrowed("side"),
    show_aggregate_scores: false,
    show_id: true,
    show_name: true,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegendItem {
    pub color: Text,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// A `name: value` line of metadata (a layer's, or a technique's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Named {
    pub name: Text,
    pub value: String,
}

/// A technique's entry: its score, or a color of its own, and what it says on hover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TechniqueEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<Text>,
    pub comment: String,
    pub enabled: bool,
    pub links: Vec<Link>,
    pub metadata: Vec<Named>,
    pub score: usize,
    pub show_subtechniques: bool,
    #[serde(rename = "techniqueID")]
    pub technique_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    pub attack: String,
    pub layer: Text,
    pub navigator: Text,
}

/// What a layer says about itself.
pub(super) struct Header {
    pub(super) name: String,
    pub(super) description: String,
    pub(super) attack_version: String,
    pub(super) domain: String,
    pub(super) metadata: Vec<Named>,
    pub(super) links: Vec<Link>,
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
            links: vec![Link {
                label: format!("Mappings Explorer: {label}"),
                url: site::framework_url(dataset),
            }],
        }
    }
}

/// The layer: `header` around the technique entries; the description ends by naming the
/// techniques left out (`left_out`: technique → why Navigator cannot place it).
pub(super) fn finish(
    mut header: Header,
    techniques: Vec<TechniqueEntry>,
    unit: &str,
    non_mappable_rows: usize,
    left_out: &BTreeMap<&str, String>,
) -> (Layer, LayerCounts) {
    header.description.push_str(&super::left_out_note(left_out));
    let min_score = techniques.iter().map(|t| t.score).min().unwrap_or(0);
    let max_score = techniques.iter().map(|t| t.score).max().unwrap_or(0);
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
    let (colors, legend_items) = if max_score > min_score {
        (
            vec![LOW_COLOR.into(), HIGH_COLOR.into()],
            vec![
                LegendItem {
                    label: label(low),
                    color: LOW_COLOR.into(),
                },
                LegendItem {
                    label: label(high),
                    color: HIGH_COLOR.into(),
                },
            ],
        )
    } else {
        (
            vec![HIGH_COLOR.into(), HIGH_COLOR.into()],
            vec![LegendItem {
                label: label(high),
                color: HIGH_COLOR.into(),
            }],
        )
    };
    let counts = LayerCounts {
        file: String::new(),
        techniques: techniques.len(),
        min_score,
        max_score,
        non_mappable_rows,
        left_out: left_out.keys().map(|t| t.to_string()).collect(),
    };
    let major_version = header
        .attack_version
        .split('.')
        .next()
        .unwrap_or(&header.attack_version);
    let layer = Layer {
        versions: Versions {
            attack: major_version.to_string(),
            layer: LAYER_VERSION.into(),
            navigator: NAVIGATOR_VERSION.into(),
        },
        name: header.name,
        description: header.description,
        domain: format!("{}-attack", header.domain),
        sorting: 3,
        layout: SIDE_LAYOUT,
        hide_disabled: false,
        techniques,
        gradient: Gradient {
            colors,
            min_value: low,
            max_value: high,
        },
        legend_items,
        metadata: header.metadata,
        links: header.links,
        show_tactic_row_background: false,
        select_techniques_across_tactics: true,
        select_subtechniques_with_parent: false,
        select_visible_techniques: false,
    };
    (layer, counts)
}

/// A metadata line whose name is fixed.
pub(super) fn named(name: &'static str, value: &str) -> Named {
    Named {
        name: Cow::Borrowed(name),
        value: value.to_string(),
    }
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

#[cfg(test)]
mod tests {
    use super::super::{dataset_layer, score_layer};
    use super::*;
    use crate::model::MappingRow;
    use crate::test_support::MappingRowBuilder;

    fn security_stack() -> Vec<MappingRow> {
        vec![
            MappingRowBuilder::aws_score("guardduty", "T1562", "detect", "partial"),
            MappingRowBuilder::aws_score("config", "T1059", "protect", "significant"),
        ]
    }

    #[test]
    fn a_layer_keeps_its_keys_in_name_order_as_a_json_tree_would_and_reads_back() {
        let rows = security_stack();
        let rows: Vec<&MappingRow> = rows.iter().collect();
        let dataset = rows[0].dataset();
        let (heatmap, _) = dataset_layer(&dataset, &rows);
        let (scores, _) = score_layer(&dataset, &rows).expect("a score layer");
        assert_eq!(scores.techniques[0].color.as_deref(), Some("#66b1ff"), "T1059: protect");
        for layer in [heatmap, scores] {
            let written = serde_json::to_string_pretty(&layer).unwrap();
            let tree: serde_json::Value = serde_json::from_str(&written).unwrap();
            assert_eq!(
                written,
                serde_json::to_string_pretty(&tree).unwrap(),
                "every object's keys in name order"
            );
            let read: Layer = serde_json::from_str(&written).unwrap();
            assert_eq!(read, layer);
        }
    }
}
