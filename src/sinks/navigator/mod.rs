//! ATT&CK Navigator layers (format 4.5): a heatmap per dataset, a score layer per security-stack
//! dataset, and per ATT&CK version and domain the layers across frameworks ([`across`]).
//! No `tactic` key: Navigator then annotates the technique under every tactic it belongs to.
//! Technique metadata lists each capability as a `capability` entry followed by its mapping type (or
//! category and value): no `{"divider": true}` entries, which Navigator shows but mitreattack-python
//! (6.3) drops with a printed warning.

mod across;
mod document;
mod review;
mod writer;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::frameworks::{self, FrameworkKind};
use crate::model::{DatasetKey, MappingRow};
use crate::sinks::count_of;
use crate::site;
use crate::transforms::normalize::score_rank;
use document::{finish, named, Header, HIGH_COLOR, LOW_COLOR};
pub use document::{Gradient, Layer, LegendItem, Link, Named, TechniqueEntry, LAYER_VERSION, NAVIGATOR_VERSION};
pub use writer::{Also, Writer};

/// Score-layer colors, by the category of a technique's highest score.
const CATEGORY_COLORS: &[(&str, &str)] = &[("protect", "#66b1ff"), ("detect", "#8ec843"), ("respond", "#ff6666")];

/// What one layer file holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LayerCounts {
    pub file: String,
    pub techniques: usize,
    pub min_score: usize,
    pub max_score: usize,
    /// Rows without a capability or a technique: no layer entry.
    pub non_mappable_rows: usize,
    /// Mapped techniques Navigator cannot place in this layer (revoked, deprecated, of another
    /// domain, unknown): named in the layer's description instead.
    pub left_out: Vec<String>,
}

/// A dataset's mappable rows grouped by technique, then capability, and the techniques Navigator
/// cannot place in the layer's domain (revoked, deprecated, of another domain, unknown to ATT&CK):
/// left out of the layer, and named in its description with the reason, so nothing vanishes unsaid.
struct Grouped<'a> {
    techniques: BTreeMap<&'a str, BTreeMap<&'a str, Vec<&'a MappingRow>>>,
    non_mappable: usize,
    left_out: BTreeMap<&'a str, String>,
}

fn by_technique<'a>(rows: &[&'a MappingRow]) -> Grouped<'a> {
    let mut grouped = Grouped {
        techniques: BTreeMap::new(),
        non_mappable: 0,
        left_out: BTreeMap::new(),
    };
    for row in rows {
        match (row.attack_object_id.as_deref(), row.capability_id.as_deref()) {
            (Some(technique), Some(capability)) if !row.is_non_mappable() => {
                let not_placeable = row
                    .technique_status
                    .as_ref()
                    .and_then(|status| status.why_not_placeable(&row.attack_version));
                if let Some(reason) = not_placeable {
                    grouped.left_out.insert(technique, reason);
                    continue;
                }
                grouped
                    .techniques
                    .entry(technique)
                    .or_default()
                    .entry(capability)
                    .or_default()
                    .push(row)
            }
            _ => grouped.non_mappable += 1,
        }
    }
    grouped
}

/// The sentence a layer's description ends with when techniques were left out.
fn left_out_note(left_out: &BTreeMap<&str, String>) -> String {
    if left_out.is_empty() {
        return String::new();
    }
    let listed: Vec<String> = left_out
        .iter()
        .map(|(technique, reason)| format!("{technique} ({reason})"))
        .collect();
    format!(
        " Left out, as Navigator cannot place them in this layer: {}.",
        listed.join(", ")
    )
}

/// The heatmap of one dataset: score = number of distinct capabilities mapped to the technique.
pub fn dataset_layer(dataset: &DatasetKey, rows: &[&MappingRow]) -> (Layer, LayerCounts) {
    let Grouped {
        techniques,
        non_mappable: non_mappable_rows,
        left_out,
    } = by_technique(rows);
    let stack = frameworks::kind(&dataset.framework) == FrameworkKind::SecurityStack;
    let entries: Vec<TechniqueEntry> = techniques
        .iter()
        .map(|(technique, capabilities)| {
            let names: Vec<&str> = capabilities.keys().copied().collect();
            let mut metadata = Vec::new();
            for (capability, capability_rows) in capabilities {
                metadata.push(named("capability", &capability_title(capability, capability_rows)));
                for row in capability_rows {
                    if stack {
                        if let (Some(category), Some(value)) = (&row.score_category, &row.score_value) {
                            metadata.push(named("category", category));
                            metadata.push(named("value", value));
                        }
                    } else if let Some(word) = row.mapping_type_label.as_deref().or(row.mapping_type.as_deref()) {
                        metadata.push(named("mapping type", word));
                    }
                }
            }
            technique_entry(
                dataset,
                technique,
                names.len(),
                format!(
                    "{}: {}",
                    count_of(names.len(), "capability", "capabilities"),
                    names.join(", ")
                ),
                metadata,
            )
        })
        .collect();
    let mut header = Header::of_dataset(
        dataset,
        "",
        "in the Mappings Explorer; score = number of distinct capabilities mapped to the technique.",
    );
    if let Some(from) = crate::model::derived_from(rows) {
        review::mark_derived(&mut header, from);
    }
    finish(header, entries, "capability", non_mappable_rows, &left_out)
}

/// A security stack's scores: significant 3, partial 2, minimal 1; the highest wins and colors the
/// technique by its category (protect, then detect, then respond on a tie). `None` without scores.
pub fn score_layer(dataset: &DatasetKey, rows: &[&MappingRow]) -> Option<(Layer, LayerCounts)> {
    let Grouped {
        techniques,
        non_mappable: non_mappable_rows,
        left_out,
    } = by_technique(rows);
    let category_rank = |category: &str| CATEGORY_COLORS.iter().position(|(c, _)| *c == category);
    let mut entries = Vec::new();
    for (technique, capabilities) in &techniques {
        let scored = capabilities.values().flatten().filter_map(|row| {
            let category = row.score_category.as_deref()?;
            let rank = score_rank(row.score_value.as_deref());
            (rank > 0 && category_rank(category).is_some()).then_some((rank, category, *row))
        });
        let Some((rank, category, _)) = scored
            .clone()
            .max_by(|a, b| a.0.cmp(&b.0).then_with(|| category_rank(b.1).cmp(&category_rank(a.1))))
        else {
            continue;
        };
        let mut metadata = Vec::new();
        for (_, _, row) in scored {
            metadata.push(named("capability", row.capability_id.as_deref().unwrap_or_default()));
            metadata.push(named("category", row.score_category.as_deref().unwrap_or_default()));
            metadata.push(named("value", row.score_value.as_deref().unwrap_or_default()));
        }
        let value = ["", "minimal", "partial", "significant"][usize::from(rank)];
        let mut entry = technique_entry(
            dataset,
            technique,
            usize::from(rank),
            format!("highest score: {value} ({category})"),
            metadata,
        );
        let color = CATEGORY_COLORS
            .iter()
            .find(|(c, _)| *c == category)
            .map(|(_, color)| *color);
        entry.color = Some(color.unwrap_or(HIGH_COLOR).into());
        entries.push(entry);
    }
    if entries.is_empty() {
        return None;
    }
    let mut header = Header::of_dataset(
        dataset,
        " scores",
        "in the Mappings Explorer: the highest score of any capability per technique (significant 3, partial 2, minimal 1), colored by that score's category.",
    );
    if let Some(from) = crate::model::derived_from(rows) {
        review::mark_derived(&mut header, from);
    }
    let (mut layer, mut counts) = finish(header, entries, "score", non_mappable_rows, &left_out);
    layer.gradient = Gradient {
        colors: vec![LOW_COLOR.into(), HIGH_COLOR.into()],
        min_value: 1,
        max_value: 3,
    };
    layer.legend_items = CATEGORY_COLORS
        .iter()
        // Short labels: Navigator clips a legend label at about 15 characters.
        .map(|(category, color)| LegendItem {
            label: category.to_string(),
            color: (*color).into(),
        })
        .collect();
    counts.min_score = 1;
    counts.max_score = 3;
    Some((layer, counts))
}

fn technique_entry(
    dataset: &DatasetKey,
    technique: &str,
    score: usize,
    comment: String,
    metadata: Vec<Named>,
) -> TechniqueEntry {
    TechniqueEntry {
        technique_id: technique.to_string(),
        score,
        color: None,
        comment,
        enabled: true,
        show_subtechniques: false,
        metadata,
        links: vec![Link {
            label: format!("Mappings Explorer: {technique}"),
            url: site::technique_url(&dataset.attack_version, &dataset.domain, technique),
        }],
    }
}

fn capability_title(capability: &str, rows: &[&MappingRow]) -> String {
    match rows.iter().find_map(|r| r.capability_description.as_deref()) {
        Some(description) if description != capability => format!("{capability} {description}"),
        _ => capability.to_string(),
    }
}
