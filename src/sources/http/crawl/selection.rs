//! Which datasets a run is about: ATT&CK versions, domains and frameworks, each list empty for "all".

use serde::Serialize;

use crate::identifiers;
use crate::model::DatasetKey;

/// Which datasets a run is about. An empty list selects every value (`--attack-version all`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DatasetSelection {
    pub attack_versions: Vec<String>,
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
            frameworks: vec![],
        };
        assert!(selection.includes(&nist));
        selection.frameworks = vec!["aws".into()];
        assert!(!selection.includes(&nist));
        assert!(
            DatasetSelection::default().includes(&nist),
            "empty lists select everything"
        );
    }
}
