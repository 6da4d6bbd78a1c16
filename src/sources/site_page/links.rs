//! Reads the dataset a page row belongs to from its capability link (`…/external/nist/attack-16.1/domain-enterprise/nist-rev5/SC-08/`).

use crate::model::DatasetKey;
use crate::transforms::normalize;

/// A dataset as a link into a framework's part of the site names it, in the site's own spelling:
/// `external/{site_framework}/attack-{attack_version}/domain-{domain}/{site_framework}-{site_version}/`.
/// The site's framework id may differ from the mapping files' (`nist` for `nist_800_53`) and may hold
/// a hyphen (`intel-vpro`): the version is what follows the framework id the link itself names,
/// never what follows the segment's first hyphen (`intel-vpro-08.20.2024` is version `08.20.2024`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteDataset<'a> {
    pub site_framework: &'a str,
    pub attack_version: &'a str,
    pub domain: &'a str,
    /// The framework version as the site's paths spell it (`08.20.2024`, `rev5`).
    pub site_version: &'a str,
}

impl SiteDataset<'_> {
    /// The dataset in the mapping files' terms: their framework id, the version normalized.
    pub fn key(&self) -> DatasetKey {
        DatasetKey {
            framework: crate::frameworks::id_from_site_id(self.site_framework),
            framework_version: normalize::framework_version(self.site_version),
            attack_version: self.attack_version.to_string(),
            domain: normalize::domain(self.domain),
        }
    }
}

/// The dataset a link into a framework's part of the site names, in the site's spelling, if the link is one.
pub fn site_dataset_of_external_link(href: &str) -> Option<SiteDataset<'_>> {
    let (_, rest) = href.trim().split_once("/external/")?;
    let mut segments = rest.split('/');
    let site_framework = segments.next()?;
    let attack_version = segments.next()?.strip_prefix("attack-")?;
    let domain = segments.next()?.strip_prefix("domain-")?;
    let site_version = segments.next()?.strip_prefix(site_framework)?.strip_prefix('-')?;
    if site_framework.is_empty() || attack_version.is_empty() || site_version.is_empty() {
        return None;
    }
    Some(SiteDataset {
        site_framework,
        attack_version,
        domain,
        site_version,
    })
}

/// The dataset named by a link into a framework's part of the site, if the link is one.
pub fn dataset_of_external_link(href: &str) -> Option<DatasetKey> {
    site_dataset_of_external_link(href).map(|site| site.key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_links_name_framework_version_and_attack() {
        let key = dataset_of_external_link(
            "\n  https://center-for-threat-informed-defense.github.io/mappings-explorer/external/nist/attack-16.1/domain-enterprise/nist-rev5/SC-08/",
        )
        .unwrap();
        assert_eq!(key.to_string(), "nist_800_53-rev5_attack-16.1-enterprise");
        let aws = dataset_of_external_link(
            "http://127.0.0.1:8000/external/aws/attack-16.1/domain-enterprise/aws-12.12.2024/x/",
        );
        assert_eq!(aws.unwrap().framework_version, "12.12.2024");
    }

    #[test]
    fn a_framework_id_with_a_hyphen_keeps_its_hyphen_and_its_version() {
        let href = "https://center-for-threat-informed-defense.github.io/mappings-explorer/external/intel-vpro/attack-15.1/domain-enterprise/intel-vpro-08.20.2024/intel-aes-ni/";
        let site = site_dataset_of_external_link(href).unwrap();
        assert_eq!(
            site,
            SiteDataset {
                site_framework: "intel-vpro",
                attack_version: "15.1",
                domain: "enterprise",
                site_version: "08.20.2024",
            }
        );
        assert_eq!(site.key().to_string(), "intel-vpro-08.20.2024_attack-15.1-enterprise");
    }

    #[test]
    fn other_links_name_no_dataset() {
        assert_eq!(dataset_of_external_link("https://example.org/external/"), None);
        assert_eq!(
            dataset_of_external_link("https://host/attack/attack-16.1/domain-enterprise/techniques/T1562/"),
            None
        );
    }
}
