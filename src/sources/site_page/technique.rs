//! Reads a technique page: one `section.mapping-table` per framework, each titled "{Label} Mappings".

use std::sync::LazyLock;

use scraper::{ElementRef, Html, Selector};

use super::rows::{mapping_rows, PageContext};
use super::table::{self, PageTable};
use crate::error::Result;
use crate::model::{DatasetKey, SourceKind};
use crate::sources::ParsedInput;
use crate::transforms::normalize;

static SECTION: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("section.mapping-table:not(#attack-table)").unwrap());
static TITLE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("h2").unwrap());
static TABLE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("table").unwrap());
static BADGE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("button.custom-badge").unwrap());
static BADGE_LABEL: LazyLock<Selector> = LazyLock::new(|| Selector::parse("span.white").unwrap());
static BADGE_VALUE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("span.purple").unwrap());

pub fn read(document: &Html, source: &str) -> Result<ParsedInput> {
    let mut parsed = ParsedInput::empty(SourceKind::TechniquePage);
    for section in document.select(&SECTION) {
        let title = section.select(&TITLE).next().map(table::cell_text).unwrap_or_default();
        let Some(table) = section.select(&TABLE).next().map(PageTable::read) else {
            continue;
        };
        let context = PageContext {
            source,
            kind: SourceKind::TechniquePage,
            dataset: section_dataset(section, &title),
        };
        mapping_rows(
            &table,
            &context,
            &format!("section {title:?}"),
            &mut parsed.rows,
            &mut parsed.rejected,
        );
    }
    Ok(parsed)
}

/// The dataset of a section whose rows carry no capability link: needs the framework version, which
/// only a badge of the section can give; without it the rows are rejected, never guessed.
fn section_dataset(section: ElementRef, title: &str) -> Option<DatasetKey> {
    let framework = crate::frameworks::id_from_label(title)?;
    let mut attack_version = None;
    let mut domain = None;
    let mut framework_version = None;
    for badge in section.select(&BADGE) {
        let label = badge
            .select(&BADGE_LABEL)
            .next()
            .map(table::cell_text)
            .unwrap_or_default();
        let value = badge.select(&BADGE_VALUE).next().map(table::cell_text);
        match label.as_str() {
            "ATT&CK Version" => attack_version = value,
            "ATT&CK Domain" => domain = value.map(|d| normalize::domain(&d)),
            _ if crate::frameworks::id_from_label(&label) == Some(framework) => framework_version = value,
            _ => {}
        }
    }
    Some(DatasetKey {
        framework: framework.to_string(),
        framework_version: normalize::framework_version(&framework_version?),
        attack_version: attack_version?,
        domain: domain?,
    })
}
