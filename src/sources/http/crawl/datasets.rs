//! The datasets a crawl finds — advertised by their framework page's version selector, linked from
//! technique pages, or both — and, once fetched, whether each arrived complete, stale or not at all.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::links::RefusedLink;
use super::selection::{DatasetSelection, FrameworkReleases};
use super::site_paths::technique_index_path;
use super::FetchFailure;
use crate::identifiers;
use crate::model::DatasetKey;
use crate::sources::site_page::dataset_of_external_link;

/// The selected datasets found so far, by landing page (`external/nist/attack-16.1/domain-enterprise/nist-rev5/`).
#[derive(Debug, Default)]
pub(super) struct Found {
    pub(super) by_landing_page: BTreeMap<String, Finding>,
    /// Every ATT&CK version the site publishes each selected framework for, whatever the selection
    /// of versions and domains.
    attack_versions_by_framework: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug)]
pub(super) struct Finding {
    pub(super) dataset: DatasetKey,
    pub(super) advertised_by: Option<String>,
    linked_from_technique_pages: bool,
}

/// Where a landing page was found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Via {
    FrameworkPage,
    TechniquePage,
}

impl Found {
    /// Keeps `landing_page`, found on `page`, when it names a dataset whose identifiers are safe and
    /// which the selection includes; a dataset with unsafe identifiers is refused (a warning).
    pub(super) fn admit(
        &mut self,
        landing_page: &str,
        page: &str,
        via: Via,
        selection: &DatasetSelection,
        refused: &mut Vec<RefusedLink>,
    ) {
        let Some(dataset) = dataset_of_external_link(&format!("/{landing_page}")) else {
            return;
        };
        if let Err(bad) = identifiers::check_dataset(&dataset) {
            refused.push(RefusedLink {
                page: page.to_string(),
                link: landing_page.chars().take(200).collect(),
                reason: format!("its {}: {}", bad.field, bad.reason),
                into_the_site: true,
            });
            return;
        }
        if selection.includes_framework(&dataset.framework) {
            self.attack_versions_by_framework
                .entry(dataset.framework.clone())
                .or_default()
                .insert(dataset.attack_version.clone());
        }
        if !selection.includes(&dataset) {
            return;
        }
        let finding = self
            .by_landing_page
            .entry(landing_page.to_string())
            .or_insert_with(|| Finding {
                dataset,
                advertised_by: None,
                linked_from_technique_pages: false,
            });
        match via {
            Via::FrameworkPage => {
                finding.advertised_by.get_or_insert_with(|| page.to_string());
            }
            Via::TechniquePage => finding.linked_from_technique_pages = true,
        }
    }

    /// Keeps what the selection keeps of the datasets found: with `latest`, each framework's at its
    /// newest ATT&CK version.
    pub(super) fn narrow(&mut self, selection: &DatasetSelection) {
        let kept = selection.narrowed(self.by_landing_page.values().map(|f| &f.dataset));
        self.by_landing_page
            .retain(|_, finding| kept.contains(&finding.dataset));
    }

    /// Per selected framework, its newest ATT&CK version on the site and the older ones.
    pub(super) fn framework_releases(&self) -> Vec<FrameworkReleases> {
        FrameworkReleases::of(&self.attack_versions_by_framework)
    }

    /// The (ATT&CK version, domain) pairs of the datasets found.
    pub(super) fn attack_versions_and_domains(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = self
            .by_landing_page
            .values()
            .map(|f| (f.dataset.attack_version.clone(), f.dataset.domain.clone()))
            .collect();
        pairs.sort();
        pairs.dedup();
        pairs
    }

    /// Each dataset with the outcome of fetching `paths[landing page]` (its pages and mapping file),
    /// and what the site had to cross-check it with (`not_published`: the technique indexes and
    /// landing pages the site does not publish).
    pub(super) fn outcomes(
        &self,
        paths: &BTreeMap<String, Vec<String>>,
        failures: &[FetchFailure],
        stale: &[FetchFailure],
        not_published: &[FetchFailure],
    ) -> Vec<DatasetFetch> {
        let mut outcomes: Vec<DatasetFetch> = self
            .by_landing_page
            .iter()
            .map(|(landing_page, finding)| {
                let own = paths.get(landing_page).map_or(&[][..], Vec::as_slice);
                let urls_of = |list: &[FetchFailure]| -> Vec<String> {
                    list.iter()
                        .filter(|f| own.contains(&f.site_path))
                        .map(|f| f.url.clone())
                        .collect()
                };
                let (failed, stale) = (urls_of(failures), urls_of(stale));
                let state = if !failed.is_empty() {
                    FetchState::Failed
                } else if !stale.is_empty() {
                    FetchState::Stale
                } else {
                    FetchState::Complete
                };
                let index = technique_index_path(&finding.dataset.attack_version, &finding.dataset.domain);
                let not_published = |path: &str| not_published.iter().any(|page| page.site_path == path);
                let not_cross_checked = if not_published(&index) {
                    Some(format!("no technique pages at {index}"))
                } else if not_published(landing_page) {
                    Some(format!("no landing page at {landing_page}"))
                } else {
                    None
                };
                DatasetFetch {
                    dataset: finding.dataset.to_string(),
                    landing_page: landing_page.clone(),
                    advertised_by: finding.advertised_by.clone(),
                    linked_from_technique_pages: finding.linked_from_technique_pages,
                    state,
                    failed: failed.into_iter().chain(stale).collect(),
                    not_cross_checked,
                }
            })
            .collect();
        outcomes.sort_by(|a, b| a.dataset.cmp(&b.dataset).then(a.landing_page.cmp(&b.landing_page)));
        outcomes
    }
}

/// One dataset of the selection: where the crawl found it and whether it was fetched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetFetch {
    pub dataset: String,
    pub landing_page: String,
    /// The framework page whose version selector lists it (`external/nist/`); `None` for a dataset
    /// only technique pages link to, which the site's framework pages do not advertise (a warning).
    pub advertised_by: Option<String>,
    pub linked_from_technique_pages: bool,
    pub state: FetchState,
    /// The URLs of its pages or mapping file that failed tonight (for `stale`: whose previous good
    /// copy was used).
    pub failed: Vec<String>,
    /// Why the site's technique pages could not cross-check it (`no technique pages at
    /// attack/attack-15.1/domain-mobile/techniques/`): it is published from its mapping file alone.
    /// A fact of the site, not a warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_cross_checked: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchState {
    /// Its landing page, all-data page (when the landing page is cut) and mapping file arrived tonight
    /// or answered 304.
    Complete,
    /// Some of them failed tonight; the previous good copies were used.
    Stale,
    /// Some of them failed with no previous copy: the run fails (or, with `--allow-partial`,
    /// publishes without them).
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;

    const REV4: &str = "external/nist/attack-12.1/domain-enterprise/nist-rev4/";
    const REV5: &str = "external/nist/attack-16.1/domain-enterprise/nist-rev5/";

    #[test]
    fn a_dataset_is_kept_once_with_every_way_it_was_found() {
        let mut found = Found::default();
        let mut refused = Vec::new();
        let all = DatasetSelection::default();
        found.admit(REV5, "external/nist/", Via::FrameworkPage, &all, &mut refused);
        found.admit(REV5, "attack/…/T1562/", Via::TechniquePage, &all, &mut refused);
        found.admit(REV4, "external/nist/", Via::FrameworkPage, &all, &mut refused);
        let failure = FetchFailure {
            url: "http://host/data/rev4.json".into(),
            site_path: "data/rev4.json".into(),
            reason: "404 Not Found".into(),
            not_found: true,
        };
        let paths = BTreeMap::from([(REV4.to_string(), vec!["data/rev4.json".to_string()])]);
        let outcomes = found.outcomes(&paths, &[failure], &[], &[]);
        assert_eq!(outcomes.len(), 2);
        assert_eq!(outcomes[0].dataset, "nist_800_53-rev4_attack-12.1-enterprise");
        assert_eq!(outcomes[0].state, FetchState::Failed);
        assert_eq!(outcomes[0].failed, ["http://host/data/rev4.json"]);
        assert!(!outcomes[0].linked_from_technique_pages);
        assert_eq!(outcomes[1].state, FetchState::Complete);
        assert_eq!(outcomes[1].advertised_by.as_deref(), Some("external/nist/"));
        assert!(outcomes[1].linked_from_technique_pages);
        assert!(refused.is_empty());
    }

    #[test]
    fn an_unselected_or_unsafe_dataset_is_not_kept() {
        let mut found = Found::default();
        let mut refused = Vec::new();
        let only_16_1 = DatasetSelection {
            attack_versions: vec!["16.1".into()],
            ..DatasetSelection::default()
        };
        found.admit(REV4, "external/nist/", Via::FrameworkPage, &only_16_1, &mut refused);
        found.admit(
            "external/nist/attack-16.1/domain-..%2f/nist-rev5/",
            "external/nist/",
            Via::FrameworkPage,
            &only_16_1,
            &mut refused,
        );
        assert!(found.by_landing_page.is_empty());
        assert_eq!(refused.len(), 1);
        assert!(refused[0].into_the_site);
    }
}
