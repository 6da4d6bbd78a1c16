//! Discovers what to fetch from the site itself. Two ways lead to a dataset, and the crawl takes both:
//! the frameworks page (`external/`) → each selected framework's page, whose version selector
//! advertises every dataset the site publishes; and each selected technique index → every technique
//! page → the landing pages their capability links name. Then each dataset's landing page (→ its
//! all-data page when the landing page is cut) → its mapping file. The ATT&CK bundles and the mapping
//! files of the datasets framework pages advertise are fetched before the technique pages: the
//! technique pages of datasets that did not change are re-fetched on a rotation ([`rotation`]). Links
//! are absolute to the live host: they are mapped onto the configured base URL, and links to any
//! other host are never followed.

mod catalogues;
mod datasets;
mod links;
mod not_published;
mod rotation;
mod selection;
mod site_paths;

use crate::escape::terminal;
use std::collections::{BTreeMap, BTreeSet};

use super::{FetchFailure, Fetched, Fetcher};
use crate::model::Date;
use crate::sources::site_page::{advertised_landing_pages, framework_of_page};
pub use catalogues::attack_bundle_path;
use catalogues::fetch_catalogues;
pub use datasets::{DatasetFetch, FetchState};
use datasets::{Found, Via};
use links::site_links;
pub use links::RefusedLink;
use not_published::{landing_pages_a_mapping_file_stands_for, take_not_found};
use rotation::StoredBefore;
pub use rotation::{NightCost, Rotation, DEFAULT_RECHECK_DAYS, MAX_RECHECK_DAYS};
pub use selection::{DatasetSelection, FrameworkReleases};
use site_paths::{mapping_file_path, technique_index_path, LANDING_PAGE, TECHNIQUE_PAGE};

/// The site's list of mapping frameworks, whose links lead to each framework's page.
pub const FRAMEWORKS_PAGE: &str = "external/";

/// Everything one crawl fetched, what failed, and the datasets it found.
#[derive(Debug, Default)]
pub struct Crawl {
    pub fetched: Vec<Fetched>,
    pub failures: Vec<FetchFailure>,
    /// Every selected dataset the site advertises or links to, and whether it was fetched.
    pub datasets: Vec<DatasetFetch>,
    /// Per selected framework, the ATT&CK version the site publishes it for as current (its newest)
    /// and the older ones it still publishes.
    pub framework_releases: Vec<FrameworkReleases>,
    /// Links that were not followed because they are unsafe: another scheme (`javascript:`,
    /// `file:` …), or a site link whose path or dataset could leave raw/.
    pub refused_links: Vec<RefusedLink>,
    /// Links to other hosts (documentation, fonts): never followed, only counted.
    pub off_host_links: usize,
    /// URLs that failed tonight, twice, whose previous good copy in raw/ is used instead.
    pub stale: Vec<FetchFailure>,
    /// ATT&CK bundles neither the site nor `--attack-url` served that a selected dataset needs (its
    /// own ATT&CK version and domain): its datasets export with stand-in attack-patterns (a warning,
    /// not a failure). A missing bundle no selected dataset is of is only logged.
    pub missing_catalogues: Vec<FetchFailure>,
    /// Technique indexes the site does not publish (404): the datasets of that ATT&CK version and
    /// domain are published from their mapping files without the technique pages' cross-check (the
    /// site publishes KEV's Mobile 15.1 mapping file, and no Mobile 15.1 technique page). A fact of
    /// the site, told per dataset, not a warning.
    pub technique_indexes_missing: Vec<FetchFailure>,
    /// Landing pages the site does not publish (404 or 410) of datasets whose mapping file arrived:
    /// the mapping file supplies the dataset, which is published, not cross-checked.
    pub landing_pages_missing: Vec<FetchFailure>,
    /// What the night asked of the site: requests, and the technique pages the rotation left in raw/.
    pub night: NightCost,
}

impl Crawl {
    /// A page's links to follow; the rest is recorded.
    fn follow(&mut self, fetcher: &Fetcher, page: &str, html: &str) -> Vec<String> {
        let links = site_links(fetcher, page, html);
        self.refused_links.extend(links.refused);
        self.off_host_links += links.off_host;
        links.site_paths
    }

    /// Drops what the crawl did with `site_paths`: fetched, failed or stale.
    fn forget(&mut self, store: &super::raw_store::RawStore, site_paths: &BTreeSet<String>) {
        if site_paths.is_empty() {
            return;
        }
        let files: BTreeSet<std::path::PathBuf> = site_paths.iter().filter_map(|p| store.file_of(p).ok()).collect();
        self.fetched.retain(|f| !files.contains(&f.path));
        self.failures.retain(|f| !site_paths.contains(&f.site_path));
        self.stale.retain(|f| !site_paths.contains(&f.site_path));
    }

    /// The selected datasets that could not be fetched, as `dataset (advertised by page)`.
    pub fn failed_datasets(&self) -> Vec<String> {
        self.datasets
            .iter()
            .filter(|d| d.state == FetchState::Failed)
            .map(|d| match &d.advertised_by {
                Some(page) => format!("{} (advertised by {page})", d.dataset),
                None => d.dataset.clone(),
            })
            .collect()
    }

    /// The datasets technique pages link to that no framework page advertises: the site's two
    /// indexes disagree (a warning).
    pub fn unadvertised_datasets(&self) -> Vec<&DatasetFetch> {
        self.datasets.iter().filter(|d| d.advertised_by.is_none()).collect()
    }
}

/// Crawls the selection; `run_date` places the night on the rotation of technique pages ([`Rotation`]).
pub fn crawl(
    fetcher: &Fetcher,
    selection: &DatasetSelection,
    run_date: Date,
    progress: &indicatif::ProgressBar,
) -> Crawl {
    let mut crawl = Crawl::default();
    let removed = fetcher.store.remove_stale_temporaries();
    if removed > 0 {
        tracing::warn!(
            removed,
            raw = %fetcher.store.root.display(),
            "removed temporary files that runs killed mid-write left in raw/"
        );
    }
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
                    tracing::warn!(url = %terminal(&failure.url), reason = %terminal(&failure.reason), "using the previous copy");
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
    let mut found = Found::default();

    // What the site advertises: the frameworks page → each selected framework's page → the datasets
    // of its version selector.
    let frameworks_page = fetch_step(vec![FRAMEWORKS_PAGE.to_string()], &mut crawl, true);
    let mut framework_pages = BTreeSet::new();
    for (path, html) in &frameworks_page {
        for link in crawl.follow(fetcher, path, html) {
            let selected = framework_of_page(&link)
                .is_some_and(|site_id| selection.includes_framework(&crate::frameworks::id_from_site_id(site_id)));
            if selected {
                framework_pages.insert(link);
            }
        }
    }
    let framework_pages: Vec<String> = framework_pages.into_iter().collect();
    let mut before = StoredBefore::default();
    before.note(&fetcher.store, &framework_pages);
    for (page, html) in fetch_step(framework_pages, &mut crawl, true) {
        for landing_page in advertised_landing_pages(&page, &html) {
            found.admit(
                &landing_page,
                &page,
                Via::FrameworkPage,
                selection,
                &mut crawl.refused_links,
            );
        }
    }

    // With `latest`, each framework at its newest ATT&CK version advertised.
    found.narrow(selection);
    // The ATT&CK versions and domains to read technique pages of: those of the datasets advertised,
    // and those named explicitly (a version and a domain both listed).
    let mut pairs: BTreeSet<(String, String)> = found.attack_versions_and_domains().into_iter().collect();
    pairs.extend(
        selection
            .attack_versions
            .iter()
            .flat_map(|v| selection.domains.iter().map(move |d| (v.clone(), d.clone()))),
    );
    // ATT&CK, then the mapping files of the datasets advertised, before the technique pages: a
    // dataset whose mapping file, framework page and bundle are all unchanged has its technique pages
    // re-fetched on the rotation only. The datasets technique pages alone link to are a warning of
    // their own; their bundles are those of the pairs above.
    let mut needed: BTreeSet<(String, String)> = found.attack_versions_and_domains().into_iter().collect();
    let carried_to: BTreeSet<(String, String)> = selection
        .carried_to
        .iter()
        .flat_map(|target| needed.iter().map(move |(_, domain)| (target.clone(), domain.clone())))
        .collect();
    needed.extend(carried_to);
    let versions: BTreeSet<&str> = pairs.iter().chain(&needed).map(|(v, _)| v.as_str()).collect();
    let bundles: Vec<String> = versions
        .iter()
        .flat_map(|version| {
            crate::identifiers::DOMAINS
                .iter()
                .map(|domain| attack_bundle_path(version, domain))
        })
        .collect();
    before.note(&fetcher.store, &bundles);
    fetch_catalogues(fetcher, &needed, &versions, &mut crawl, &fetch_step);
    let advertised_files: BTreeMap<String, String> = found
        .by_landing_page
        .iter()
        .map(|(landing_page, finding)| (landing_page.clone(), mapping_file_path(landing_page, &finding.dataset)))
        .collect();
    before.note(&fetcher.store, advertised_files.values());
    fetch_step(advertised_files.values().cloned().collect(), &mut crawl, false);
    let sources = rotation::sources_of(&found, &advertised_files);
    let unchanged = rotation::unchanged_datasets(&sources, &before, &crawl, &fetcher.store);

    let indexes = pairs
        .iter()
        .map(|(version, domain)| technique_index_path(version, domain))
        .collect();
    let earlier_failures = crawl.failures.len();
    let index_pages = fetch_step(indexes, &mut crawl, true);
    crawl.technique_indexes_missing = take_not_found(&mut crawl.failures, earlier_failures);
    for missing in &crawl.technique_indexes_missing {
        tracing::info!(url = %terminal(&missing.url), "no technique pages: the datasets of this ATT&CK version and domain are published from their mapping files, not cross-checked");
    }
    let mut technique_paths = BTreeSet::new();
    for (path, html) in &index_pages {
        let links = crawl.follow(fetcher, path, html);
        technique_paths.extend(links.into_iter().filter(|link| TECHNIQUE_PAGE.is_match(link)));
    }
    let rotation = Rotation::new(fetcher.settings().recheck_days, run_date);
    let technique_paths: Vec<String> = technique_paths.into_iter().collect();
    crawl.night.technique_pages = technique_paths.len();
    let plan = rotation::plan(fetcher, &rotation, technique_paths, &found, &unchanged, selection);
    let mut technique_pages = fetch_step(plan.due, &mut crawl, true);
    crawl.night.technique_pages_from_raw = plan.from_raw.len();
    for (page, stored, html) in plan.from_raw {
        crawl.fetched.push(stored);
        technique_pages.push((page, html));
    }
    technique_pages.sort_by(|a, b| a.0.cmp(&b.0));
    for (page, html) in &technique_pages {
        for link in crawl.follow(fetcher, page, html) {
            if let Some(landing_page) = LANDING_PAGE.find(&link) {
                found.admit(
                    landing_page.as_str(),
                    page,
                    Via::TechniquePage,
                    selection,
                    &mut crawl.refused_links,
                );
            }
        }
    }

    // A framework only technique pages name is narrowed to its newest version too; one they name at an
    // older version than its framework page advertises leaves the selection again.
    found.narrow(selection);
    crawl.framework_releases = found.framework_releases();
    // A mapping file fetched early for a dataset that has left the selection was not tonight's to fetch.
    let left: BTreeSet<String> = advertised_files
        .iter()
        .filter(|(landing_page, _)| !found.by_landing_page.contains_key(*landing_page))
        .map(|(_, file)| file.clone())
        .collect();
    crawl.forget(&fetcher.store, &left);

    // Each dataset's landing page, all-data page when the landing page is cut, and mapping file.
    let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let landing_pages = fetch_step(found.by_landing_page.keys().cloned().collect(), &mut crawl, true);
    let mut all_data = Vec::new();
    for (landing_page, html) in &landing_pages {
        if html.contains("class=\"load-all\"") {
            let page = format!("{landing_page}all-data.html");
            paths.entry(landing_page.clone()).or_default().push(page.clone());
            all_data.push(page);
        }
    }
    fetch_step(all_data, &mut crawl, false);
    let mut mapping_files = Vec::new();
    for (landing_page, finding) in &found.by_landing_page {
        let file = mapping_file_path(landing_page, &finding.dataset);
        let own = paths.entry(landing_page.clone()).or_default();
        own.extend([landing_page.clone(), file.clone()]);
        if !advertised_files.contains_key(landing_page) {
            mapping_files.push(file);
        }
    }
    fetch_step(mapping_files, &mut crawl, false);
    crawl.landing_pages_missing = landing_pages_a_mapping_file_stands_for(&mut crawl.failures, &paths);
    for missing in &crawl.landing_pages_missing {
        tracing::info!(url = %terminal(&missing.url), "no landing page: its dataset is published from its mapping file, not cross-checked");
    }
    let not_published = [&crawl.technique_indexes_missing[..], &crawl.landing_pages_missing[..]].concat();
    crawl.datasets = found.outcomes(&paths, &crawl.failures, &crawl.stale, &not_published);
    crawl.night.recheck_days = rotation.recheck_days();
    crawl.night.unchanged_datasets = unchanged.iter().map(ToString::to_string).collect();
    crawl.night.requests = fetcher.requests_sent();
    crawl
}
