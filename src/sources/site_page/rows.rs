//! Turns one table row of a page into a normalized mapping row, or says why it cannot.

use ego_tree::iter::Edge;
use scraper::{ElementRef, Node};

use super::links::dataset_of_external_link;
use super::table::{self, PageTable};
use crate::model::{DatasetKey, Interner, MappingRow, SourceKind};
use crate::sources::RejectedRow;
use crate::transforms::normalize;

/// What every row of one page shares.
pub struct PageContext<'a> {
    pub source: &'a str,
    pub kind: SourceKind,
    /// The dataset to use when a row's capability cell has no link naming one.
    pub dataset: Option<DatasetKey>,
}

/// Reads the mapping rows of a table; rows that cannot be read are returned as rejected, with why.
pub fn mapping_rows(
    table: &PageTable,
    context: &PageContext,
    table_name: &str,
    rows: &mut Vec<MappingRow>,
    rejected: &mut Vec<RejectedRow>,
) {
    let mut shared = Interner::default();
    for (index, cells) in table.rows.iter().enumerate() {
        match mapping_row(table, cells, context, &mut shared) {
            Ok(row) => rows.push(row),
            Err(reason) => rejected.push(RejectedRow {
                source: context.source.to_string(),
                element: format!("{table_name} row {}", index + 1),
                reason,
                rows: 1,
            }),
        }
    }
}

/// One table row's mapping; `shared` holds the text of the table's rows read so far.
fn mapping_row(
    table: &PageTable,
    cells: &[ElementRef],
    context: &PageContext,
    shared: &mut Interner,
) -> Result<MappingRow, String> {
    let text = |key: &str| table.cell(cells, key).and_then(value_text);
    let capability_cell = table.cell(cells, "capability_id");
    let capability_id = text("capability_id");
    let attack_object_id = text("attack_object_id");
    if capability_id.is_none() && attack_object_id.is_none() {
        return Err(format!(
            "expected a capability id and an ATT&CK id under columns {:?}, found {} cells",
            table.columns,
            cells.len()
        ));
    }
    if let Some(id) = &attack_object_id {
        if !normalize::is_technique_id(id) {
            return Err(format!(
                "expected an ATT&CK technique id like T1562 or T1562.001, found {id:?}"
            ));
        }
    }
    let dataset = capability_cell
        .and_then(table::cell_link)
        .and_then(|href| dataset_of_external_link(&href))
        .or_else(|| context.dataset.clone())
        .ok_or("no capability link names the framework and its version")?;

    let (mapping_type, mapping_type_label) = mapping_type_of(text("mapping_type"), table.has_column("score_category"));
    let (comments, references) = table.cell(cells, "Notes").map(table::notes).unwrap_or_default();

    Ok(MappingRow {
        framework: shared.text(&dataset.framework),
        framework_version: shared.text(&dataset.framework_version),
        attack_version: shared.text(&dataset.attack_version),
        domain: shared.text(&dataset.domain),
        capability_id: shared.optional(capability_id.as_deref()),
        capability_description: shared.optional(text("capability_description").as_deref()),
        mapping_type: shared.optional(mapping_type.as_deref()),
        mapping_type_label: shared.optional(mapping_type_label.as_deref()),
        attack_object_id: shared.optional(attack_object_id.as_deref()),
        attack_object_name: shared.optional(text("attack_object_name").as_deref()),
        score_category: shared.optional(
            text("score_category")
                .as_deref()
                .and_then(normalize::score_word)
                .as_deref(),
        ),
        score_value: shared.optional(
            text("score_value")
                .as_deref()
                .and_then(normalize::score_word)
                .as_deref(),
        ),
        comments: comments.iter().map(|c| shared.text(c)).collect(),
        references: references.iter().map(|r| shared.text(r)).collect(),
        source_kind: Some(context.kind),
        source: shared.text(context.source),
        occurrences: 1,
        source_fingerprint: raw_fingerprint(cells),
        ..MappingRow::default()
    })
}

/// The fingerprint of a row's markup: every element (name, attributes), text and element end of its
/// cells, hashed as the tree is walked, nothing serialized (stable within a run).
fn raw_fingerprint(cells: &[ElementRef]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for cell in cells {
        for edge in cell.traverse() {
            match edge {
                Edge::Open(node) => match node.value() {
                    Node::Element(element) => {
                        (0u8, element.name()).hash(&mut hasher);
                        element.attrs().for_each(|attribute| attribute.hash(&mut hasher));
                    }
                    Node::Text(text) => (1u8, &**text).hash(&mut hasher),
                    _ => {}
                },
                Edge::Close(_) => 2u8.hash(&mut hasher),
            }
        }
    }
    hasher.finish()
}

/// A cell's text as a value.
fn value_text(cell: ElementRef) -> Option<String> {
    as_value(table::cell_text(cell))
}

/// A cell's normalized text as a value: the site renders a missing value as the word `None`
/// (Python's null).
pub(super) fn as_value(text: String) -> Option<String> {
    (!text.is_empty() && text != "None").then_some(text)
}

/// A row's mapping type key and label, from its Mapping Type cell; a table with a Category column
/// (security stacks) and no Mapping Type scores techniques.
pub(super) fn mapping_type_of(label: Option<String>, scored: bool) -> (Option<String>, Option<String>) {
    match label {
        Some(label) => (Some(normalize::mapping_type(&label)), Some(label)),
        None if scored => (Some(normalize::SCORED_MAPPING_TYPE.to_string()), None),
        None => (None, None),
    }
}

/// Reads a framework page's Non-Mappable Capabilities table (columns id, label).
pub fn non_mappable_rows(
    table: &PageTable,
    context: &PageContext,
    rows: &mut Vec<MappingRow>,
    rejected: &mut Vec<RejectedRow>,
) {
    let mut shared = Interner::default();
    for (index, cells) in table.rows.iter().enumerate() {
        let id_cell = table.cell(cells, "id");
        let capability_id = id_cell.and_then(value_text);
        let dataset = id_cell
            .and_then(table::cell_link)
            .and_then(|href| dataset_of_external_link(&href))
            .or_else(|| context.dataset.clone());
        let (Some(capability_id), Some(dataset)) = (capability_id, dataset) else {
            rejected.push(RejectedRow {
                source: context.source.to_string(),
                element: format!("Non-Mappable Capabilities row {}", index + 1),
                reason: "expected a capability id linked to its capability page".into(),
                rows: 1,
            });
            continue;
        };
        rows.push(MappingRow {
            framework: shared.text(&dataset.framework),
            framework_version: shared.text(&dataset.framework_version),
            attack_version: shared.text(&dataset.attack_version),
            domain: shared.text(&dataset.domain),
            capability_id: Some(shared.text(&capability_id)),
            capability_description: shared.optional(table.cell(cells, "label").and_then(value_text).as_deref()),
            mapping_type: Some(shared.text("non_mappable")),
            status: Some(shared.text("non_mappable")),
            source_kind: Some(context.kind),
            source: shared.text(context.source),
            occurrences: 1,
            source_fingerprint: raw_fingerprint(cells),
            ..MappingRow::default()
        });
    }
}
