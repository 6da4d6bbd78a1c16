//! Reads framework pages (landing page, cut or not, and its "Load all data" page) and capability pages.

use std::sync::LazyLock;

use scraper::{Html, Selector};

use super::links::dataset_of_external_link;
use super::rows::{mapping_rows, non_mappable_rows, PageContext};
use super::table::{self, PageTable};
use crate::error::Result;
use crate::model::{DatasetKey, SourceKind};
use crate::sources::{Cut, ParsedInput};

static ALL_MAPPINGS_TABLE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("#all-mapping-table table").unwrap());
static NON_MAPPABLE_TABLE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("#nonmappable-table table").unwrap());
static CAPABILITY_TABLE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("#attack-table table").unwrap());
static NOTICE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("#all-mapping-table p.notice").unwrap());
static LINK: LazyLock<Selector> = LazyLock::new(|| Selector::parse("a[href]").unwrap());

/// A framework landing page (cut at 550 rows, says so in a notice) or an uncut listing of every mapping.
pub fn read_framework_page(document: &Html, source: &str) -> Result<ParsedInput> {
    let cut = document
        .select(&NOTICE)
        .next()
        .and_then(|notice| cut_from_notice(&table::cell_text(notice)));
    let kind = framework_page_kind(cut);
    let context = PageContext {
        source,
        kind,
        dataset: first_dataset_link(document),
    };
    let mut parsed = ParsedInput::empty(kind);
    parsed.cut = cut;
    if let Some(table) = document.select(&ALL_MAPPINGS_TABLE).next().map(PageTable::read) {
        mapping_rows(&table, &context, "All Mappings", &mut parsed.rows, &mut parsed.rejected);
    }
    if let Some(table) = document.select(&NON_MAPPABLE_TABLE).next().map(PageTable::read) {
        non_mappable_rows(&table, &context, &mut parsed.rows, &mut parsed.rejected);
    }
    Ok(parsed)
}

/// A capability page: one table of that capability's mappings. `None` when the page has no such table.
pub fn read_capability_page(document: &Html, source: &str) -> Option<ParsedInput> {
    let table = document.select(&CAPABILITY_TABLE).next().map(PageTable::read)?;
    if !table.has_column("capability_id") {
        return None;
    }
    let context = PageContext {
        source,
        kind: SourceKind::CapabilityPage,
        dataset: first_dataset_link(document),
    };
    let mut parsed = ParsedInput::empty(SourceKind::CapabilityPage);
    mapping_rows(&table, &context, "Mappings", &mut parsed.rows, &mut parsed.rejected);
    Some(parsed)
}

/// A framework page cut by the site is a landing page; uncut, it lists every mapping.
pub(super) fn framework_page_kind(cut: Option<Cut>) -> SourceKind {
    if cut.is_some() {
        SourceKind::LandingPage
    } else {
        SourceKind::AllDataPage
    }
}

/// "… only downloaded the first 550 of 5,314 mappings." → 550 of 5314.
pub(super) fn cut_from_notice(notice: &str) -> Option<Cut> {
    let (_, rest) = notice.split_once("first ")?;
    let mut words = rest.split_whitespace();
    let number = |word: &str| word.replace(',', "").parse::<usize>().ok();
    let shown = number(words.next()?)?;
    (words.next()? == "of").then_some(())?;
    let total = number(words.next()?)?;
    Some(Cut { shown, total })
}

fn first_dataset_link(document: &Html) -> Option<DatasetKey> {
    document
        .select(&LINK)
        .filter_map(|a| a.value().attr("href"))
        .find_map(dataset_of_external_link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_of_a_cut_page_gives_shown_and_total() {
        let cut = cut_from_notice("This is a very large mapping. To reduce the size, we have only downloaded the first 550 of 5,314 mappings. Load all data (5.4 MB)").unwrap();
        assert_eq!((cut.shown, cut.total), (550, 5314));
        assert!(cut_from_notice("nothing cut here").is_none());
    }
}
