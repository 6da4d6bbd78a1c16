//! Discovers what to fetch from the site itself: each selected technique index → every technique
//! page → the framework landing pages their capability links name (→ the all-data page when the
//! landing page is cut) → the framework's mapping file. Links are absolute to the live host: they are
//! mapped onto the configured base URL, and links to any other host are never followed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::{FetchFailure, Fetched, Fetcher};
use crate::model::DatasetKey;
use crate::site::LIVE_BASE_URL;
use crate::sources::site_page::dataset_of_external_link;

/// Which datasets a run is about. An empty list selects every value.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Selection {
    pub attack_versions: Vec<String>,
    pub domains: Vec<String>,
    pub frameworks: Vec<String>,
}

impl Selection {
    pub fn includes(&self, dataset: &DatasetKey) -> bool {
        let admits = |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
        admits(&self.attack_versions, &dataset.attack_version)
            && admits(&self.domains, &dataset.domain)
            && admits(&self.frameworks, &dataset.framework)
    }
}

/// Everything one crawl fetched, what failed, and the datasets it found.
#[derive(Debug, Default)]
pub struct Crawl {
    pub fetched: Vec<Fetched>,
    pub failures: Vec<FetchFailure>,
    pub datasets: BTreeSet<DatasetKey>,
}

static HREF: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"href\s*=\s*["']?\s*([^"'\s>]+)"#).unwrap());
static TECHNIQUE_PAGE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^attack/attack-[^/]+/domain-[^/]+/techniques/T\d{4}(\.\d{3})?/$").unwrap());
static FRAMEWORK_ROOT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^external/[^/]+/attack-[^/]+/domain-[^/]+/[^/]+/").unwrap());

pub fn crawl(fetcher: &Fetcher, selection: &Selection, progress: &indicatif::ProgressBar) -> Crawl {
    let mut crawl = Crawl::default();
    // Fetches a step's paths; reads back the text only of the pages whose links lead further.
    let fetch_step = |paths: Vec<String>, crawl: &mut Crawl, read_links: bool| -> Vec<(String, String)> {
        progress.inc_length(paths.len() as u64);
        let mut pages = Vec::new();
        for (path, result) in paths.iter().zip(fetcher.fetch_all(&paths, progress)) {
            match result {
                Ok(fetched) => {
                    if read_links {
                        let text = std::fs::read_to_string(&fetched.path).unwrap_or_default();
                        pages.push((path.clone(), text));
                    }
                    crawl.fetched.push(fetched);
                }
                Err(failure) => crawl.failures.push(failure),
            }
        }
        pages
    };

    let mut indexes = Vec::new();
    for version in &selection.attack_versions {
        for domain in &selection.domains {
            indexes.push(format!("attack/attack-{version}/domain-{domain}/techniques/"));
        }
    }
    let index_pages = fetch_step(indexes, &mut crawl, true);
    let technique_paths: BTreeSet<String> = index_pages
        .iter()
        .flat_map(|(path, html)| site_links(fetcher, path, html))
        .filter(|link| TECHNIQUE_PAGE.is_match(link))
        .collect();
    let technique_pages = fetch_step(technique_paths.into_iter().collect(), &mut crawl, true);

    // Framework roots named by capability links, kept when their dataset is selected.
    let mut roots: BTreeMap<String, DatasetKey> = BTreeMap::new();
    for (path, html) in &technique_pages {
        for link in site_links(fetcher, path, html) {
            let Some(root) = FRAMEWORK_ROOT.find(&link).map(|m| m.as_str().to_string()) else {
                continue;
            };
            if let Some(dataset) = dataset_of_external_link(&format!("/{root}")).filter(|d| selection.includes(d)) {
                roots.insert(root, dataset);
            }
        }
    }
    crawl.datasets = roots.values().cloned().collect();

    let landing_pages = fetch_step(roots.keys().cloned().collect(), &mut crawl, true);
    let all_data: Vec<String> = landing_pages
        .iter()
        .filter(|(_, html)| html.contains("class=\"load-all\""))
        .map(|(root, _)| format!("{root}all-data.html"))
        .collect();
    fetch_step(all_data, &mut crawl, false);

    let mapping_files: Vec<String> = roots
        .iter()
        .map(|(root, dataset)| mapping_file_path(root, dataset))
        .collect();
    fetch_step(mapping_files, &mut crawl, false);
    crawl
}

/// `data/{framework}/attack-{v}/{framework}-{version}/{domain}/{framework}-{version}_attack-{v}-{domain}.json`,
/// with the version spelled as in the framework's site path.
fn mapping_file_path(root: &str, dataset: &DatasetKey) -> String {
    let site_version = root
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .and_then(|segment| segment.split_once('-').map(|(_, version)| version))
        .unwrap_or(&dataset.framework_version);
    let (framework, version, attack, domain) = (
        &dataset.framework,
        site_version,
        &dataset.attack_version,
        &dataset.domain,
    );
    format!("data/{framework}/attack-{attack}/{framework}-{version}/{domain}/{framework}-{version}_attack-{attack}-{domain}.json")
}

/// The site paths a page links to: absolute links to the live host or to the configured base, and
/// relative links resolved against the page. Links to other hosts are dropped.
fn site_links(fetcher: &Fetcher, page_path: &str, html: &str) -> Vec<String> {
    let base = fetcher.base_url().as_str();
    HREF.captures_iter(html)
        .filter_map(|c| {
            let href = c[1].trim();
            if let Some(path) = href.strip_prefix(LIVE_BASE_URL).or_else(|| href.strip_prefix(base)) {
                Some(path.to_string())
            } else if href.contains("://") || href.starts_with("//") || href.starts_with('#') {
                None
            } else if let Some(relative) = href.strip_prefix("./") {
                let directory = &page_path[..page_path.rfind('/').map_or(0, |i| i + 1)];
                Some(format!("{directory}{relative}"))
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_files_are_named_with_the_sites_version_spelling() {
        let dataset = dataset_of_external_link("/external/aws/attack-16.1/domain-enterprise/aws-12.12.2024/").unwrap();
        assert_eq!(
            mapping_file_path("external/aws/attack-16.1/domain-enterprise/aws-12.12.2024/", &dataset),
            "data/aws/attack-16.1/aws-12.12.2024/enterprise/aws-12.12.2024_attack-16.1-enterprise.json"
        );
        let nist = dataset_of_external_link("/external/nist/attack-16.1/domain-enterprise/nist-rev5/").unwrap();
        assert_eq!(
            mapping_file_path("external/nist/attack-16.1/domain-enterprise/nist-rev5/", &nist),
            "data/nist_800_53/attack-16.1/nist_800_53-rev5/enterprise/nist_800_53-rev5_attack-16.1-enterprise.json"
        );
    }

    #[test]
    fn a_selection_admits_what_its_lists_name() {
        let nist = dataset_of_external_link("/external/nist/attack-16.1/domain-enterprise/nist-rev5/").unwrap();
        let mut selection = Selection {
            attack_versions: vec!["16.1".into()],
            domains: vec!["enterprise".into()],
            frameworks: vec![],
        };
        assert!(selection.includes(&nist));
        selection.frameworks = vec!["aws".into()];
        assert!(!selection.includes(&nist));
    }
}
