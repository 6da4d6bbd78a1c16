//! Which datasets a run is about: ATT&CK versions (or each framework's newest), domains and
//! frameworks, each list empty for "all".

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::identifiers::{self, compare_attack_versions};
use crate::model::DatasetKey;

/// Which datasets a run is about. An empty list selects every value (`--attack-version all`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DatasetSelection {
    pub attack_versions: Vec<String>,
    /// `--attack-version latest` (the default): each framework at the newest ATT&CK version the site
    /// publishes it for, every domain and framework version published there; `attack_versions` is
    /// then empty, and [`DatasetSelection::narrowed`] keeps the newest of what is found.
    pub latest: bool,
    /// ATT&CK versions whose bundles the crawl also fetches, in the domains of the datasets found,
    /// though no selected dataset is at them: `--carry-to`'s target.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub carried_to: Vec<String>,
    pub domains: Vec<String>,
    pub frameworks: Vec<String>,
}

impl DatasetSelection {
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

    /// Of `datasets` (all of them included), those the selection keeps: with `latest`, each
    /// framework's datasets at its newest ATT&CK version; else every one.
    pub fn narrowed<'a>(&self, datasets: impl Iterator<Item = &'a DatasetKey>) -> BTreeSet<DatasetKey> {
        let datasets: Vec<&DatasetKey> = datasets.collect();
        if !self.latest {
            return datasets.into_iter().cloned().collect();
        }
        let newest = newest_attack_version_per_framework(datasets.iter().copied());
        datasets
            .into_iter()
            .filter(|d| newest.get(d.framework.as_str()) == Some(&d.attack_version.as_str()))
            .cloned()
            .collect()
    }

    pub fn includes(&self, dataset: &DatasetKey) -> bool {
        self.includes_attack_version(&dataset.attack_version)
            && self.includes_domain(&dataset.domain)
            && self.includes_framework(&dataset.framework)
    }

    fn includes_attack_version(&self, version: &str) -> bool {
        admits(&self.attack_versions, version)
    }

    pub fn includes_domain(&self, domain: &str) -> bool {
        admits(&self.domains, domain)
    }

    pub fn includes_framework(&self, framework: &str) -> bool {
        admits(&self.frameworks, framework)
    }
}

fn admits(list: &[String], value: &str) -> bool {
    list.is_empty() || list.iter().any(|v| v == value)
}

/// Each framework's newest ATT&CK version among `datasets`.
pub(super) fn newest_attack_version_per_framework<'a>(
    datasets: impl Iterator<Item = &'a DatasetKey>,
) -> BTreeMap<&'a str, &'a str> {
    let mut newest: BTreeMap<&str, &str> = BTreeMap::new();
    for dataset in datasets {
        let version = newest
            .entry(dataset.framework.as_str())
            .or_insert(&dataset.attack_version);
        if compare_attack_versions(&dataset.attack_version, version) == Ordering::Greater {
            *version = &dataset.attack_version;
        }
    }
    newest
}

/// One framework's ATT&CK releases on the site: the newest (its current picture) and the older ones
/// the site still publishes, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameworkReleases {
    pub framework: String,
    pub current: String,
    pub older: Vec<String>,
}

impl FrameworkReleases {
    /// Per framework (in id order), from the ATT&CK versions it is published for.
    pub fn of(versions: &BTreeMap<String, BTreeSet<String>>) -> Vec<FrameworkReleases> {
        versions
            .iter()
            .filter_map(|(framework, versions)| {
                let mut versions: Vec<&String> = versions.iter().collect();
                versions.sort_by(|a, b| compare_attack_versions(b, a));
                let (current, older) = versions.split_first()?;
                Some(FrameworkReleases {
                    framework: framework.clone(),
                    current: current.to_string(),
                    older: older.iter().map(|v| v.to_string()).collect(),
                })
            })
            .collect()
    }

    /// `16.1 (also published: 15.1, 14.1)`.
    pub fn describe(&self) -> String {
        if self.older.is_empty() {
            self.current.clone()
        } else {
            format!("{} (also published: {})", self.current, self.older.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::site_page::dataset_of_external_link;

    #[test]
    fn a_selection_admits_what_its_lists_name() {
        let nist = dataset_of_external_link("/external/nist/attack-16.1/domain-enterprise/nist-rev5/").unwrap();
        let mut selection = DatasetSelection {
            attack_versions: vec!["16.1".into()],
            domains: vec!["enterprise".into()],
            ..DatasetSelection::default()
        };
        assert!(selection.includes(&nist));
        selection.frameworks = vec!["aws".into()];
        assert!(!selection.includes(&nist));
        assert!(
            DatasetSelection::default().includes(&nist),
            "empty lists select everything"
        );
    }

    fn key(framework: &str, attack_version: &str, domain: &str) -> DatasetKey {
        DatasetKey {
            framework: framework.into(),
            framework_version: "v1".into(),
            attack_version: attack_version.into(),
            domain: domain.into(),
        }
    }

    #[test]
    fn latest_keeps_each_framework_at_its_newest_attack_version_in_every_domain() {
        let found = [
            key("nist_800_53", "8.2", "enterprise"),
            key("nist_800_53", "16.1", "enterprise"),
            key("kev", "15.1", "mobile"),
            key("kev", "16.1", "enterprise"),
            key("kev", "16.1", "mobile"),
            key("csa_ccm", "17.1", "enterprise"),
        ];
        let latest = DatasetSelection {
            latest: true,
            ..DatasetSelection::default()
        };
        let kept: Vec<String> = latest.narrowed(found.iter()).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            kept,
            [
                "csa_ccm-v1_attack-17.1-enterprise",
                "kev-v1_attack-16.1-enterprise",
                "kev-v1_attack-16.1-mobile",
                "nist_800_53-v1_attack-16.1-enterprise"
            ]
        );
        assert_eq!(
            DatasetSelection::default().narrowed(found.iter()).len(),
            6,
            "all keeps everything"
        );
    }

    #[test]
    fn attack_versions_compare_as_releases_not_as_text() {
        assert_eq!(compare_attack_versions("8.2", "16.1"), Ordering::Less);
        assert_eq!(compare_attack_versions("18.1", "17.1"), Ordering::Greater);
        let versions = BTreeMap::from([(
            "nist_800_53".to_string(),
            BTreeSet::from(["8.2".to_string(), "16.1".to_string(), "10.1".to_string()]),
        )]);
        let releases = FrameworkReleases::of(&versions);
        assert_eq!(releases[0].current, "16.1");
        assert_eq!(releases[0].older, ["10.1", "8.2"]);
        assert_eq!(releases[0].describe(), "16.1 (also published: 10.1, 8.2)");
    }
}
