//! What a page's tokens show: its title, breadcrumbs and heading, and the tables of its mapping
//! sections with their header keys and body cells, gathered from html5ever's tokenizer alone. Any
//! markup off the site's shape marks the page `out_of_shape`, for the full reader to read.

use std::cell::RefCell;

use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};

use super::super::table::column_key_of;
use crate::transforms::normalize;

/// The page `html` as its tokens show it.
pub fn page(html: &str) -> Page {
    let tokenizer = Tokenizer::new(Sink::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(html.into());
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let mut page = tokenizer.sink.page.into_inner();
    page.out_of_shape |= page.section.is_some() || page.table.is_some() || page.notice.is_some();
    page
}

/// What the tokens of a page showed.
#[derive(Default)]
pub struct Page {
    /// Markup the full reader might read otherwise: it decides.
    pub out_of_shape: bool,
    pub titled_by_site: bool,
    /// An element has the id `all-mapping-table`: a framework page.
    pub all_mappings: bool,
    /// An element has the id `attack-table`: the section of a capability page's table (or of a
    /// technique page's sub-techniques).
    attack_table: bool,
    title: Option<String>,
    divs: usize,
    /// The `div` depth of `div.breadcrumbs` while inside it.
    breadcrumbs_at: Option<usize>,
    breadcrumb: Option<String>,
    pub breadcrumbs: Vec<String>,
    pub heading: Option<String>,
    in_heading: bool,
    /// `svg` / `math` elements open: foreign content, whose tokens follow other rules.
    foreign: usize,
    /// Open `section`s, ours or not.
    sections: usize,
    /// The mapping section being read: the section depth it opened at, its id, and whether its
    /// table was seen.
    section: Option<(usize, Option<String>, bool)>,
    table: Option<Table>,
    /// The first table of each mapping section (`section.mapping-table`, and `#attack-table`), with
    /// the section's id.
    pub tables: Vec<(Option<String>, Table)>,
    /// The text of `#all-mapping-table p.notice` while it is read, then in `notice_text`.
    notice: Option<String>,
    pub notice_text: Option<String>,
}

#[derive(Default)]
pub struct Table {
    part: Part,
    pub columns: Vec<String>,
    /// The header cell being read: its `data-field` (however the tokenizer placed it) and text.
    header: Option<(Option<String>, String)>,
    row: Option<Vec<Cell>>,
    cell: Option<Cell>,
    pub rows: Vec<Vec<Cell>>,
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
pub struct Cell {
    pub text: String,
    pub link: Option<String>,
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

/// The ids of the sections of a framework page's tables and of a capability page's table, which the
/// full reader finds on any element.
fn is_table_by_id(id: Option<&str>) -> bool {
    matches!(id, Some("all-mapping-table" | "nonmappable-table" | "attack-table"))
}

fn has_class(tag: &Tag, class: &str) -> bool {
    attribute(tag, "class").is_some_and(|classes| classes.split_ascii_whitespace().any(|c| c == class))
}

impl Page {
    fn start(&mut self, tag: &Tag) -> TokenSinkResult<()> {
        let name = &*tag.name;
        // Inside the notice only the inline markup the site writes: a block would end the paragraph.
        if self.notice.is_some() && !matches!(name, "strong" | "a" | "b" | "i" | "em" | "span" | "br" | "code") {
            self.out_of_shape = true;
        }
        let id = attribute(tag, "id");
        if id == Some("all-mapping-table") {
            // Twice, the full reader would read the first such element's table, wherever it is.
            self.out_of_shape |= self.all_mappings;
            self.all_mappings = true;
        }
        if id == Some("attack-table") {
            // Twice, the full reader would read the first table below either.
            self.out_of_shape |= self.attack_table;
            self.attack_table = true;
        }
        if is_table_by_id(id) && name != "section" {
            self.out_of_shape = true;
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
                let id = attribute(tag, "id");
                let ours = has_class(tag, "mapping-table") || id == Some("attack-table");
                if self.section.is_some() || (!ours && is_table_by_id(id)) {
                    self.out_of_shape = true;
                } else if ours {
                    self.section = Some((self.sections, id.map(String::from), false));
                }
            }
            "p" if has_class(tag, "notice") && self.in_section("all-mapping-table") && self.notice_text.is_none() => {
                self.notice = Some(String::new());
            }
            _ => self.start_in_table(tag),
        }
        TokenSinkResult::Continue
    }

    fn start_in_table(&mut self, tag: &Tag) {
        let name = &*tag.name;
        if name == "table" {
            self.end_notice();
            match &mut self.section {
                Some((_, _, seen)) if self.table.is_none() && !*seen => {
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
                if self
                    .section
                    .as_ref()
                    .is_some_and(|(depth, _, _)| *depth == self.sections)
                {
                    self.out_of_shape |= self.table.is_some();
                    self.section = None;
                }
                self.sections = self.sections.saturating_sub(1);
            }
            "p" => self.end_notice(),
            "table" => {
                if let Some(mut table) = self.table.take() {
                    table.end_row();
                    let id = self.section.as_ref().and_then(|(_, id, _)| id.clone());
                    self.tables.push((id, table));
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
        if let Some(notice) = &mut self.notice {
            notice.push_str(text);
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

    fn in_section(&self, id: &str) -> bool {
        self.section
            .as_ref()
            .is_some_and(|(_, section, _)| section.as_deref() == Some(id))
    }

    fn end_notice(&mut self) {
        if let Some(notice) = self.notice.take() {
            self.notice_text = Some(notice);
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
