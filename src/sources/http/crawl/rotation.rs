//! A polite night: the technique pages of datasets that did not change are re-fetched on a rotation,
//! not every night. A dataset is unchanged when its mapping file, the framework page that advertises
//! it and its ATT&CK bundle all arrived tonight (a 304, or the same bytes) as the copies `raw/` held;
//! its technique pages can then only differ if the site was rebuilt without data changes. Each night
//! re-fetches the pages whose slot (a stable hash of the site path, modulo `--recheck-days`) is the
//! night's (its day number, modulo the same), so every page is cross-checked within that many nights;
//! the others are used from `raw/`, as a 304 would, and the build cross-checks them as ever.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::super::raw_store::{RawStore, Sidecar};
use super::super::{Fetched, Fetcher};
use super::datasets::Found;
use super::links::site_links;
use super::selection::newest_attack_version_per_framework;
use super::selection::DatasetSelection;
use super::site_paths::LANDING_PAGE;
use super::{attack_bundle_path, Crawl};
use crate::identifiers::compare_attack_versions;
use crate::model::{DatasetKey, Date};
use crate::sources::site_page::dataset_of_external_link;

/// `--recheck-days` by default: every technique page of an unchanged dataset within a week.
pub const DEFAULT_RECHECK_DAYS: u32 = 7;
/// The longest rotation: every page at least once a year.
pub const MAX_RECHECK_DAYS: u32 = 365;

/// Which technique pages of unchanged datasets are due on one night.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    recheck_days: u32,
    /// The run date as days since 1970-01-01.
    night: i64,
}

impl Rotation {
    /// The rotation of `run_date` over `recheck_days` nights (1: every page every night).
    pub fn new(recheck_days: u32, run_date: Date) -> Rotation {
        Rotation {
            recheck_days: recheck_days.max(1),
            night: i64::from(run_date.days_since_epoch()),
        }
    }

    pub fn recheck_days(&self) -> u32 {
        self.recheck_days
    }

    /// Whether the page at `site_path` is re-fetched tonight even if its datasets are unchanged: once
    /// in every `recheck_days` consecutive nights, on the night its slot comes round.
    pub fn is_due(&self, site_path: &str) -> bool {
        let nights = u64::from(self.recheck_days);
        let slot = fnv1a(site_path.as_bytes()) % nights;
        slot == self.night.rem_euclid(nights as i64) as u64
    }
}

/// FNV-1a, 64 bits: a hash that stays the same across runs, builds and platforms (the standard
/// library's does not promise to).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What a night asked of the site, in the manifest and the summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NightCost {
    /// Requests sent to the site (`--base-url`), each attempt and retry counted.
    pub requests: usize,
    pub recheck_days: u32,
    /// Technique pages the technique indexes list.
    pub technique_pages: usize,
    /// Of those, the pages of unchanged datasets not due tonight: used from `raw/`, not requested.
    pub technique_pages_from_raw: usize,
    /// The datasets whose mapping file, framework page and ATT&CK bundle were unchanged tonight.
    pub unchanged_datasets: Vec<String>,
}

impl NightCost {
    /// `site: 62 requests; technique pages: 9 requested, 647 of unchanged datasets used from raw/
    /// (each re-fetched once in 7 nights)`.
    pub fn describe(&self) -> String {
        let requested = self.technique_pages - self.technique_pages_from_raw;
        let mut text = format!(
            "site: {} requests; technique pages: {requested} requested",
            self.requests
        );
        if self.technique_pages_from_raw > 0 {
            text.push_str(&format!(
                ", {} of unchanged datasets used from raw/ (each re-fetched once in {} nights)",
                self.technique_pages_from_raw, self.recheck_days
            ));
        }
        text
    }
}

/// The sha256 of each stored copy before tonight's fetches, from its sidecar (`None`: no copy, or a
/// sidecar without its file).
#[derive(Debug, Default)]
pub(super) struct StoredBefore(BTreeMap<String, Option<String>>);

impl StoredBefore {
    pub(super) fn note<'a>(&mut self, store: &RawStore, site_paths: impl IntoIterator<Item = &'a String>) {
        for site_path in site_paths {
            let digest = store
                .file_of(site_path)
                .ok()
                .filter(|file| file.is_file())
                .and_then(|file| std::fs::read(RawStore::sidecar_of(&file)).ok())
                .and_then(|bytes| serde_json::from_slice::<Sidecar>(&bytes).ok())
                .map(|sidecar| sidecar.sha256);
            self.0.insert(site_path.clone(), digest);
        }
    }
}

/// What each dataset found depends on: its mapping file (`mapping_files[landing page]`), the
/// framework page that advertises it and its ATT&CK bundle.
pub(super) fn sources_of(found: &Found, mapping_files: &BTreeMap<String, String>) -> BTreeMap<DatasetKey, Vec<String>> {
    found
        .by_landing_page
        .iter()
        .map(|(landing_page, finding)| {
            let dataset = &finding.dataset;
            let mut own: Vec<String> = mapping_files.get(landing_page).cloned().into_iter().collect();
            own.extend(finding.advertised_by.clone());
            own.push(attack_bundle_path(&dataset.attack_version, &dataset.domain));
            (dataset.clone(), own)
        })
        .collect()
}

/// The datasets found whose every source (`sources[dataset]`: mapping file, framework page, ATT&CK
/// bundle) arrived tonight, not stale, with the bytes its stored copy had before.
pub(super) fn unchanged_datasets(
    sources: &BTreeMap<DatasetKey, Vec<String>>,
    before: &StoredBefore,
    crawl: &Crawl,
    store: &RawStore,
) -> BTreeSet<DatasetKey> {
    let tonight: BTreeMap<&std::path::Path, &str> = crawl
        .fetched
        .iter()
        .map(|f| (f.path.as_path(), f.sha256.as_str()))
        .collect();
    let stale: BTreeSet<&str> = crawl.stale.iter().map(|f| f.site_path.as_str()).collect();
    let unchanged = |site_path: &String| -> bool {
        let Some(Some(previous)) = before.0.get(site_path) else {
            return false;
        };
        let arrived = store
            .file_of(site_path)
            .ok()
            .and_then(|file| tonight.get(file.as_path()).copied());
        !stale.contains(site_path.as_str()) && arrived == Some(previous.as_str())
    };
    sources
        .iter()
        .filter(|(_, paths)| !paths.is_empty() && paths.iter().all(unchanged))
        .map(|(dataset, _)| dataset.clone())
        .collect()
}

/// Tonight's technique pages: those to request, and those used from `raw/` with their text.
#[derive(Debug, Default)]
pub(super) struct Plan {
    pub(super) due: Vec<String>,
    pub(super) from_raw: Vec<(String, Fetched, String)>,
}

/// Splits `technique_pages` into those due tonight and those used from raw/. A page is used from
/// raw/ only when it is not due on the rotation, has a good stored copy, every dataset found at its
/// ATT&CK version and domain is unchanged (a changed mapping file may add a row to any page of its
/// domain), and every selected dataset its stored copy links to is unchanged (one table per
/// framework: a page serves several datasets).
pub(super) fn plan(
    fetcher: &Fetcher,
    rotation: &Rotation,
    technique_pages: Vec<String>,
    found: &Found,
    unchanged: &BTreeSet<DatasetKey>,
    selection: &DatasetSelection,
) -> Plan {
    let found_datasets: Vec<&DatasetKey> = found.by_landing_page.values().map(|f| &f.dataset).collect();
    let changed_pairs: BTreeSet<(&str, &str)> = found_datasets
        .iter()
        .filter(|d| !unchanged.contains(*d))
        .map(|d| (d.attack_version.as_str(), d.domain.as_str()))
        .collect();
    // A linked dataset counts when the selection keeps it beside those found (with `latest`, a
    // framework's older version is not kept): what `DatasetSelection::narrowed` would keep, with the
    // newest versions found worked out once rather than per link.
    let newest = newest_attack_version_per_framework(found_datasets.iter().copied());
    let selected = |dataset: &DatasetKey| -> bool {
        selection.includes(dataset)
            && (!selection.latest
                || newest
                    .get(dataset.framework.as_str())
                    .is_none_or(|version| compare_attack_versions(&dataset.attack_version, version).is_ge()))
    };
    let mut plan = Plan::default();
    for page in technique_pages {
        let unchanged_pair = pair_of(&page).is_some_and(|pair| !changed_pairs.contains(&pair));
        let stored = (unchanged_pair && !rotation.is_due(&page))
            .then(|| fetcher.stored(&page))
            .flatten()
            .and_then(|stored| Some((std::fs::read_to_string(&stored.path).ok()?, stored)));
        let Some((html, stored)) = stored else {
            plan.due.push(page);
            continue;
        };
        let links_a_changed_dataset = site_links(fetcher, &page, &html)
            .site_paths
            .iter()
            .filter_map(|link| LANDING_PAGE.find(link))
            .filter_map(|landing_page| dataset_of_external_link(&format!("/{}", landing_page.as_str())))
            .any(|dataset| selected(&dataset) && !unchanged.contains(&dataset));
        if links_a_changed_dataset {
            plan.due.push(page);
        } else {
            plan.from_raw.push((page, stored, html));
        }
    }
    plan
}

/// The ATT&CK version and domain of a technique page: `attack/attack-16.1/domain-enterprise/techniques/T1562/`.
fn pair_of(technique_page: &str) -> Option<(&str, &str)> {
    let mut segments = technique_page.split('/');
    let version = segments.nth(1)?.strip_prefix("attack-")?;
    let domain = segments.next()?.strip_prefix("domain-")?;
    Some((version, domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn every_page_is_due_exactly_once_in_any_run_of_recheck_days_nights() {
        let pages: Vec<String> = (1000..1300)
            .map(|n| format!("attack/attack-16.1/domain-enterprise/techniques/T{n}/"))
            .collect();
        let nights = [
            "2026-12-28",
            "2026-12-29",
            "2026-12-30",
            "2026-12-31",
            "2027-01-01",
            "2027-01-02",
            "2027-01-03",
        ];
        let mut due_nights: BTreeMap<&String, usize> = BTreeMap::new();
        for night in nights {
            let rotation = Rotation::new(7, date(night));
            let due = pages.iter().filter(|p| rotation.is_due(p)).count();
            assert!((20..=70).contains(&due), "{night}: {due} of 300 pages, about a seventh");
            for page in pages.iter().filter(|p| rotation.is_due(p)) {
                *due_nights.entry(page).or_default() += 1;
            }
        }
        assert_eq!(due_nights.len(), pages.len(), "every page within 7 nights");
        assert!(due_nights.values().all(|&n| n == 1), "each once");
        let every_night = Rotation::new(1, date("2026-12-28"));
        assert!(pages.iter().all(|p| every_night.is_due(p)), "1: every page every night");
    }

    #[test]
    fn a_pages_night_comes_round_every_recheck_days_nights() {
        let page = "attack/attack-16.1/domain-enterprise/techniques/T1562/";
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c, "FNV-1a's published value for \"a\"");
        let due: Vec<i64> = (20_000..20_021)
            .filter(|&night| Rotation { recheck_days: 7, night }.is_due(page))
            .collect();
        assert_eq!(due.len(), 3, "{due:?}");
        assert_eq!((due[1] - due[0], due[2] - due[1]), (7, 7));
        assert_eq!(
            Rotation::new(7, date("2024-10-05")),
            Rotation {
                recheck_days: 7,
                night: 20_001
            },
            "the run date decides, not the clock"
        );
        assert_eq!(Rotation::new(0, date("2024-10-05")).recheck_days(), 1);
    }

    #[test]
    fn a_technique_pages_version_and_domain_come_from_its_path() {
        assert_eq!(
            pair_of("attack/attack-16.1/domain-enterprise/techniques/T1562.001/"),
            Some(("16.1", "enterprise"))
        );
        assert_eq!(pair_of("external/nist/"), None);
    }
}
