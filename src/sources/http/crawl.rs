//! Discovers what to fetch from the site itself: each selected technique index → every technique
//! page → the framework landing pages their capability links name (→ the all-data page when the
//! landing page is cut) → the framework's mapping file. Links are absolute to the live host: they are
//! mapped onto the configured base URL, and links to any other host are never followed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::raw_store::check_site_path;
use super::{FetchFailure, Fetched, Fetcher};
use crate::identifiers;
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
    /// Every selector matches the pattern of its field (`--domain ../x` is refused before any
    /// request is made), as `--flag value: reason` when one does not.
    pub fn check(&self) -> Result<(), String> {
        let lists: [(&'static str, &str, &[String]); 3] = [
            ("attack_version", "attack-version", &self.attack_versions),
            ("domain", "domain", &self.domains),
            ("framework", "framework", &self.frameworks),
        ];
        for (field, flag, values) in lists {
            for value in values {
                identifiers::check_selector(field, value)
                    .map_err(|bad| format!("--{flag} {}: {}", identifiers::shown(value), bad.reason))?;
            }
        }
        Ok(())
    }

    /// The selectors that match none of `datasets`, as `--flag value`: a typo (`nist_800_53x`)
    /// would otherwise select nothing and publish an empty table.
    pub fn unmatched<'a>(&self, datasets: impl Iterator<Item = &'a DatasetKey> + Clone) -> Vec<String> {
        let mut unmatched = Vec::new();
        let mut check = |flag: &str, values: &[String], field: fn(&DatasetKey) -> &str| {
            for value in values {
                if !datasets.clone().any(|d| field(d) == value) {
                    unmatched.push(format!("--{flag} {value}"));
                }
            }
        };
        check("attack-version", &self.attack_versions, |d| &d.attack_version);
        check("domain", &self.domains, |d| &d.domain);
        check("framework", &self.frameworks, |d| &d.framework);
        unmatched
    }

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
    /// Links that were not followed because they are unsafe: another scheme (`javascript:`,
    /// `file:` …), or a site link whose path or dataset could leave raw/.
    pub refused_links: Vec<RefusedLink>,
    /// Links to other hosts (documentation, fonts): never followed, only counted.
    pub off_host_links: usize,
    /// URLs that failed tonight, twice, whose previous good copy in raw/ is used instead.
    pub stale: Vec<FetchFailure>,
    /// ATT&CK bundles neither the site nor `--attack-url` served: their datasets export with
    /// stand-in attack-patterns (a warning, not a failure).
    pub missing_catalogues: Vec<FetchFailure>,
}

/// A link found in a page and not followed, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RefusedLink {
    pub page: String,
    pub link: String,
    pub reason: String,
    /// A link into the site whose path or dataset could leave raw/ or out/: a warning (exit 3).
    /// Links of another scheme are only listed: real references carry `chrome-extension:` ones.
    pub into_the_site: bool,
}

/// The links of one page: the site paths to follow, and what was not followed.
#[derive(Debug, Default)]
struct PageLinks {
    site_paths: Vec<String>,
    refused: Vec<RefusedLink>,
    off_host: usize,
}

impl Crawl {
    /// A page's links to follow; the rest is recorded.
    fn follow(&mut self, fetcher: &Fetcher, page: &str, html: &str) -> Vec<String> {
        let links = site_links(fetcher, page, html);
        self.refused_links.extend(links.refused);
        self.off_host_links += links.off_host;
        links.site_paths
    }
}

static HREF: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"href\s*=\s*["']?\s*([^"'\s>]+)"#).unwrap());
static TECHNIQUE_PAGE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^attack/attack-[^/]+/domain-[^/]+/techniques/T\d{4}(\.\d{3})?/$").unwrap());
static FRAMEWORK_ROOT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^external/[^/]+/attack-[^/]+/domain-[^/]+/[^/]+/").unwrap());

pub fn crawl(fetcher: &Fetcher, selection: &Selection, progress: &indicatif::ProgressBar) -> Crawl {
    let mut crawl = Crawl::default();
    // Fetches a step's paths, then once more those that failed (after the others: a server that
    // was briefly down has had time to recover). A path that still fails falls back to its previous
    // good copy, marked stale; without one it is a failure. Reads back the text only of the pages
    // whose links lead further.
    let fetch_step = |paths: Vec<String>, crawl: &mut Crawl, read_links: bool| -> Vec<(String, String)> {
        progress.inc_length(paths.len() as u64);
        let mut done = Vec::new();
        let mut failed = Vec::new();
        for (path, result) in paths.iter().zip(fetcher.fetch_all(&paths, progress)) {
            match result {
                Ok(fetched) => done.push((path.clone(), fetched)),
                Err(_) => failed.push(path.clone()),
            }
        }
        progress.inc_length(failed.len() as u64);
        for (path, result) in failed.iter().zip(fetcher.fetch_all(&failed, progress)) {
            match (result, fetcher.stored(path)) {
                (Ok(fetched), _) => done.push((path.clone(), fetched)),
                (Err(failure), Some(previous)) => {
                    tracing::warn!(url = %failure.url, reason = %failure.reason, "using the previous copy");
                    crawl.stale.push(failure);
                    done.push((path.clone(), previous));
                }
                (Err(failure), None) => crawl.failures.push(failure),
            }
        }
        done.sort_by(|a, b| a.0.cmp(&b.0));
        let mut pages = Vec::new();
        for (path, fetched) in done {
            if read_links {
                let text = std::fs::read_to_string(&fetched.path).unwrap_or_default();
                pages.push((path, text));
            }
            crawl.fetched.push(fetched);
        }
        pages
    };

    // ATT&CK itself, as the site publishes the data it rendered from: every domain of a selected
    // version, since a dataset cites techniques of other domains (NIST rev5 16.1 Enterprise maps the
    // Mobile T1521.003), which only those domains' bundles can name. (version, domain, site path).
    let bundles: Vec<(&str, &str, String)> = selection
        .attack_versions
        .iter()
        .flat_map(|version| {
            crate::identifiers::DOMAINS
                .iter()
                .map(move |domain| (version.as_str(), *domain, attack_bundle_path(version, domain)))
        })
        .collect();
    fetch_step(bundles.iter().map(|b| b.2.clone()).collect(), &mut crawl, false);
    // A bundle neither the site nor `--attack-url` serves is no failed night: its datasets export
    // with stand-ins, and a warning. Only the selected domains' bundles are tonight's catalogues;
    // another domain's only names the few techniques they borrow from it.
    let (missing, failures): (Vec<FetchFailure>, Vec<FetchFailure>) = crawl
        .failures
        .drain(..)
        .partition(|f| bundles.iter().any(|b| b.2 == f.site_path));
    crawl.failures = failures;
    for failure in missing {
        let (version, domain, path) = bundles
            .iter()
            .find(|b| b.2 == failure.site_path)
            .expect("partitioned above");
        let failures = match fetch_from_second_source(fetcher, version, domain, path) {
            Some(Ok(fetched)) => {
                crawl.fetched.push(fetched);
                continue;
            }
            Some(Err(second)) => vec![failure, second],
            None => vec![failure],
        };
        if selection.domains.iter().any(|d| d == domain) {
            crawl.missing_catalogues.extend(failures);
        } else {
            tracing::info!(url = %failures[0].url, "no ATT&CK bundle of an unselected domain: its techniques stay unknown");
        }
    }
    let mut indexes = Vec::new();
    for version in &selection.attack_versions {
        for domain in &selection.domains {
            indexes.push(format!("attack/attack-{version}/domain-{domain}/techniques/"));
        }
    }
    let index_pages = fetch_step(indexes, &mut crawl, true);
    let mut technique_paths = BTreeSet::new();
    for (path, html) in &index_pages {
        let links = crawl.follow(fetcher, path, html);
        technique_paths.extend(links.into_iter().filter(|link| TECHNIQUE_PAGE.is_match(link)));
    }
    let technique_pages = fetch_step(technique_paths.into_iter().collect(), &mut crawl, true);

    // Framework roots named by capability links, kept when their dataset is selected.
    let mut roots: BTreeMap<String, DatasetKey> = BTreeMap::new();
    for (path, html) in &technique_pages {
        for link in crawl.follow(fetcher, path, html) {
            let Some(root) = FRAMEWORK_ROOT.find(&link).map(|m| m.as_str().to_string()) else {
                continue;
            };
            let Some(dataset) = dataset_of_external_link(&format!("/{root}")) else {
                continue;
            };
            if let Err(bad) = identifiers::check_dataset(&dataset) {
                crawl.refused_links.push(RefusedLink {
                    page: path.clone(),
                    link,
                    reason: format!("its {}: {}", bad.field, bad.reason),
                    into_the_site: true,
                });
            } else if selection.includes(&dataset) {
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

/// Where the site publishes an ATT&CK bundle: `data/attack/enterprise-attack-16.1.json`.
pub fn attack_bundle_path(version: &str, domain: &str) -> String {
    format!("data/attack/{domain}-attack-{version}.json")
}

/// Fetches an ATT&CK bundle from `--attack-url` (another host, with a fetcher of its own) into the
/// bundle's site path; `None` without that setting.
fn fetch_from_second_source(
    fetcher: &Fetcher,
    version: &str,
    domain: &str,
    site_path: &str,
) -> Option<Result<Fetched, FetchFailure>> {
    let template = fetcher.settings().attack_url.as_deref()?;
    let url = template.replace("{domain}", domain).replace("{version}", version);
    let failed = |reason: String| FetchFailure {
        url: url.clone(),
        site_path: site_path.to_string(),
        reason,
    };
    let origin = match reqwest::Url::parse(&url) {
        Ok(parsed) => parsed.join("/").map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let second = origin.and_then(|origin| {
        let mut settings = fetcher.settings().clone();
        settings.base_url = origin;
        Fetcher::new(settings, fetcher.store.root.clone()).map_err(|e| e.to_string())
    });
    Some(match second {
        Ok(second) => second.fetch_from(url.clone(), site_path),
        Err(reason) => Err(failed(format!("--attack-url: {reason}"))),
    })
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
/// `./` links resolved against the page, each checked by [`check_site_path`]. Links with another
/// scheme (`javascript:`, `file:`, `data:` …) and site links that fail the check are refused and
/// reported; links to other hosts are counted; fragments, `mailto:` and other relative links (script
/// templates among them) are ignored.
fn site_links(fetcher: &Fetcher, page_path: &str, html: &str) -> PageLinks {
    let base = fetcher.base_url().as_str();
    let mut links = PageLinks::default();
    let mut refuse = |link: &str, reason: String, into_the_site: bool| {
        links.refused.push(RefusedLink {
            page: page_path.to_string(),
            link: link.chars().take(200).collect(),
            reason,
            into_the_site,
        })
    };
    let mut site_paths = Vec::new();
    let mut off_host = 0;
    for captures in HREF.captures_iter(html) {
        let href = captures[1].trim();
        let site_path = if let Some(path) = href.strip_prefix(LIVE_BASE_URL).or_else(|| href.strip_prefix(base)) {
            path.to_string()
        } else if let Some(relative) = href.strip_prefix("./") {
            let directory = &page_path[..page_path.rfind('/').map_or(0, |i| i + 1)];
            format!("{directory}{relative}")
        } else {
            match scheme_of(href).as_deref() {
                Some("http" | "https") => off_host += 1,
                Some(other) if other != "mailto" => {
                    refuse(href, format!("a {other}: link is never followed"), false);
                }
                _ if href.starts_with("//") => off_host += 1,
                _ => {}
            }
            continue;
        };
        match check_site_path(&site_path) {
            Ok(()) => site_paths.push(site_path),
            Err(reason) => refuse(href, format!("a site path with {reason}"), true),
        }
    }
    links.site_paths = site_paths;
    links.off_host = off_host;
    links
}

/// The scheme of a URL (`javascript` of `javascript:alert(1)`, lower-cased), if it has one.
fn scheme_of(href: &str) -> Option<String> {
    let (scheme, _) = href.split_once(':')?;
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    is_scheme.then(|| scheme.to_ascii_lowercase())
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
