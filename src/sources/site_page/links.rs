//! Reads the dataset a page row belongs to from its capability link (`…/external/nist/attack-16.1/domain-enterprise/nist-rev5/SC-08/`).

use crate::model::DatasetKey;
use crate::transforms::normalize;

/// The dataset named by a link into a framework's part of the site, if the link is one.
pub fn dataset_of_external_link(href: &str) -> Option<DatasetKey> {
    let (_, rest) = href.trim().split_once("/external/")?;
    let mut segments = rest.split('/');
    let site_framework = segments.next()?;
    let attack_version = segments.next()?.strip_prefix("attack-")?;
    let domain = segments.next()?.strip_prefix("domain-")?;
    let framework_version = segments.next()?.strip_prefix(site_framework)?.strip_prefix('-')?;
    if site_framework.is_empty() || attack_version.is_empty() || framework_version.is_empty() {
        return None;
    }
    Some(DatasetKey {
        framework: crate::frameworks::id_from_site_id(site_framework),
        framework_version: normalize::framework_version(framework_version),
        attack_version: attack_version.to_string(),
        domain: normalize::domain(domain),
    })
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
    fn other_links_name_no_dataset() {
        assert_eq!(dataset_of_external_link("https://example.org/external/"), None);
        assert_eq!(
            dataset_of_external_link("https://host/attack/attack-16.1/domain-enterprise/techniques/T1562/"),
            None
        );
    }
}
