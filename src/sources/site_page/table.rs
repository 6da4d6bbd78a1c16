//! Reads one of the site's tables into rows of named cells, whatever the quirks of its markup.
//!
//! Columns are keyed by field name, never by position alone: the site writes header cells as
//! `<th id= data-field=capability_id>`, which an HTML5 parser reads as `id="data-field=capability_id"`.
//! The Notes column is absent from rows that have no notes.

use scraper::{ElementRef, Node, Selector};
use std::sync::LazyLock;

use crate::transforms::normalize;

static HEADER: LazyLock<Selector> = LazyLock::new(|| Selector::parse("thead th").unwrap());
static BODY_ROW: LazyLock<Selector> = LazyLock::new(|| Selector::parse("tbody > tr").unwrap());
static LINK: LazyLock<Selector> = LazyLock::new(|| Selector::parse("a[href]").unwrap());
static NOTE_PART: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("div.info-box-content div.title, div.info-box-content div.body").unwrap());
static REFERENCE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("li").unwrap());

/// One of a page's tables: its column keys and its body rows.
pub struct PageTable<'a> {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<ElementRef<'a>>>,
}

impl<'a> PageTable<'a> {
    pub fn read(table: ElementRef<'a>) -> PageTable<'a> {
        let columns = table.select(&HEADER).map(column_key).collect();
        let rows = table
            .select(&BODY_ROW)
            .map(|tr| tr.child_elements().filter(|c| c.value().name() == "td").collect())
            .collect();
        PageTable { columns, rows }
    }

    pub fn has_column(&self, key: &str) -> bool {
        self.columns.iter().any(|c| c == key)
    }

    /// The cell under column `key` in `row`, if the row has one.
    pub fn cell(&self, row: &[ElementRef<'a>], key: &str) -> Option<ElementRef<'a>> {
        let index = self.columns.iter().position(|c| c == key)?;
        row.get(index).copied()
    }
}

/// The field a header cell stands for: its `data-field` (however the parser placed it), else its text.
fn column_key(th: ElementRef) -> String {
    let attrs = th.value();
    if let Some(field) = attrs.attr("data-field") {
        return field.trim().to_string();
    }
    if let Some(field) = attrs.id().and_then(|id| id.strip_prefix("data-field=")) {
        return field.trim().to_string();
    }
    column_key_of(&cell_text(th))
}

/// The field a header cell's label stands for (`Capability ID` → `capability_id`), else the label.
pub fn column_key_of(label: &str) -> String {
    match label {
        "Capability ID" => "capability_id",
        "Capability Description" => "capability_description",
        "Mapping Type" => "mapping_type",
        "ATT&CK ID" | "Technique ID" => "attack_object_id",
        "ATT&CK Name" | "Technique Name" => "attack_object_name",
        "Category" => "score_category",
        "Value" => "score_value",
        other => other,
    }
    .to_string()
}

/// A cell's text with white space normalized.
pub fn cell_text(cell: ElementRef) -> String {
    normalize::text(&text_with_breaks(cell))
}

/// The first link's target in a cell, trimmed (the site pads hrefs with newlines).
pub fn cell_link(cell: ElementRef) -> Option<String> {
    cell.select(&LINK)
        .next()
        .and_then(|a| a.value().attr("href"))
        .map(|href| href.trim().to_string())
}

/// Comments and references of a Notes cell (`div.title` + `div.body` pairs).
pub fn notes(cell: ElementRef) -> (Option<String>, Vec<String>) {
    let mut comments = None;
    let mut references = Vec::new();
    let mut current_title = String::new();
    for part in cell.select(&NOTE_PART) {
        if part.value().classes().any(|c| c == "title") {
            current_title = cell_text(part);
            continue;
        }
        match current_title.as_str() {
            "Comments" => comments = normalize::optional_text(&text_with_breaks(part)),
            "References" => {
                for item in part.select(&REFERENCE) {
                    let reference = cell_link(item).unwrap_or_else(|| cell_text(item));
                    if !reference.is_empty() && !references.contains(&reference) {
                        references.push(reference);
                    }
                }
            }
            _ => {}
        }
    }
    (comments, references)
}

/// All text below an element, with `<br>` as a line break, so that paragraphs survive normalization.
fn text_with_breaks(element: ElementRef) -> String {
    let mut out = String::new();
    for node in element.descendants() {
        match node.value() {
            Node::Text(text) => out.push_str(text),
            Node::Element(e) if e.name() == "br" => out.push('\n'),
            _ => {}
        }
    }
    out
}
