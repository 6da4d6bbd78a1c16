//! A page read for its cross-check alone, when better sources supply every dataset it shows: each
//! table's rows counted and their (capability, technique) edges taken from html5ever's tokens, no
//! tree built (building the tree was half the cost of reading a page). Technique pages, framework
//! pages (landing and all-data) and capability pages are read so when they keep to the site's shape;
//! anything else (a row without a capability link, a row the full reader would reject, a table out
//! of shape, a dataset no better source supplies, foreign or script content in a table) is left to
//! the full reader, so the two agree: `tests/integration/cross_check.rs` holds them to it on every page of
//! the snapshot and the fixtures, and on mutated ones.

mod tokens;

use super::framework::{cut_from_notice, framework_page_kind};
use super::links::dataset_of_external_link;
use super::rows::{as_value, mapping_type_of};
use crate::model::{DatasetKey, MappingRow, SourceKind};
use crate::sources::{ParsedInput, SupersededTally, Supersession};
use crate::transforms::normalize;
use tokens::{Cell, Table};

/// The page as superseded rows, by dataset; `None` when the full reader must read it, among others
/// when `supersession` does not say a better kind of source supplies each of its datasets.
pub fn read(html: &str, supersession: &dyn Supersession) -> Option<ParsedInput> {
    let page = tokens::page(html);
    if page.out_of_shape || !page.titled_by_site {
        return None;
    }
    let (kind, cut, tables): (SourceKind, _, Vec<(&Table, RowKind)>) = if page.all_mappings {
        let cut = page
            .notice_text
            .as_deref()
            .and_then(|notice| cut_from_notice(&normalize::text(notice)));
        let kind = framework_page_kind(cut);
        // The first table of each: `#all-mapping-table table`, `#nonmappable-table table`.
        let first = |id: &str| page.tables.iter().find(|(section, _)| section.as_deref() == Some(id));
        let tables = [
            ("all-mapping-table", RowKind::Mapping),
            ("nonmappable-table", RowKind::NonMappable),
        ]
        .into_iter()
        .filter_map(|(id, rows)| first(id).map(|(_, table)| (table, rows)))
        .collect();
        (kind, cut, tables)
    } else if is_technique_page(&page) {
        // `section.mapping-table:not(#attack-table)`, the first table of each.
        let tables = page
            .tables
            .iter()
            .filter(|(section, _)| section.as_deref() != Some(CAPABILITY_SECTION))
            .map(|(_, table)| (table, RowKind::Mapping))
            .collect();
        (SourceKind::TechniquePage, None, tables)
    } else if page.breadcrumbs.iter().any(|b| b == "Mapping Frameworks") {
        // `#attack-table table`: without it, or without a Capability ID column, the full reader
        // finds no mapping table and says so.
        let (_, table) = page
            .tables
            .iter()
            .find(|(section, _)| section.as_deref() == Some(CAPABILITY_SECTION))?;
        if !table.columns.iter().any(|c| c == "capability_id") {
            return None;
        }
        (SourceKind::CapabilityPage, None, vec![(table, RowKind::Mapping)])
    } else {
        return None;
    };
    let mut tally = SupersededTally::default();
    for (table, row_kind) in tables {
        for cells in &table.rows {
            let (dataset, edge) = match row_kind {
                RowKind::Mapping => mapping_row(&table.columns, cells)?,
                RowKind::NonMappable => (non_mappable_row(&table.columns, cells)?, None),
            };
            if !supersession.supersedes(&dataset, kind) {
                return None;
            }
            tally.count(dataset, edge);
        }
    }
    let mut parsed = ParsedInput::empty(kind);
    parsed.cut = cut;
    parsed.superseded = tally.into_rows();
    Some(parsed)
}

/// The id of a capability page's section (also a technique page's sub-techniques).
const CAPABILITY_SECTION: &str = "attack-table";

/// A technique page by its breadcrumbs and heading, as the full reader tells it.
fn is_technique_page(page: &tokens::Page) -> bool {
    page.breadcrumbs.iter().any(|b| b == "ATT&CK Techniques")
        && page
            .heading
            .as_deref()
            .and_then(|h| h.split_whitespace().next())
            .is_some_and(normalize::is_technique_id)
}

/// The rows a table holds: mappings, or a framework page's non-mappable capabilities.
#[derive(Clone, Copy)]
enum RowKind {
    Mapping,
    NonMappable,
}

/// The cell under column `key`.
fn cell<'a>(columns: &[String], cells: &'a [Cell], key: &str) -> Option<&'a Cell> {
    columns.iter().position(|c| c == key).and_then(|i| cells.get(i))
}

/// A cell's text as a value, as the full reader reads it.
fn value(columns: &[String], cells: &[Cell], key: &str) -> Option<String> {
    as_value(normalize::text(&cell(columns, cells, key)?.text))
}

/// A mapping row's dataset and edge, as the full reader would read them (`rows::mapping_row`);
/// `None` where it would reject the row or need the page's other links.
fn mapping_row(columns: &[String], cells: &[Cell]) -> Option<(DatasetKey, Option<(String, String)>)> {
    let capability_id = value(columns, cells, "capability_id");
    let attack_object_id = value(columns, cells, "attack_object_id");
    if capability_id.is_none() && attack_object_id.is_none() {
        return None;
    }
    if attack_object_id
        .as_deref()
        .is_some_and(|id| !normalize::is_technique_id(id))
    {
        return None;
    }
    let dataset = dataset_of_external_link(cell(columns, cells, "capability_id")?.link.as_deref()?)?;
    let scored = columns.iter().any(|c| c == "score_category");
    // The fields the edge rule reads, so that the rule is the full reader's own.
    let row = MappingRow {
        capability_id: capability_id.map(Into::into),
        attack_object_id: attack_object_id.map(Into::into),
        mapping_type: mapping_type_of(value(columns, cells, "mapping_type"), scored)
            .0
            .map(Into::into),
        ..MappingRow::default()
    };
    let edge = row
        .edge()
        .map(|(capability, technique)| (capability.to_string(), technique.to_string()));
    Some((dataset, edge))
}

/// A non-mappable capability's dataset, as `rows::non_mappable_rows` reads it; `None` where it would
/// reject the row or need the page's other links.
fn non_mappable_row(columns: &[String], cells: &[Cell]) -> Option<DatasetKey> {
    value(columns, cells, "id")?;
    dataset_of_external_link(cell(columns, cells, "id")?.link.as_deref()?)
}
