//! Reads Mappings Explorer HTML pages: technique pages, framework landing / all-data pages and capability pages.

mod advertised;
pub mod cross_check;
mod framework;
mod guard;
mod links;
mod markup;
mod rows;
mod table;
mod technique;

use std::path::Path;
use std::sync::LazyLock;

use scraper::{Html, Selector};

use crate::error::{Error, Result};
use crate::sources::{Outcome, Supersession};

pub use advertised::{advertised_landing_pages, framework_of_page};
pub use links::{dataset_of_external_link, site_dataset_of_external_link, SiteDataset};

static SITE_NAME: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse(r#"meta[property="og:site_name"], title"#).unwrap());
static ALL_MAPPINGS: LazyLock<Selector> = LazyLock::new(|| Selector::parse("#all-mapping-table").unwrap());
static BREADCRUMB: LazyLock<Selector> = LazyLock::new(|| Selector::parse("div.breadcrumbs li").unwrap());
static HEADING: LazyLock<Selector> = LazyLock::new(|| Selector::parse("h1").unwrap());

/// Reads one HTML document, recognized by its content; `name` is its rows' `source`. A technique,
/// framework or capability page whose every dataset `supersession` says a better source supplies
/// is read for its cross-check alone, from its tokens ([`cross_check`]).
pub fn read(path: &Path, name: &str, html: &str, supersession: &dyn Supersession) -> Result<Outcome> {
    if let Some(framework) = name.strip_suffix("index.html").and_then(framework_of_page) {
        return Ok(Outcome::NoMappings(format!(
            "the framework page of {framework}: it advertises the framework's datasets, and its default view repeats one of their landing pages"
        )));
    }
    let is_mappings_explorer = html.contains("Mappings Explorer");
    if !is_mappings_explorer {
        return Ok(Outcome::Skipped(
            "an HTML page that is not from the Mappings Explorer site".into(),
        ));
    }
    if !markup::is_complete(html) {
        return Err(Error::Page {
            path: path.to_path_buf(),
            element: "document".into(),
            reason: "truncated: the page ends before its closing </html> tag".into(),
        });
    }
    let depth = guard::nesting_depth(html);
    if depth > guard::MAX_DEPTH {
        return Err(Error::Page {
            path: path.to_path_buf(),
            element: "document".into(),
            reason: format!(
                "elements nested {depth} deep, more than the {} attackmap parses: not a Mappings Explorer page",
                guard::MAX_DEPTH
            ),
        });
    }
    let html = markup::escape_stray_tags_in_notes(html);
    if let Some(parsed) = cross_check::read(&html, supersession) {
        return Ok(Outcome::Parsed(parsed));
    }
    let document = Html::parse_document(&html);
    let titled_by_site = document.select(&SITE_NAME).any(|e| {
        e.value()
            .attr("content")
            .unwrap_or_default()
            .contains("Mappings Explorer")
            || e.text().collect::<String>().contains("Mappings Explorer")
    });
    if !titled_by_site {
        return Ok(Outcome::Skipped(
            "an HTML page that is not from the Mappings Explorer site".into(),
        ));
    }
    let source = name.to_string();
    let breadcrumbs: Vec<String> = document.select(&BREADCRUMB).map(table::cell_text).collect();
    let heading = document
        .select(&HEADING)
        .next()
        .map(table::cell_text)
        .unwrap_or_default();

    if document.select(&ALL_MAPPINGS).next().is_some() {
        return framework::read_framework_page(&document, &source).map(Outcome::Parsed);
    }
    let technique_id = heading.split_whitespace().next().unwrap_or_default();
    if breadcrumbs.iter().any(|b| b == "ATT&CK Techniques")
        && crate::transforms::normalize::is_technique_id(technique_id)
    {
        return technique::read(&document, &source).map(Outcome::Parsed);
    }
    if breadcrumbs.iter().any(|b| b == "Mapping Frameworks") {
        if let Some(parsed) = framework::read_capability_page(&document, &source) {
            return Ok(Outcome::Parsed(parsed));
        }
    }
    Ok(Outcome::NoMappings(format!(
        "a Mappings Explorer page without mapping tables (heading {heading:?})"
    )))
}
