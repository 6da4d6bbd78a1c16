//! A technique page read for its cross-check alone, when better sources supply every dataset it
//! shows: each table's rows counted and their (capability, technique) edges taken from html5ever's
//! tokens, no tree built (building the tree was half the cost of reading a page). Only the site's
//! own shape is read this way; anything else (a row without a capability link, a row the full
//! reader would reject, a table out of shape, a dataset no better source supplies, foreign or
//! script content in a table) is left to the full reader, so the two agree:
//! `tests/integration/cross_check.rs` holds them to it on every technique page of the snapshot and
//! the fixtures.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};

use super::links::dataset_of_external_link;
use super::table::column_key_of;
use crate::model::DatasetKey;
use crate::sources::SupersededRows;
use crate::transforms::normalize;

/// The page's rows as superseded rows, by dataset; `None` when the full reader must read it.
pub fn read(html: &str, superseded: &dyn Fn(&DatasetKey) -> bool) -> Option<Vec<SupersededRows>> {
    let tokenizer = Tokenizer::new(Sink::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(html.into());
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let page = tokenizer.sink.page.into_inner();
    let unclosed = page.section.is_some() || page.table.is_some();
    if page.out_of_shape || unclosed || page.all_mappings || !page.titled_by_site {
        return None;
    }
    let is_technique_page = page.breadcrumbs.iter().any(|b| b == "ATT&CK Techniques")
        && page
            .heading
            .as_deref()
            .and_then(|h| h.split_whitespace().next())
            .is_some_and(normalize::is_technique_id);
    if !is_technique_page {
        return None;
    }
    let mut reduced: BTreeMap<DatasetKey, SupersededRows> = BTreeMap::new();
    for table in page.tables {
        for cells in &table.rows {
            let (dataset, edge) = row_edge(&table.columns, cells)?;
            if !superseded(&dataset) {
                return None;
            }
            let rows = reduced.entry(dataset).or_insert_with_key(|dataset| SupersededRows {
                dataset: dataset.clone(),
                rows: 0,
                edges: BTreeSet::new(),
            });
            rows.rows += 1;
            rows.edges.extend(edge);
        }
    }
    Some(reduced.into_values().collect())
}

/// A row's dataset and edge, as the full reader would read them (`rows::mapping_row`); `None` where
/// it would reject the row or need the section's badges.
fn row_edge(columns: &[String], cells: &[Cell]) -> Option<(DatasetKey, Option<(String, String)>)> {
    let cell = |key: &str| columns.iter().position(|c| c == key).and_then(|i| cells.get(i));
    let value = |key: &str| {
        let text = normalize::text(&cell(key)?.text);
        (!text.is_empty() && text != "None").then_some(text)
    };
    let capability_id = value("capability_id");
    let attack_object_id = value("attack_object_id");
    if capability_id.is_none() && attack_object_id.is_none() {
        return None;
    }
    if attack_object_id
        .as_deref()
        .is_some_and(|id| !normalize::is_technique_id(id))
    {
        return None;
    }
    let dataset = dataset_of_external_link(cell("capability_id")?.link.as_deref()?)?;
    let mapping_type = match value("mapping_type") {
        Some(label) => Some(normalize::mapping_type(&label)),
        None if columns.iter().any(|c| c == "score_category") => Some(normalize::SCORED_MAPPING_TYPE.to_string()),
        None => None,
    };
    let edge = match (capability_id, attack_object_id) {
        _ if mapping_type.as_deref() == Some("non_mappable") => None,
        (Some(capability), Some(technique)) => Some((capability, technique)),
        _ => None,
    };
    Some((dataset, edge))
}

/// What the tokens of a page showed.
#[derive(Default)]
struct Page {
    /// Markup the full reader might read otherwise: it decides.
    out_of_shape: bool,
    titled_by_site: bool,
    all_mappings: bool,
    title: Option<String>,
    divs: usize,
    /// The `div` depth of `div.breadcrumbs` while inside it.
    breadcrumbs_at: Option<usize>,
    breadcrumb: Option<String>,
    breadcrumbs: Vec<String>,
    heading: Option<String>,
    in_heading: bool,
    /// `svg` / `math` elements open: foreign content, whose tokens follow other rules.
    foreign: usize,
    /// Open `section`s, ours or not.
    sections: usize,
    /// The mapping section being read: the section depth it opened at, and whether its table was seen.
    section: Option<(usize, bool)>,
    table: Option<Table>,
    tables: Vec<Table>,
}

#[derive(Default)]
struct Table {
    part: Part,
    columns: Vec<String>,
    /// The header cell being read: its `data-field` (however the tokenizer placed it) and text.
    header: Option<(Option<String>, String)>,
    row: Option<Vec<Cell>>,
    cell: Option<Cell>,
    rows: Vec<Vec<Cell>>,
}

#[derive(Default, PartialEq)]
enum Part {
    #[default]
    Table,
    Head,
    Body,
}

/// A body cell: its text (`<br>` as a line break) and its first link.
#[derive(Default)]
struct Cell {
    text: String,
    link: Option<String>,
}

#[derive(Default)]
struct Sink {
    page: RefCell<Page>,
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut page = self.page.borrow_mut();
        match token {
            Token::TagToken(tag) if tag.kind == TagKind::StartTag => return page.start(&tag),
            Token::TagToken(tag) => page.end(&tag),
            Token::CharacterTokens(text) => page.text(&text),
            Token::NullCharacterToken if page.table.is_some() => page.out_of_shape = true,
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

fn attribute<'a>(tag: &'a Tag, name: &str) -> Option<&'a str> {
    tag.attrs.iter().find(|a| &*a.name.local == name).map(|a| &*a.value)
}

fn has_class(tag: &Tag, class: &str) -> bool {
    attribute(tag, "class").is_some_and(|classes| classes.split_ascii_whitespace().any(|c| c == class))
}

impl Page {
    fn start(&mut self, tag: &Tag) -> TokenSinkResult<()> {
        let name = &*tag.name;
        if attribute(tag, "id") == Some("all-mapping-table") {
            self.all_mappings = true;
        }
        if self.foreign > 0 || matches!(name, "svg" | "math") {
            self.foreign += usize::from(!tag.self_closing && matches!(name, "svg" | "math"));
            self.out_of_shape |= self.table.is_some();
            return TokenSinkResult::Continue;
        }
        // What the tree builder would switch the tokenizer to; inside a table, not the site's shape
        // (a cell's text would hold a script's).
        let raw = match name {
            "script" => Some(RawKind::ScriptData),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => Some(RawKind::Rawtext),
            "title" | "textarea" => Some(RawKind::Rcdata),
            "plaintext" | "template" => {
                self.out_of_shape = true;
                return TokenSinkResult::Continue;
            }
            _ => None,
        };
        if let Some(kind) = raw {
            self.out_of_shape |= self.table.is_some();
            if name == "title" && !tag.self_closing {
                self.title = Some(String::new());
            }
            return if tag.self_closing {
                TokenSinkResult::Continue
            } else {
                TokenSinkResult::RawData(kind)
            };
        }
        match name {
            "meta" if attribute(tag, "property") == Some("og:site_name") => {
                self.titled_by_site |= attribute(tag, "content").is_some_and(|c| c.contains("Mappings Explorer"));
            }
            "div" => {
                self.divs += 1;
                if self.breadcrumbs_at.is_none() && has_class(tag, "breadcrumbs") {
                    self.breadcrumbs_at = Some(self.divs);
                }
            }
            "li" if self.breadcrumbs_at.is_some() => {
                self.end_breadcrumb();
                self.breadcrumb = Some(String::new());
            }
            "h1" if self.heading.is_none() => {
                self.heading = Some(String::new());
                self.in_heading = true;
            }
            "br" => self.text("\n"),
            "section" => {
                self.sections += 1;
                let ours = has_class(tag, "mapping-table") && attribute(tag, "id") != Some("attack-table");
                if self.section.is_some() {
                    self.out_of_shape = true;
                } else if ours {
                    self.section = Some((self.sections, false));
                }
            }
            _ => self.start_in_table(tag),
        }
        TokenSinkResult::Continue
    }

    fn start_in_table(&mut self, tag: &Tag) {
        let name = &*tag.name;
        if name == "table" {
            match &mut self.section {
                Some((_, seen)) if self.table.is_none() && !*seen => {
                    *seen = true;
                    self.table = Some(Table::default());
                }
                // A second table in a section, or one inside the table.
                Some(_) => self.out_of_shape = true,
                None => {}
            }
            return;
        }
        let Some(table) = &mut self.table else { return };
        let fits = match (name, &table.part) {
            ("thead", Part::Table) => {
                table.part = Part::Head;
                true
            }
            ("tbody", Part::Table) => {
                table.part = Part::Body;
                true
            }
            ("tr", Part::Head) => true,
            ("tr", Part::Body) => {
                table.end_row();
                table.row = Some(Vec::new());
                true
            }
            ("th", Part::Head) => {
                table.end_header();
                let field = attribute(tag, "data-field")
                    .or_else(|| attribute(tag, "id").and_then(|id| id.strip_prefix("data-field=")))
                    .map(|field| field.trim().to_string());
                table.header = Some((field, String::new()));
                true
            }
            ("td", Part::Body) if table.row.is_some() => {
                table.end_cell();
                table.cell = Some(Cell::default());
                true
            }
            ("a", _) => {
                if let (Some(cell), Some(href)) = (&mut table.cell, attribute(tag, "href")) {
                    cell.link.get_or_insert_with(|| href.trim().to_string());
                }
                true
            }
            ("thead" | "tbody" | "tr" | "th" | "td" | "caption" | "colgroup" | "col" | "tfoot", _) => false,
            _ => true,
        };
        self.out_of_shape |= !fits;
    }

    fn end(&mut self, tag: &Tag) {
        let name = &*tag.name;
        if self.foreign > 0 {
            self.foreign -= usize::from(matches!(name, "svg" | "math"));
            return;
        }
        match name {
            "title" => {
                let title = self.title.take().unwrap_or_default();
                self.titled_by_site |= title.contains("Mappings Explorer");
            }
            "div" => {
                if self.breadcrumbs_at == Some(self.divs) {
                    self.end_breadcrumb();
                    self.breadcrumbs_at = None;
                }
                self.divs = self.divs.saturating_sub(1);
            }
            "li" | "ol" | "ul" => self.end_breadcrumb(),
            "h1" => self.in_heading = false,
            "section" => {
                if self.section.is_some_and(|(depth, _)| depth == self.sections) {
                    self.out_of_shape |= self.table.is_some();
                    self.section = None;
                }
                self.sections = self.sections.saturating_sub(1);
            }
            "table" => {
                if let Some(mut table) = self.table.take() {
                    table.end_row();
                    self.tables.push(table);
                }
            }
            _ => {
                if let Some(table) = &mut self.table {
                    match name {
                        "th" => table.end_header(),
                        "td" => table.end_cell(),
                        "tr" => table.end_row(),
                        "thead" | "tbody" => {
                            table.end_row();
                            table.part = Part::Table;
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    fn text(&mut self, text: &str) {
        if let Some(title) = &mut self.title {
            title.push_str(text);
        }
        if let Some(breadcrumb) = &mut self.breadcrumb {
            breadcrumb.push_str(text);
        }
        if self.in_heading {
            self.heading.get_or_insert_default().push_str(text);
        }
        if let Some(table) = &mut self.table {
            if let Some((_, header)) = &mut table.header {
                header.push_str(text);
            }
            if let Some(cell) = &mut table.cell {
                cell.text.push_str(text);
            }
        }
    }

    fn end_breadcrumb(&mut self) {
        if let Some(breadcrumb) = self.breadcrumb.take() {
            self.breadcrumbs.push(normalize::text(&breadcrumb));
        }
    }
}

impl Table {
    fn end_header(&mut self) {
        if let Some((field, text)) = self.header.take() {
            self.columns
                .push(field.unwrap_or_else(|| column_key_of(&normalize::text(&text))));
        }
    }

    fn end_cell(&mut self) {
        if let (Some(row), Some(cell)) = (&mut self.row, self.cell.take()) {
            row.push(cell);
        }
    }

    fn end_row(&mut self) {
        self.end_header();
        self.end_cell();
        if let Some(row) = self.row.take() {
            self.rows.push(row);
        }
    }
}
