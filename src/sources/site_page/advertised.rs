//! The site's framework pages (`external/<fw>/`): the datasets each advertises. Its version selector
//! (`<meta id="version-combos" data-versions="[('rev4', '12.1', 'Enterprise'), …]">`) lists every
//! (framework version, ATT&CK version, domain) the site publishes; a framework with one dataset has no
//! selector, and its page names that dataset only in the links of its default view's mapping files.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use scraper::Html;

/// The site path of a framework page (`external/nist/`), and nothing deeper.
static FRAMEWORK_PAGE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^external/([^/]+)/$").unwrap());
static META: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?is)<meta\b[^>]*>").unwrap());
static COMBO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\(\s*'([^']*)'\s*,\s*'([^']*)'\s*,\s*'([^']*)'\s*\)").unwrap());
/// A default view's mapping-file link: `/data/<framework>/attack-<v>/<framework>-<version>/<domain>/`.
static DATA_LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"/data/([^/"'\s]+)/attack-([^/"'\s]+)/([^/"'\s]+)/([^/"'\s]+)/"#).unwrap());

/// The site id of a framework page's framework (`nist` for `external/nist/`), if `path` is one.
pub fn framework_of_page(path: &str) -> Option<&str> {
    FRAMEWORK_PAGE.captures(path).and_then(|c| c.get(1)).map(|m| m.as_str())
}

/// The landing pages (`external/nist/attack-12.1/domain-enterprise/nist-rev4/`) of the datasets that the
/// framework page at `page_path` advertises, in the page's order, each once. Values are not checked
/// here: the crawl checks the dataset each landing page names before following it.
pub fn advertised_landing_pages(page_path: &str, html: &str) -> Vec<String> {
    let Some(site_framework) = framework_of_page(page_path) else {
        return Vec::new();
    };
    let landing = |framework_version: &str, attack_version: &str, domain: &str| {
        format!(
            "external/{site_framework}/attack-{attack_version}/domain-{}/{site_framework}-{framework_version}/",
            domain.to_lowercase()
        )
    };
    let mut pages: Vec<String> = match version_combos(html) {
        Some(combos) => COMBO
            .captures_iter(&combos)
            .map(|c| landing(c[1].trim(), c[2].trim(), c[3].trim()))
            .collect(),
        None => DATA_LINK
            .captures_iter(html)
            .filter_map(|c| {
                let version = c[3].strip_prefix(&c[1])?.strip_prefix('-')?;
                Some(landing(version, &c[2], &c[4]))
            })
            .collect(),
    };
    let mut seen = BTreeSet::new();
    pages.retain(|page| seen.insert(page.clone()));
    pages
}

/// The decoded `data-versions` of the page's `<meta id="version-combos">`, if it has one.
fn version_combos(html: &str) -> Option<String> {
    META.find_iter(html)
        .filter(|tag| tag.as_str().contains("version-combos"))
        .find_map(|tag| {
            let fragment = Html::parse_fragment(tag.as_str());
            let meta = fragment
                .root_element()
                .descendants()
                .filter_map(scraper::ElementRef::wrap)
                .find(|e| e.value().name() == "meta" && e.value().id() == Some("version-combos"))?;
            meta.value().attr("data-versions").map(str::to_string)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_selector_names_every_dataset_of_the_framework() {
        let html = r#"<html><head><meta id="version-combos" data-versions="[(&#39;rev4&#39;, &#39;12.1&#39;, &#39;Enterprise&#39;), (&#39;rev5&#39;, &#39;16.1&#39;, &#39;Enterprise&#39;), (&#39;rev5&#39;, &#39;16.1&#39;, &#39;Enterprise&#39;)]""></head></html>"#;
        assert_eq!(
            advertised_landing_pages("external/nist/", html),
            [
                "external/nist/attack-12.1/domain-enterprise/nist-rev4/",
                "external/nist/attack-16.1/domain-enterprise/nist-rev5/"
            ]
        );
    }

    #[test]
    fn a_framework_without_a_selector_is_named_by_its_mapping_file_links() {
        let html = r#"<a href="https://host/mappings-explorer/data/cri_profile/attack-16.1/cri_profile-v2.1/enterprise/cri_profile-v2.1_attack-16.1-enterprise.csv">CSV</a>
            <a href="https://host/mappings-explorer/data/cri_profile/attack-16.1/cri_profile-v2.1/enterprise/cri_profile-v2.1_attack-16.1-enterprise_stix.json">STIX</a>"#;
        assert_eq!(
            advertised_landing_pages("external/cri_profile/", html),
            ["external/cri_profile/attack-16.1/domain-enterprise/cri_profile-v2.1/"]
        );
    }

    #[test]
    fn only_a_framework_page_advertises() {
        let html = r#"<meta id="version-combos" data-versions="[('rev5', '16.1', 'Enterprise')]">"#;
        assert!(advertised_landing_pages("external/nist/attack-16.1/domain-enterprise/nist-rev5/", html).is_empty());
        assert!(advertised_landing_pages("external/", html).is_empty());
        assert_eq!(framework_of_page("external/nist/"), Some("nist"));
    }
}
